// EnqueueRouted: the last step of every publish, direct or delayed: a routed message is
// stored once for the durable queues it reached and appended to each of its queues.

#pragma once

#include <vector>

#include "server/message.h"
#include "server/queue.h"
#include "server/store.h"

namespace warren::server {

// Writes `message`'s body to `store` once if it is persistent and reaches queues that store
// messages (as many references as there are such queues), then appends it to every queue in
// `queues`, which deliver it to their consumers. Returns whether the body was written, so
// that a publisher confirm waits for the store. `store` may be nullptr when no queue stores
// messages (a broker without a store).
bool EnqueueRouted(Store* store, const MessageRef& message, const std::vector<Queue*>& queues);

}  // namespace warren::server
