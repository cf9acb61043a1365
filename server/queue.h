// Queue: a named FIFO of messages and the consumers it pushes them to.
//
// Ready messages are ordered by the sequence number they got on arrival. A message that
// is delivered and then requeued (reject, nack, recover, or its channel closing) goes
// back to its original position and is marked redelivered, as RabbitMQ does. Messages
// delivered and not yet acknowledged are held by the channel they went to, not here.
//
// With a store, a durable queue writes an index entry for every persistent message it
// receives (the body is written once by the publishing channel), marks it delivered when it
// first goes out for acknowledgement, and removes it when it is settled. Every queue keeps
// at most Store::queue_memory_budget() bytes of ready messages (bodies plus ~64 B each) in
// memory: beyond that, new messages are paged out (persistent ones are on disk already;
// others are written to the store's paged area) and read back in order, ahead of the
// consumers, as the queue drains.

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
#include "server/queue_type.h"
#include "server/store.h"

namespace warren::server {

class Connection;
class VirtualHost;
struct Consumer;

struct QueuedMessage {
  MessageRef message;    // null while paged out
  uint64_t seq = 0;      // position in the queue's arrival order
  uint64_t body_id = 0;  // stored: the body's key in the store
  uint32_t size = 0;     // body bytes
  // Flags as bits, so that a queued message is 32 bytes.
  bool redelivered : 1 = false;
  bool stored : 1 = false;            // has an entry in the store's index
  bool shared : 1 = false;            // stored, and the body is shared with other queues
  bool paged : 1 = false;             // a copy is in the store's paged area
  bool delivered_stored : 1 = false;  // stored, and its entry says it was delivered
};
static_assert(sizeof(QueuedMessage) == 32);

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
  QueueType type = QueueType::kClassic;  // from arguments' x-queue-type (VirtualHost::AddQueue)
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
  // Whether persistent messages routed here are written to the store (durable, not
  // exclusive, and the broker has a store).
  bool stores_messages() const { return stores_messages_; }
  uint64_t store_id() const { return store_id_; }
  size_t message_count() const { return ready_.size(); }
  size_t consumer_count() const { return consumers_.size(); }
  const std::vector<Consumer*>& consumers() const { return consumers_; }
  // True once a consumer has subscribed: an auto-delete queue is deleted when its last
  // consumer goes, but not before it has had one.
  bool has_had_consumers() const { return has_had_consumers_; }

  // Gives the queue a store and its id there (see the class comment). `durable`: the queue
  // is stored, so it writes persistent messages.
  void AttachStore(Store* store, uint64_t id, bool durable);
  // Rebuilds the ready messages from the store's entries (at start-up); their bodies stay
  // on disk until needed. `all_redelivered`: mark every message redelivered (after a crash,
  // any of them may have been delivered).
  void Restore(const std::vector<StoredEntry>& entries, bool all_redelivered = false);

  // Appends a newly routed message and pushes ready messages to consumers. A persistent
  // message must have its body stored already (Message::store_id) if stores_messages().
  void Enqueue(MessageRef message);
  // A message taken from this queue went out and awaits acknowledgement: the store learns
  // it was delivered (so that it comes back redelivered after a crash).
  void OnDelivered(QueuedMessage* message);
  // A message taken from this queue is done with (acknowledged, rejected, delivered
  // without acknowledgement, or its queue deleted): the store forgets it.
  void OnSettled(const QueuedMessage& message);
  // The queue is being deleted: forgets its ready messages and its record in the store.
  void Delete();
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
  // Takes the head of ready_ (which must not be empty, and must be in memory).
  QueuedMessage PopReady();
  void MaybeResumePublishers();
  StoredEntry EntryOf(const QueuedMessage& message) const;
  std::string vhost_name() const;
  // Drops a message's copies in the store.
  void Forget(const QueuedMessage& message);
  // Paging: which paged-out messages to read next (from the head, up to half the budget).
  std::vector<LoadRequest> NextLoad() const;
  // Reads the next paged-out messages in the background, if none are being read.
  void RequestLoad();
  // Reads the head's window at once (basic.get).
  void LoadNow();
  // Puts read messages in place; their entries may have gone meanwhile.
  void OnLoaded(const std::vector<LoadRequest>& requests, std::vector<MessageRef> messages);

  VirtualHost* vhost_;
  std::string name_;
  QueueOptions options_;
  std::deque<QueuedMessage> ready_;
  size_t ready_bytes_ = 0;  // body bytes of the ready messages
  Store* store_ = nullptr;
  uint64_t store_id_ = 0;
  bool stores_messages_ = false;
  size_t loaded_bytes_ = 0;  // MemoryCost of the ready messages in memory
  size_t unloaded_ = 0;      // ready messages paged out
  bool loading_ = false;     // a background read is under way
  // Lets a read that completes after the queue was deleted see that it is gone.
  std::shared_ptr<Queue*> alive_ = std::make_shared<Queue*>(this);
  std::vector<std::weak_ptr<Connection>> paused_publishers_;
  uint64_t next_seq_ = 0;
  std::vector<Consumer*> consumers_;
  size_t next_consumer_ = 0;  // round-robin position
  bool has_had_consumers_ = false;
  bool dispatching_ = false;  // guards against re-entry from a delivery
};

}  // namespace warren::server
