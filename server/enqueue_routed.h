// EnqueueRouted: the last step of every publish, direct or delayed: a routed message is
// stored once for the durable queues it reached and appended to each of its queues.

#pragma once

#include <vector>

#include "server/message.h"
#include "server/queue.h"
#include "server/store.h"

namespace warren::server {

struct EnqueueOutcome {
  bool stored = false;    // the body was written: a publisher confirm waits for the store
  bool rejected = false;  // some queue refused the message: the publisher gets a nack
};

// Writes `message`'s body to `store` once if it is persistent and reaches queues that store
// messages (as many references as there are such queues), then appends it to every queue in
// `queues`, which deliver it to their consumers. Queues at a length limit with x-overflow
// reject-publish or reject-publish-dlx refuse it (dead-lettering it if so set) and are not
// counted for the store. `store` may be nullptr when no queue stores messages (a broker
// without a store).
EnqueueOutcome EnqueueRouted(Store* store, const MessageRef& message,
                             const std::vector<Queue*>& queues);

}  // namespace warren::server
