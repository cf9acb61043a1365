// RocksStore: the broker's Store on RocksDB (see server/store.h for the contract and
// storage/keys.h for the layout).
//
// Writes are appended on the broker loop to a pending WriteBatch. At the end of the loop
// turn the batch is handed to the store's writer thread, which writes it with a synced WAL
// and posts the completion back to the loop. While a write is in flight the next batch
// keeps gathering, so under load each sync carries everything that arrived during the
// previous one (group commit) and the loop never waits for the disk.
//
// Reads for paging (Load) go through the same thread, behind the writes submitted before
// them, so they see those writes.

#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/store.h"

namespace warren::storage {

struct RocksStoreOptions {
  std::string dir;  // created if missing
  // Sync the WAL before a batch counts as written. false is unsafe: a power loss can lose
  // confirmed messages (RabbitMQ's classic queues' guarantee).
  bool fsync = true;
  size_t queue_memory_budget = 16 << 20;
};

class RocksStore : public server::Store {
 public:
  // Opens (or creates) the database in options.dir and empties the paged family. Completions
  // are posted to `loop`, which must outlive the store. On failure *out is untouched.
  static amqp::Status Open(boost::asio::io_context& loop, RocksStoreOptions options,
                           std::unique_ptr<RocksStore>* out);
  // Writes what is pending and waits for the writer thread to finish.
  ~RocksStore() override;

  amqp::Status Recover(server::RecoveredState* state) override;
  void SetSyncCallback(std::function<void(uint64_t, const amqp::Status&)> cb) override {
    sync_callback_ = std::move(cb);
  }
  uint64_t last_write_batch() const override { return last_write_batch_; }
  uint64_t synced_batch() const override { return synced_; }

  void PutVhost(std::string_view name) override;
  void PutUser(const server::StoredUser& user) override;
  void PutPermission(const server::StoredPermission& permission) override;
  void PutExchange(const server::StoredExchange& exchange) override;
  void DeleteExchange(std::string_view vhost, std::string_view name) override;
  void PutQueue(const server::StoredQueue& queue) override;
  void DeleteQueue(std::string_view vhost, std::string_view name) override;
  void PutBinding(const server::StoredBinding& binding) override;
  void DeleteBinding(const server::StoredBinding& binding) override;
  void PutPolicy(const server::Policy& policy) override;
  void DeletePolicy(std::string_view vhost, std::string_view name) override;

  uint64_t NewQueueId() override { return next_queue_id_++; }
  uint64_t AddBody(const server::Message& message, uint32_t queue_refs) override;
  void AddEntry(uint64_t queue_id, const server::StoredEntry& entry) override;
  void UpdateEntry(uint64_t queue_id, const server::StoredEntry& entry) override;
  void RemoveEntry(uint64_t queue_id, const server::StoredEntry& entry) override;
  void DropBody(const server::StoredEntry& entry) override;
  void RemoveQueueEntries(uint64_t queue_id) override;
  void PageOut(uint64_t queue_id, uint64_t seq, const server::Message& message) override;
  void RemovePaged(uint64_t queue_id, uint64_t seq) override;
  void PutDelayed(std::string_view vhost, std::string_view exchange, int64_t due, uint64_t seq,
                  const server::Message& message) override;
  void RemoveDelayed(std::string_view vhost, std::string_view exchange, int64_t due,
                     uint64_t seq) override;
  void RemoveDelayedExchange(std::string_view vhost, std::string_view exchange) override;

  void Load(uint64_t queue_id, std::vector<server::LoadRequest> requests,
            std::function<void(std::vector<server::MessageRef>)> done) override;
  std::vector<server::MessageRef> LoadNow(
      uint64_t queue_id, const std::vector<server::LoadRequest>& requests) override;

  size_t queue_memory_budget() const override { return options_.queue_memory_budget; }

  // Hands the pending batch to the writer now (normally done at the end of the loop turn).
  void Flush();
  // Submits the pending batch and blocks until the writer has done everything (tests).
  void WaitIdle();

 private:
  // Work for the writer thread: a batch to write, or messages to read.
  struct Task {
    uint64_t batch = 0;  // write: its batch number
    rocksdb::WriteBatch durable;
    rocksdb::WriteBatch paged;  // written without the WAL
    uint64_t queue_id = 0;      // load
    std::vector<server::LoadRequest> requests;
    std::function<void(std::vector<std::string>, std::vector<bool>)> loaded;
  };

