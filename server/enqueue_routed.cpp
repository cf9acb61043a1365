// EnqueueRouted: store once, enqueue everywhere.

#include "server/enqueue_routed.h"

namespace warren::server {

bool EnqueueRouted(Store* store, const MessageRef& message, const std::vector<Queue*>& queues) {
  // A persistent message's body is stored once, for every durable queue it reaches; the
  // queues add their index entries as they enqueue it.
  bool stored = false;
  if (message->persistent()) {
    uint32_t durable = 0;
    for (const Queue* queue : queues) durable += queue->stores_messages() ? 1 : 0;
    if (durable != 0) {
      message->set_store_id(store->AddBody(*message, durable), durable > 1);
      stored = true;
    }
  }
  for (Queue* queue : queues) queue->Enqueue(message);
  return stored;
}

}  // namespace warren::server
