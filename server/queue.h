// Queue: a named FIFO of messages and the consumers it pushes them to.
//
// Ready messages are ordered by the sequence number they got on arrival. A message that
// is delivered and then requeued (reject, nack, recover, or its channel closing) goes
// back to its original position and is marked redelivered, as RabbitMQ does. Messages
// delivered and not yet acknowledged are held by the channel they went to, not here.

#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "amqp/table.h"
#include "server/message.h"

namespace warren::server {

class Connection;
class VirtualHost;
struct Consumer;

struct QueuedMessage {
  MessageRef message;
  uint64_t seq = 0;  // position in the queue's arrival order
  bool redelivered = false;
};

// Where a consumer's messages go: the channel it was created on (an interface so that
// queue logic can be tested without connections).
class DeliverySink {
 public:
  virtual ~DeliverySink() = default;
  // May `consumer` receive another message now (prefetch, flow, output buffer)?
  virtual bool CanDeliver(const Consumer& consumer) const = 0;
  // Sends `message` to `consumer`.
  virtual void Deliver(Consumer* consumer, QueuedMessage message) = 0;
};

struct Consumer {
  DeliverySink* channel = nullptr;
  class Queue* queue = nullptr;
  std::string tag;
  bool no_ack = false;
  bool exclusive = false;
  uint16_t prefetch_count = 0;  // 0: unlimited
  uint32_t unacked = 0;         // deliveries not yet acknowledged
  amqp::FieldTable arguments;
};

struct QueueOptions {
  bool durable = false;
  bool exclusive = false;
  bool auto_delete = false;
  Connection* owner = nullptr;  // set for exclusive queues
  amqp::FieldTable arguments;
};

class Queue {
 public:
  Queue(VirtualHost* vhost, std::string name, QueueOptions options);
  ~Queue();
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  const std::string& name() const { return name_; }
  VirtualHost* vhost() const { return vhost_; }
  const QueueOptions& options() const { return options_; }
  size_t message_count() const { return ready_.size(); }
  size_t consumer_count() const { return consumers_.size(); }
  const std::vector<Consumer*>& consumers() const { return consumers_; }
  // True once a consumer has subscribed: an auto-delete queue is deleted when its last
  // consumer goes, but not before it has had one.
  bool has_had_consumers() const { return has_had_consumers_; }

  // Appends a newly routed message and pushes ready messages to consumers.
  void Enqueue(MessageRef message);
  // Puts a delivered message back at its original position, marked redelivered. Call
  // Dispatch() after requeueing a batch.
  void Requeue(QueuedMessage message);
  // Takes the head message (basic.get); nullopt if there is none.
  std::optional<QueuedMessage> Take();
  // Drops every ready message; returns how many there were.
  size_t Purge();

  // `consumer` must stay live until RemoveConsumer.
  void AddConsumer(Consumer* consumer);
  void RemoveConsumer(Consumer* consumer);

  // Delivers ready messages to consumers that have credit, round-robin.
  void Dispatch();

  // Flow control: true while the queue has consumers and more ready messages than they
  // keep up with (kFlowHighMessages or kFlowHighBytes). Publishers to it should then pause
  // (Connection::PausePublishing) and register here; they are resumed once the queue is
  // down to half of both limits, has no consumers left, or is deleted.
  bool over_flow_limit() const {
    return !consumers_.empty() &&
           (ready_.size() > kFlowHighMessages || ready_bytes_ > kFlowHighBytes);
  }
  void AddPausedPublisher(std::weak_ptr<Connection> publisher);
  size_t ready_bytes() const { return ready_bytes_; }

  static constexpr size_t kFlowHighMessages = 20'000;
  static constexpr size_t kFlowHighBytes = 16 << 20;

 private:
  // Takes the head of ready_ (which must not be empty).
  QueuedMessage PopReady();
  void MaybeResumePublishers();

  VirtualHost* vhost_;
  std::string name_;
  QueueOptions options_;
  std::deque<QueuedMessage> ready_;
  size_t ready_bytes_ = 0;  // body bytes of the ready messages
  std::vector<std::weak_ptr<Connection>> paused_publishers_;
  uint64_t next_seq_ = 0;
  std::vector<Consumer*> consumers_;
  size_t next_consumer_ = 0;  // round-robin position
  bool has_had_consumers_ = false;
  bool dispatching_ = false;  // guards against re-entry from a delivery
};

}  // namespace warren::server
