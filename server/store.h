// Store: what the broker keeps on disk, as the broker sees it. The broker owns this
// interface; storage/ implements it on RocksDB (storage::RocksStore), and a broker without
// a store keeps everything in memory (the unit tests run that way).
//
// Every call is made on the broker loop's thread. Writes are gathered into the current
// batch and committed together at the end of the loop turn (group commit, on the store's
// own thread); last_write_batch() names the batch the latest write went into, and the broker learns
// through the sync callback when a batch is on disk, which is when publisher confirms for
// the persistent messages in it may be sent.
//
// What is stored:
//   - durable exchanges, durable non-exclusive queues (each with a numeric id), bindings
//     between durable entities, virtual hosts, users and permissions;
//   - message bodies of persistent messages routed to stored queues (one body per message,
//     however many queues it reached) and one index entry per (queue id, sequence);
//   - bodies of messages paged out of memory that are not otherwise stored (transient
//     messages, or persistent ones in non-durable queues), kept until they are read back
//     and forgotten at start-up;
//   - persistent messages held by durable delayed exchanges (x-delayed-message) until they
//     are due, each under (vhost, exchange, due time, sequence).

#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "amqp/status.h"
#include "amqp/table.h"
#include "server/message.h"
#include "server/policy.h"

namespace warren::server {

struct StoredExchange {
  std::string vhost;
  std::string name;
  std::string type;  // "direct", "fanout", "topic", "headers", "x-delayed-message"
  bool auto_delete = false;
  bool internal = false;
  amqp::FieldTable arguments;
};

struct StoredQueue {
  std::string vhost;
  std::string name;
  uint64_t id = 0;
  bool auto_delete = false;
  amqp::FieldTable arguments;
};

struct StoredBinding {
  std::string vhost;
  std::string source;       // exchange
  std::string destination;  // queue or exchange
  bool to_exchange = false;
  std::string routing_key;
  amqp::FieldTable arguments;
};

struct StoredUser {
  std::string name;
  // RabbitMQ's rabbit_password_hashing_sha256 form: base64(salt(4) + sha256(salt + password)).
  std::string password_hash;
  std::string tags;
};

struct StoredPermission {
  std::string vhost;
  std::string user;
  std::string configure;
  std::string write;
  std::string read;
};

// One message's place in one stored queue.
struct StoredEntry {
  uint64_t seq = 0;      // the queue's sequence number
  uint64_t body_id = 0;  // key of the message body
  uint32_t size = 0;     // body bytes (for memory and flow accounting before loading)
  bool delivered = false;
  bool shared = false;          // the body is referenced by more than one queue
  uint8_t priority = 0;         // its priority level (priority queues)
  int64_t expires_at = 0;       // ms since the epoch when it expires; 0: never
  uint16_t delivery_count = 0;  // times it came back after a delivery
};

// A message held by a delayed exchange until it is due.
struct StoredDelayed {
  std::string vhost;
  std::string exchange;
  int64_t due = 0;   // milliseconds since the Unix epoch
  uint64_t seq = 0;  // the exchange's sequence number: orders messages due at the same time
  MessageRef message;
};

// Everything read back at start-up.
struct RecoveredState {
  // The store was closed cleanly last time. If not, deliveries made just before the crash may
  // not have had their delivered flags written.
  bool clean_shutdown = false;
  std::vector<std::string> vhosts;
  std::vector<StoredUser> users;
  std::vector<StoredPermission> permissions;
  std::vector<StoredExchange> exchanges;
  std::vector<StoredQueue> queues;
  std::vector<StoredBinding> bindings;
  std::vector<Policy> policies;
  // Per queue id, its entries in sequence order; a queue id here that is in no StoredQueue
  // belongs to no queue (the store drops such entries).
  std::vector<std::pair<uint64_t, std::vector<StoredEntry>>> entries;
  // Messages of delayed exchanges, by exchange and then in (due, seq) order, bodies
  // included. An exchange named here may no longer exist (the broker drops its messages).
  std::vector<StoredDelayed> delayed;
};

// A message to read back into memory: a stored body, or a paged-out one.
struct LoadRequest {
  uint64_t seq = 0;
  uint64_t body_id = 0;  // for stored bodies
  bool paged = false;    // in the paged-out area under (queue id, seq) instead
};

class Store {
 public:
  virtual ~Store() = default;

