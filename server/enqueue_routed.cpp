// EnqueueRouted: store once, enqueue everywhere.

#include "server/enqueue_routed.h"

namespace warren::server {

EnqueueOutcome EnqueueRouted(Store* store, const MessageRef& message,
                             const std::vector<Queue*>& queues) {
  EnqueueOutcome outcome;
  const size_t size = message->body().size();
  const std::vector<Queue*>* accepting = &queues;
  std::vector<Queue*> filtered;  // only when some queue refuses (rare)
  for (const Queue* queue : queues) outcome.rejected |= queue->WouldRejectPublish(size);
  if (outcome.rejected) {
    for (Queue* queue : queues) {
      if (queue->WouldRejectPublish(size)) {
        queue->Enqueue(message);  // refused: dead-letters it with reject-publish-dlx
      } else {
        filtered.push_back(queue);
      }
    }
    accepting = &filtered;
  }
  // A persistent message's body is stored once, for every durable queue it reaches; the
  // queues add their index entries as they enqueue it.
  if (message->persistent()) {
    uint32_t durable = 0;
    for (const Queue* queue : *accepting) durable += queue->stores_messages() ? 1 : 0;
    if (durable != 0) {
      message->set_store_id(store->AddBody(*message, durable), durable > 1);
      outcome.stored = true;
    }
  }
  for (Queue* queue : *accepting) queue->Enqueue(message);
  return outcome;
}

}  // namespace warren::server
