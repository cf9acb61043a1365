// Queue: arrival order, requeue to original position, round-robin push to consumers.

#include "server/queue.h"

#include <algorithm>
#include <utility>

namespace warren::server {

Queue::Queue(VirtualHost* vhost, std::string name, QueueOptions options)
    : vhost_(vhost), name_(std::move(name)), options_(std::move(options)) {}

void Queue::Enqueue(MessageRef message) {
  ready_.push_back(QueuedMessage{std::move(message), next_seq_++, false});
  Dispatch();
}

void Queue::Requeue(QueuedMessage message) {
  message.redelivered = true;
  // Requeued messages are usually older than everything ready, so search from the front.
  auto at =
      std::upper_bound(ready_.begin(), ready_.end(), message.seq,
                       [](uint64_t seq, const QueuedMessage& queued) { return seq < queued.seq; });
  ready_.insert(at, std::move(message));
}

std::optional<QueuedMessage> Queue::Take() {
  if (ready_.empty()) return std::nullopt;
  QueuedMessage head = std::move(ready_.front());
  ready_.pop_front();
  return head;
}

size_t Queue::Purge() {
  const size_t n = ready_.size();
  ready_.clear();
  return n;
}

void Queue::AddConsumer(Consumer* consumer) {
  consumers_.push_back(consumer);
  has_had_consumers_ = true;
  Dispatch();
}

void Queue::RemoveConsumer(Consumer* consumer) {
  auto it = std::find(consumers_.begin(), consumers_.end(), consumer);
  if (it == consumers_.end()) return;
  const size_t index = static_cast<size_t>(it - consumers_.begin());
  consumers_.erase(it);
  if (index < next_consumer_) --next_consumer_;
  if (next_consumer_ >= consumers_.size()) next_consumer_ = 0;
}

void Queue::Dispatch() {
  if (dispatching_) return;
  dispatching_ = true;
  // Each pass offers one message to each consumer in turn; stop after a pass in which
  // nobody could take one.
  size_t refused = 0;
  while (!ready_.empty() && !consumers_.empty() && refused < consumers_.size()) {
    if (next_consumer_ >= consumers_.size()) next_consumer_ = 0;
    Consumer* consumer = consumers_[next_consumer_++];
    if (!consumer->channel->CanDeliver(*consumer)) {
      ++refused;
      continue;
    }
    refused = 0;
    QueuedMessage head = std::move(ready_.front());
    ready_.pop_front();
    consumer->channel->Deliver(consumer, std::move(head));
  }
  dispatching_ = false;
}

}  // namespace warren::server
