// Queue: a named FIFO of messages and the consumers it pushes them to.
//
// Ready messages are ordered by the sequence number they got on arrival (per priority level
// in a priority queue). A message that is delivered and then requeued (reject, nack,
// recover, or its channel closing) goes back to its original position and is marked
// redelivered, as RabbitMQ does. Messages delivered and not yet acknowledged are held by
// the channel they went to, not here.
//
// The queue's settings (QueueSettings, from its x- arguments) add RabbitMQ's features:
// message TTL (expiry at the head of each priority level, with one timer per queue), queue
// expiry when unused, length limits with their overflow behaviour, priorities, a delivery
// limit, and dead-lettering of messages that are rejected, expire, overflow or reach the
// delivery limit (through the virtual host, VirtualHost::DeadLetter).
//
// With a store, a durable queue writes an index entry for every persistent message it
// receives (the body is written once by the publishing channel), marks it delivered when it
// first goes out for acknowledgement, and removes it when it is settled. Every queue keeps
// at most Store::queue_memory_budget() bytes of ready messages (bodies plus ~64 B each) in
// memory: beyond that, new messages are paged out (persistent ones are on disk already;
// others are written to the store's paged area) and read back in order, ahead of the
// consumers, as the queue drains.

#pragma once

#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "amqp/table.h"
#include "server/clock.h"
#include "server/consumer_list.h"
#include "server/dead_letter.h"
#include "server/message.h"
#include "server/policy.h"
#include "server/queue_settings.h"
#include "server/queue_type.h"
#include "server/queued_message.h"
#include "server/ready_list.h"
#include "server/store.h"

namespace warren::server {

class Connection;
class VirtualHost;
struct Consumer;

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
  int64_t priority = 0;         // basic.consume's x-priority
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
  const QueueSettings& settings() const { return settings_; }
  // Applies `policy` (nullptr: none) over the queue's own arguments (see WithPolicy). New
  // limits take effect at once; a new TTL applies to messages that arrive from now on.
  void ApplyPolicy(const Policy* policy);
  // The name of the policy that applies, empty if none.
  const std::string& policy_name() const { return policy_name_; }
  // Whether deliveries are counted for the x-delivery-count header (a delivery limit or a
  // quorum queue).
  bool counts_deliveries() const;
  // Whether persistent messages routed here are written to the store (durable, not
  // exclusive, and the broker has a store).
  bool stores_messages() const { return stores_messages_; }
  uint64_t store_id() const { return store_id_; }
  size_t message_count() const { return ready_.size(); }
  size_t consumer_count() const { return consumers_.size(); }
  // In registration order.
  const std::vector<Consumer*>& consumers() const { return consumers_.all(); }
  // x-single-active-consumer: only the earliest registered consumer receives messages.
  bool single_active_consumer() const { return consumers_.single_active(); }
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

  // Gives the queue an event loop for its timers (message TTL, queue expiry). A queue of a
  // virtual host uses its broker's loop; without one, messages expire only when the queue
  // is next used.
  void AttachLoop(boost::asio::io_context* io);

  // Whether the queue would refuse a new message of `size` body bytes (x-overflow
  // reject-publish or reject-publish-dlx, and a length limit reached).
  bool WouldRejectPublish(size_t size) const;
  enum class EnqueueResult { kEnqueued, kRejected };
  // Appends a newly routed message and pushes ready messages to consumers, unless the
  // queue's overflow setting rejects it (kRejected; with reject-publish-dlx it is
  // dead-lettered). A persistent message must have its body stored already
  // (Message::store_id) if stores_messages().
  EnqueueResult Enqueue(MessageRef message);
  // A message taken from this queue went out and awaits acknowledgement: the store learns
  // it was delivered (so that it comes back redelivered after a crash).
  void OnDelivered(QueuedMessage* message);
  // A message taken from this queue is done with (acknowledged, delivered without
  // acknowledgement, or its queue deleted): the store forgets it.
  void OnSettled(const QueuedMessage& message);
  // A message taken from this queue was rejected without requeueing (basic.reject or
  // basic.nack): it is dead-lettered if the queue has a dead-letter exchange, and settled.
  void Reject(QueuedMessage message);
  // The queue was used (declared, consumed from, read with basic.get): its x-expires
  // countdown starts again.
  void Touch();
  // The queue is being deleted: forgets its ready messages and its record in the store.
  void Delete();
  // Puts a delivered message back at its original position, marked redelivered, and counts
  // the delivery; a message past the delivery limit is dead-lettered instead. Call
  // Dispatch() after requeueing a batch.
  void Requeue(QueuedMessage message);
  // Takes the head message (basic.get); nullopt if there is none.
  std::optional<QueuedMessage> Take();
  // Drops every ready message; returns how many there were.
  size_t Purge();
  // Removes the ready messages whose TTL has passed (dead-lettering them), and sets the
  // timer for the next one to expire. `now`: ms since the epoch.
  void ExpireMessages(int64_t now);

  // `consumer` must stay live until RemoveConsumer.
  void AddConsumer(Consumer* consumer);
  void RemoveConsumer(Consumer* consumer);

  // Delivers ready messages to consumers that have credit, in the order ConsumerList
  // chooses (priorities, round-robin, single active consumer).
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
  // Accounts for a message leaving ready_.
  void Unaccount(const QueuedMessage& message);
  // Dead-letters a message that left this queue for `reason` (if the queue has a
  // dead-letter exchange), then forgets it.
  void DeadLetter(QueuedMessage message, DeathReason reason);
  // Drops ready messages from the head while the queue is over its length limits.
  void DropHeadsOverLimit();
  bool OverLimit() const;
  // Starts or moves the TTL timer to the earliest expiry among the level heads.
  void ArmTtlTimer();
  void OnTtlTimer();
  // Starts the x-expires countdown again from now.
  void ArmExpiryTimer();
  void OnExpiryTimer();
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
  QueueSettings settings_;
  std::string policy_name_;
  ReadyList ready_;
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
  ConsumerList consumers_;
  bool has_had_consumers_ = false;
  bool dispatching_ = false;  // guards against re-entry from a delivery

  boost::asio::io_context* io_ = nullptr;
  std::unique_ptr<boost::asio::steady_timer> ttl_timer_;
  int64_t ttl_deadline_ = 0;  // expires_at the TTL timer waits for; 0: not waiting
  std::unique_ptr<boost::asio::steady_timer> expiry_timer_;
  int64_t last_used_ = 0;  // ms since the epoch (x-expires)
};

}  // namespace warren::server