  RocksStore(boost::asio::io_context& loop, RocksStoreOptions options);
  amqp::Status OpenDb();
  // Reads the delayed family into state->delayed.
  amqp::Status RecoverDelayed(server::RecoveredState* state);
  void PutMeta(const std::string& key, const std::string& json);
  void DeleteMeta(const std::string& key);
  // Schedules a commit at the end of the current loop turn.
  void Touch();
  void CommitIfIdle();
  void Submit();
  void Enqueue(Task task);
  void WriterMain();
  void Write(Task& task);
  void Read(Task& task, std::vector<std::string>* records, std::vector<bool>* found);
  void OnWritten(uint64_t batch, const amqp::Status& status);
  // Blocks until the writer has done everything submitted.
  void WaitForWriter();
  // The message a request names if the pending batch holds it, else an empty ref.
  server::MessageRef FromPending(uint64_t queue_id, const server::LoadRequest& request) const;
  // A Load whose messages are partly answered from the pending batch (on the loop) and
  // partly read by the writer; completed by FinishLoad on the loop.
  struct PartialLoad {
    std::vector<server::MessageRef> messages;
    std::vector<size_t> from_disk;  // which of messages the writer reads, in order
    std::function<void(std::vector<server::MessageRef>)> done;
  };
  void FinishLoad(uint64_t id, std::vector<server::MessageRef> from_disk);
  std::vector<server::MessageRef> Decode(const std::vector<std::string>& records,
                                         const std::vector<bool>& found, uint64_t queue_id,
                                         const std::vector<server::LoadRequest>& requests);

  boost::asio::io_context& loop_;
  RocksStoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* index_ = nullptr;
  rocksdb::ColumnFamilyHandle* bodies_ = nullptr;
  rocksdb::ColumnFamilyHandle* paged_ = nullptr;
  rocksdb::ColumnFamilyHandle* delayed_ = nullptr;

  // Loop side: the pending batch. Message writes are kept as operations until the batch is
  // submitted, so that one undone within the same batch (a message acknowledged before it
  // was written, as with a consumer that keeps up) costs the disk nothing, as in RabbitMQ's
  // message store.
  struct PendingKey {
    uint64_t queue_id;
    uint64_t seq;
    bool operator==(const PendingKey&) const = default;
  };
  struct PendingKeyHash {
    size_t operator()(const PendingKey& k) const {
      return k.queue_id * 0x9E3779B97F4A7C15ull ^ k.seq;
    }
  };
  struct BodyOp {
    uint64_t id;
    server::MessageRef message;  // null once no queue needs it any more
  };
  struct EntryOp {
    uint64_t queue_id;
    server::StoredEntry entry;
    bool put;    // false: delete
    bool fresh;  // added in this batch, not on disk
    bool live;   // false: added and removed in this batch
  };
  struct PagedOp {
    uint64_t queue_id;
    uint64_t seq;
    server::MessageRef message;  // null: delete (or, if paged out in this batch, nothing)
  };
  void PutRecord(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* family,
                 const std::string& key, const server::Message& message);
  // Turns the pending operations into the task's write batches, and clears them.
  void Materialize(Task* task);

  rocksdb::WriteBatch meta_batch_;
  std::vector<BodyOp> body_ops_;
  std::unordered_map<uint64_t, size_t> body_at_;
  std::vector<EntryOp> entry_ops_;
  std::unordered_map<PendingKey, size_t, PendingKeyHash> entry_at_;
  std::vector<uint64_t> body_deletes_;
  std::vector<uint64_t> range_deletes_;  // queues whose whole index goes
  std::vector<PagedOp> paged_ops_;
  std::unordered_map<PendingKey, size_t, PendingKeyHash> paged_at_;
  bool dirty_ = false;  // something was asked of the pending batch
  bool commit_scheduled_ = false;
  uint64_t submitted_ = 0;         // last batch handed to the writer
  uint64_t last_write_batch_ = 0;  // the batch the latest write went into
  uint64_t next_load_id_ = 1;
  std::unordered_map<uint64_t, PartialLoad> partial_loads_;
  uint64_t synced_ = 0;  // last batch written
  uint64_t next_queue_id_ = 1;
  uint64_t next_body_id_ = 1;
  uint64_t saved_body_id_ = 1;  // the counters as last written
  uint64_t saved_queue_id_ = 1;
  // References left on bodies shared by several queues (single-queue bodies have none).
  std::unordered_map<uint64_t, uint32_t> shared_refs_;
  std::function<void(uint64_t, const amqp::Status&)> sync_callback_;
  std::string scratch_;  // record headers, reused

  // Writer side.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Task> tasks_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace warren::storage
