// Queue: arrival order, requeue to original position, round-robin push to consumers.

#include "server/queue.h"

#include <algorithm>
#include <utility>

#include "server/connection.h"

namespace warren::server {

Queue::Queue(VirtualHost* vhost, std::string name, QueueOptions options)
    : vhost_(vhost), name_(std::move(name)), options_(std::move(options)) {}

Queue::~Queue() {
  for (auto& weak : paused_publishers_) {
    if (auto publisher = weak.lock()) publisher->ResumePublishing();
  }
}

void Queue::Enqueue(MessageRef message) {
  ready_bytes_ += message->body().size();
  ready_.push_back(QueuedMessage{std::move(message), next_seq_++, false});
  Dispatch();
}

void Queue::Requeue(QueuedMessage message) {
  message.redelivered = true;
  ready_bytes_ += message.message->body().size();
  // Requeued messages are usually older than everything ready, so search from the front.
  auto at =
      std::upper_bound(ready_.begin(), ready_.end(), message.seq,
                       [](uint64_t seq, const QueuedMessage& queued) { return seq < queued.seq; });
  ready_.insert(at, std::move(message));
}

std::optional<QueuedMessage> Queue::Take() {
  if (ready_.empty()) return std::nullopt;
  QueuedMessage head = PopReady();
  MaybeResumePublishers();
  return head;
}

QueuedMessage Queue::PopReady() {
  QueuedMessage head = std::move(ready_.front());
  ready_.pop_front();
  ready_bytes_ -= head.message->body().size();
  return head;
}

size_t Queue::Purge() {
  const size_t n = ready_.size();
  ready_.clear();
  ready_bytes_ = 0;
  MaybeResumePublishers();
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
  MaybeResumePublishers();
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
    consumer->channel->Deliver(consumer, PopReady());
  }
  dispatching_ = false;
  MaybeResumePublishers();
}

void Queue::AddPausedPublisher(std::weak_ptr<Connection> publisher) {
  paused_publishers_.push_back(std::move(publisher));
}

void Queue::MaybeResumePublishers() {
  if (paused_publishers_.empty()) return;
  if (!consumers_.empty() &&
      (ready_.size() > kFlowHighMessages / 2 || ready_bytes_ > kFlowHighBytes / 2)) {
    return;
  }
  std::vector<std::weak_ptr<Connection>> publishers = std::move(paused_publishers_);
  paused_publishers_.clear();
  for (auto& weak : publishers) {
    if (auto publisher = weak.lock()) publisher->ResumePublishing();
  }
}

}  // namespace warren::server