  // Reads back everything stored. Called once, before any other call.
  virtual amqp::Status Recover(RecoveredState* state) = 0;

  // Called on the broker loop whenever a batch is on disk (or failed: then !status.ok()
  // and the broker must treat its writes as lost). `batch` and all before it are done.
  virtual void SetSyncCallback(std::function<void(uint64_t batch, const amqp::Status&)> cb) = 0;

  // The batch the latest write went into: whatever was written so far is on disk once
  // synced_batch() reaches it (batches complete in order). Read it after the writes, since
  // one operation's writes may span batches.
  virtual uint64_t last_write_batch() const = 0;
  // The last batch that is on disk.
  virtual uint64_t synced_batch() const = 0;

  // Entities. Puts overwrite; deletes of absent keys are harmless.
  virtual void PutVhost(std::string_view name) = 0;
  virtual void PutUser(const StoredUser& user) = 0;
  virtual void PutPermission(const StoredPermission& permission) = 0;
  virtual void PutExchange(const StoredExchange& exchange) = 0;
  virtual void DeleteExchange(std::string_view vhost, std::string_view name) = 0;
  virtual void PutQueue(const StoredQueue& queue) = 0;
  virtual void DeleteQueue(std::string_view vhost, std::string_view name) = 0;
  virtual void PutBinding(const StoredBinding& binding) = 0;
  virtual void DeleteBinding(const StoredBinding& binding) = 0;
  virtual void PutPolicy(const Policy& policy) = 0;
  virtual void DeletePolicy(std::string_view vhost, std::string_view name) = 0;

  // A fresh queue id, never used before in this store.
  virtual uint64_t NewQueueId() = 0;

  // Messages. Stores `message`'s body for `queue_refs` stored queues and returns its id;
  // each queue then adds its entry with AddEntry.
  virtual uint64_t AddBody(const Message& message, uint32_t queue_refs) = 0;
  virtual void AddEntry(uint64_t queue_id, const StoredEntry& entry) = 0;
  // Rewrites an entry (its delivered flag changed).
  virtual void UpdateEntry(uint64_t queue_id, const StoredEntry& entry) = 0;
  // Removes an entry and drops its reference on the body (DropBody).
  virtual void RemoveEntry(uint64_t queue_id, const StoredEntry& entry) = 0;
  // Drops an entry's reference on its body, deleting the body with its last reference.
  virtual void DropBody(const StoredEntry& entry) = 0;
  // Removes every index entry of a queue at once (it is being deleted); the bodies are
  // dropped one by one with DropBody.
  virtual void RemoveQueueEntries(uint64_t queue_id) = 0;

  // Paging of messages that are not stored otherwise: keeps `message` under
  // (queue_id, seq) until RemovePaged.
  virtual void PageOut(uint64_t queue_id, uint64_t seq, const Message& message) = 0;
  virtual void RemovePaged(uint64_t queue_id, uint64_t seq) = 0;

  // Delayed exchanges: keeps `message` until RemoveDelayed, under (vhost, exchange, due,
  // seq), which must be unique; RemoveDelayedExchange drops every message of an exchange
  // (it is being deleted).
  virtual void PutDelayed(std::string_view vhost, std::string_view exchange, int64_t due,
                          uint64_t seq, const Message& message) = 0;
  virtual void RemoveDelayed(std::string_view vhost, std::string_view exchange, int64_t due,
                             uint64_t seq) = 0;
  virtual void RemoveDelayedExchange(std::string_view vhost, std::string_view exchange) = 0;

  // Reads messages back, off the broker loop. `done` runs later on the broker loop with one
  // message per request, in order (an empty ref where a message could not be read, which
  // is logged). Sees every write made before the call.
  virtual void Load(uint64_t queue_id, std::vector<LoadRequest> requests,
                    std::function<void(std::vector<MessageRef>)> done) = 0;
  // The same, blocking the loop until the messages are read (basic.get of a paged-out head).
  virtual std::vector<MessageRef> LoadNow(uint64_t queue_id,
                                          const std::vector<LoadRequest>& requests) = 0;

  // Bytes of message bodies each queue may keep in memory; beyond that they stay on disk.
  virtual size_t queue_memory_budget() const = 0;
};

}  // namespace warren::server
