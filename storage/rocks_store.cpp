// RocksStore: group commit on a writer thread, recovery, paging reads.

#include "storage/rocks_store.h"

#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "storage/keys.h"

namespace warren::storage {

namespace {

using amqp::ReplyCode;
using amqp::Status;
using nlohmann::json;

constexpr const char* kMeta = "meta";
constexpr const char* kIndex = "index";
constexpr const char* kBodies = "bodies";
constexpr const char* kPaged = "paged";
constexpr const char* kDelayed = "delayed";

Status DbError(const std::string& what, const rocksdb::Status& s) {
  return Status::Error(ReplyCode::kInternalError, what + ": " + s.ToString());
}

amqp::FieldTable TableOf(const json& j, const char* field) {
  amqp::FieldTable table;
  if (j.contains(field) && !TableFromHex(j[field].get<std::string>(), &table)) {
    spdlog::warn("storage: malformed {} table, ignored", field);
  }
  return table;
}

}  // namespace

RocksStore::RocksStore(boost::asio::io_context& loop, RocksStoreOptions options)
    : loop_(loop), options_(std::move(options)) {}

Status RocksStore::Open(boost::asio::io_context& loop, RocksStoreOptions options,
                        std::unique_ptr<RocksStore>* out) {
  std::unique_ptr<RocksStore> store(new RocksStore(loop, std::move(options)));
  Status s = store->OpenDb();
  if (!s.ok()) return s;
  store->writer_ = std::thread([raw = store.get()] { raw->WriterMain(); });
  *out = std::move(store);
  return Status::Ok();
}

Status RocksStore::OpenDb() {
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec)
    return Status::Error(ReplyCode::kInternalError,
                         "cannot create " + options_.dir + ": " + ec.message());
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.max_background_jobs = 2;
  options.keep_log_file_num = 2;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // A bounded WAL keeps recovery after a crash short: older memtables get flushed.
  options.max_total_wal_size = 256ull << 20;

  rocksdb::ColumnFamilyOptions meta_options;
  // Messages are deleted as fast as they are written: files that are mostly tombstones are
  // compacted soon, so that reads and the start-up scan do not wade through them.
  const auto tombstones = std::shared_ptr<rocksdb::TablePropertiesCollectorFactory>(
      rocksdb::NewCompactOnDeletionCollectorFactory(/*sliding_window_size=*/1024,
                                                    /*deletion_trigger=*/512,
                                                    /*deletion_ratio=*/0.5));
  rocksdb::ColumnFamilyOptions index_options;
  index_options.write_buffer_size = 32ull << 20;
  index_options.table_properties_collector_factories = {tombstones};
  rocksdb::ColumnFamilyOptions bodies_options;
  bodies_options.write_buffer_size = 64ull << 20;
  bodies_options.table_properties_collector_factories = {tombstones};
  bodies_options.compression = rocksdb::kNoCompression;
  rocksdb::ColumnFamilyOptions paged_options = bodies_options;

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, meta_options},
      {kMeta, meta_options},
      {kIndex, index_options},
      {kBodies, bodies_options},
      {kDelayed, bodies_options},
      {kPaged, paged_options},  // last: it is dropped and created again below
  };
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, options_.dir, families, &handles_, &db);
  if (!s.ok()) return DbError("cannot open the database in " + options_.dir, s);
  db_.reset(db);
  meta_ = handles_[1];
  index_ = handles_[2];
  bodies_ = handles_[3];
  delayed_ = handles_[4];
  paged_ = handles_[5];
  // Paged-out messages belong to the broker that wrote them; they are gone with it.
  s = db_->DropColumnFamily(paged_);
  if (s.ok()) s = db_->DestroyColumnFamilyHandle(paged_);
  handles_.pop_back();  // destroyed
  if (s.ok()) s = db_->CreateColumnFamily(paged_options, kPaged, &paged_);
  if (!s.ok()) return DbError("cannot empty the paged column family", s);
  handles_.push_back(paged_);
  return Status::Ok();
}

RocksStore::~RocksStore() {
  if (!db_) return;
  Submit();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
  // Every write is done: the next start may trust the delivered flags.
  rocksdb::WriteOptions synced;
  synced.sync = true;
  const rocksdb::Status marked = db_->Put(synced, meta_, CounterKey("clean"), "{}");
  if (!marked.ok()) spdlog::warn("storage: cannot mark the clean stop: {}", marked.ToString());
  // A clean stop leaves no write-ahead log to replay at the next start.
  const rocksdb::Status flushed = db_->Flush(rocksdb::FlushOptions(), handles_);
  if (!flushed.ok()) spdlog::warn("storage: flush at shutdown failed: {}", flushed.ToString());
  for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  db_->Close();
}

// ---------------------------------------------------------------------------------------
// Recovery

Status RocksStore::Recover(server::RecoveredState* state) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    const json j = json::parse(std::string_view(it->value().data(), it->value().size()), nullptr,
                               /*allow_exceptions=*/false);
    if (key.empty() || j.is_discarded()) {
      spdlog::warn("storage: unreadable metadata record skipped");
      continue;
    }
    size_t pos = 1;
    const std::string_view first(ReadKeyPart(key, &pos));
    switch (key[0]) {
      case 'v':
        state->vhosts.emplace_back(first);
        break;
      case 'u':
        state->users.push_back(server::StoredUser{std::string(first),
                                                  j.value("password_hash", std::string()),
                                                  j.value("tags", std::string())});
        break;
      case 'p':
        state->permissions.push_back(server::StoredPermission{
            std::string(first), std::string(ReadKeyPart(key, &pos)),
            j.value("configure", std::string()), j.value("write", std::string()),
            j.value("read", std::string())});
        break;
      case 'e':
        state->exchanges.push_back(server::StoredExchange{
            std::string(first), std::string(ReadKeyPart(key, &pos)), j.value("type", "direct"),
            j.value("auto_delete", false), j.value("internal", false), TableOf(j, "arguments")});
        break;
      case 'q': {
        server::StoredQueue q{std::string(first), std::string(ReadKeyPart(key, &pos)),
                              j.value("id", uint64_t{0}), j.value("auto_delete", false),
                              TableOf(j, "arguments")};
        next_queue_id_ = std::max(next_queue_id_, q.id + 1);
        state->queues.push_back(std::move(q));
        break;
      }
      case 'n':
        // The id counters (see Materialize). Reading them beats seeking to the last body,
        // which can mean stepping over a great many deleted ones.
        if (first == "body") next_body_id_ = std::max(next_body_id_, j.value("next", uint64_t{1}));
        if (first == "queue") {
          next_queue_id_ = std::max(next_queue_id_, j.value("next", uint64_t{1}));
        }
        if (first == "clean") state->clean_shutdown = true;
        break;
      case 'o': {
        server::Policy policy;
        policy.vhost = std::string(first);
        policy.name = std::string(ReadKeyPart(key, &pos));
        policy.pattern = j.value("pattern", std::string());
        policy.apply_to =
            server::ParseApplyTo(j.value("apply-to", "all")).value_or(server::PolicyApplyTo::kAll);
        policy.priority = j.value("priority", int64_t{0});
        policy.definition = j.value("definition", json::object());
        state->policies.push_back(std::move(policy));
        break;
      }
      case 'b':
        state->bindings.push_back(server::StoredBinding{
            std::string(first), j.value("source", std::string()),
            j.value("destination", std::string()), j.value("destination_type", "") == "exchange",
            j.value("routing_key", std::string()), TableOf(j, "arguments")});
        break;
      default:
        spdlog::warn("storage: unknown metadata record kind '{}' skipped", key[0]);
    }
  }
  if (!it->status().ok()) return DbError("reading metadata", it->status());

  // Acknowledged messages leave tombstones in the index until compaction drops them; the
  // scan below would step over every one, so compact first (the index is small: a few dozen
  // bytes per message).
  const auto compact_start = std::chrono::steady_clock::now();
  rocksdb::Status compacted =
      db_->CompactRange(rocksdb::CompactRangeOptions(), index_, nullptr, nullptr);
  if (!compacted.ok())
    spdlog::warn("storage: compacting the index failed: {}", compacted.ToString());
  spdlog::debug("storage: index compacted in {} ms",
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - compact_start)
                    .count());
  // The index: key order is queue order, then arrival order.
  std::unordered_map<uint64_t, bool> known;
  for (const auto& q : state->queues) known[q.id] = true;
  std::vector<std::pair<uint64_t, server::StoredEntry>> orphans;
  it.reset(db_->NewIterator(rocksdb::ReadOptions(), index_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (key.size() != 16) continue;
    const uint64_t queue_id = ReadBigEndian64(key);
    const uint64_t seq = ReadBigEndian64(key.substr(8));
    auto entry = DecodeEntry(seq, std::string_view(it->value().data(), it->value().size()));
    if (!entry) {
      spdlog::warn("storage: malformed index entry for queue {} seq {} skipped", queue_id, seq);
      continue;
    }
    next_queue_id_ = std::max(next_queue_id_, queue_id + 1);
    if (entry->shared) ++shared_refs_[entry->body_id];
    next_body_id_ = std::max(next_body_id_, entry->body_id + 1);
    if (known.count(queue_id) == 0) {
      orphans.emplace_back(queue_id, *entry);
      continue;
    }
    if (state->entries.empty() || state->entries.back().first != queue_id) {
      state->entries.emplace_back(queue_id, std::vector<server::StoredEntry>());
    }
    state->entries.back().second.push_back(*entry);
  }
  if (!it->status().ok()) return DbError("reading the message index", it->status());
  Status s = RecoverDelayed(state);
  if (!s.ok()) return s;
  it.reset();
  saved_body_id_ = next_body_id_;
  saved_queue_id_ = next_queue_id_;
  // From here until a clean stop writes it again, a start finds no marker: after a crash
  // every recovered message may have been delivered. Synced now, before any delivery.
  rocksdb::WriteOptions synced;
  synced.sync = true;
  const rocksdb::Status unmarked = db_->Delete(synced, meta_, CounterKey("clean"));
  if (!unmarked.ok()) return DbError("writing the shutdown marker", unmarked);
  if (!orphans.empty()) {
    spdlog::warn("storage: dropping {} messages of queues that no longer exist", orphans.size());
    for (const auto& [queue_id, entry] : orphans) RemoveEntry(queue_id, entry);
  }
  return Status::Ok();
}

Status RocksStore::RecoverDelayed(server::RecoveredState* state) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), delayed_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    server::StoredDelayed delayed;
    server::Message* message = nullptr;
    if (DecodeDelayedKey(key, &delayed)) {
      message = DecodeMessage(std::string_view(it->value().data(), it->value().size()));
    }
    if (message == nullptr) {
      spdlog::warn("storage: malformed delayed message record skipped");
      continue;
    }
    delayed.message = server::MessageRef(message);
    state->delayed.push_back(std::move(delayed));
  }
  if (!it->status().ok()) return DbError("reading delayed messages", it->status());
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Entities

void RocksStore::PutMeta(const std::string& key, const std::string& json_text) {
  meta_batch_.Put(meta_, key, json_text);
  Touch();
}

void RocksStore::DeleteMeta(const std::string& key) {
  meta_batch_.Delete(meta_, key);
  Touch();
}

void RocksStore::PutVhost(std::string_view name) { PutMeta(VhostKey(name), "{}"); }

void RocksStore::PutUser(const server::StoredUser& user) {
  PutMeta(UserKey(user.name),
          json{{"password_hash", user.password_hash}, {"tags", user.tags}}.dump());
}

void RocksStore::PutPermission(const server::StoredPermission& p) {
  PutMeta(PermissionKey(p.vhost, p.user),
          json{{"configure", p.configure}, {"write", p.write}, {"read", p.read}}.dump());
}

void RocksStore::PutExchange(const server::StoredExchange& e) {
  PutMeta(ExchangeKey(e.vhost, e.name), json{{"type", e.type},
                                             {"auto_delete", e.auto_delete},
                                             {"internal", e.internal},
                                             {"arguments", TableToHex(e.arguments)}}
                                            .dump());
}

void RocksStore::PutPolicy(const server::Policy& p) {
  PutMeta(PolicyKey(p.vhost, p.name), json{{"pattern", p.pattern},
                                           {"apply-to", server::ApplyToName(p.apply_to)},
                                           {"priority", p.priority},
                                           {"definition", p.definition}}
                                          .dump());
}

void RocksStore::DeletePolicy(std::string_view vhost, std::string_view name) {
  DeleteMeta(PolicyKey(vhost, name));
}

void RocksStore::DeleteExchange(std::string_view vhost, std::string_view name) {
  DeleteMeta(ExchangeKey(vhost, name));
}

void RocksStore::PutQueue(const server::StoredQueue& q) {
  PutMeta(QueueKey(q.vhost, q.name),
          json{{"id", q.id}, {"auto_delete", q.auto_delete}, {"arguments", TableToHex(q.arguments)}}
              .dump());
}

void RocksStore::DeleteQueue(std::string_view vhost, std::string_view name) {
  DeleteMeta(QueueKey(vhost, name));
}

void RocksStore::PutBinding(const server::StoredBinding& b) {
  PutMeta(BindingKey(b), json{{"source", b.source},
                              {"destination", b.destination},
                              {"destination_type", b.to_exchange ? "exchange" : "queue"},
                              {"routing_key", b.routing_key},
                              {"arguments", TableToHex(b.arguments)}}
                             .dump());
}

void RocksStore::DeleteBinding(const server::StoredBinding& b) { DeleteMeta(BindingKey(b)); }

// ---------------------------------------------------------------------------------------
// Delayed messages: written through meta_batch_, which keeps their order with each other
// and with the entity writes (an exchange deleted and declared again in one batch).

void RocksStore::PutDelayed(std::string_view vhost, std::string_view exchange, int64_t due,
                            uint64_t seq, const server::Message& message) {
  PutRecord(&meta_batch_, delayed_, DelayedKey(vhost, exchange, due, seq), message);
  Touch();
}

void RocksStore::RemoveDelayed(std::string_view vhost, std::string_view exchange, int64_t due,
                               uint64_t seq) {
  meta_batch_.Delete(delayed_, DelayedKey(vhost, exchange, due, seq));
  Touch();
}

void RocksStore::RemoveDelayedExchange(std::string_view vhost, std::string_view exchange) {
  meta_batch_.DeleteRange(delayed_, DelayedExchangeKey(vhost, exchange),
                          DelayedExchangeEndKey(vhost, exchange));
  Touch();
}

// ---------------------------------------------------------------------------------------
// Messages

uint64_t RocksStore::AddBody(const server::Message& message, uint32_t queue_refs) {
  const uint64_t id = next_body_id_++;
  body_at_[id] = body_ops_.size();
  body_ops_.push_back(BodyOp{id, server::MessageRef(const_cast<server::Message*>(&message))});
  if (queue_refs > 1) shared_refs_[id] = queue_refs;
  Touch();
  return id;
}

void RocksStore::AddEntry(uint64_t queue_id, const server::StoredEntry& entry) {
  entry_at_[PendingKey{queue_id, entry.seq}] = entry_ops_.size();
  entry_ops_.push_back(EntryOp{queue_id, entry, /*put=*/true, /*fresh=*/true, /*live=*/true});
  Touch();
}

void RocksStore::UpdateEntry(uint64_t queue_id, const server::StoredEntry& entry) {
  auto it = entry_at_.find(PendingKey{queue_id, entry.seq});
  if (it != entry_at_.end()) {
    // Removed in this batch already (not live): it stays removed.
    if (entry_ops_[it->second].live && entry_ops_[it->second].put) {
      entry_ops_[it->second].entry = entry;
    }
    return;
  }
  entry_at_[PendingKey{queue_id, entry.seq}] = entry_ops_.size();
  entry_ops_.push_back(EntryOp{queue_id, entry, /*put=*/true, /*fresh=*/false, /*live=*/true});
  Touch();
}

void RocksStore::RemoveEntry(uint64_t queue_id, const server::StoredEntry& entry) {
  auto it = entry_at_.find(PendingKey{queue_id, entry.seq});
  if (it != entry_at_.end() && entry_ops_[it->second].fresh) {
    // Added in this batch: nothing of it reaches the disk.
    entry_ops_[it->second].live = false;
  } else if (it != entry_at_.end()) {
    entry_ops_[it->second].put = false;
  } else {
    // Nothing touches a removed entry again, so it needs no place in entry_at_.
    entry_ops_.push_back(EntryOp{queue_id, entry, /*put=*/false, /*fresh=*/false, /*live=*/true});
  }
  DropBody(entry);
}

void RocksStore::RemoveQueueEntries(uint64_t queue_id) {
  // Entries of this queue added in the pending batch must not outlive the range delete.
  for (EntryOp& op : entry_ops_) {
    if (op.queue_id == queue_id) op.live = false;
  }
  range_deletes_.push_back(queue_id);
  Touch();
}

void RocksStore::DropBody(const server::StoredEntry& entry) {
  if (entry.shared) {
    auto refs = shared_refs_.find(entry.body_id);
    if (refs != shared_refs_.end() && --refs->second > 0) {
      Touch();
      return;
    }
    if (refs != shared_refs_.end()) shared_refs_.erase(refs);
  }
  auto body = body_at_.find(entry.body_id);
  if (body != body_at_.end()) {
    body_ops_[body->second].message = server::MessageRef();
  } else {
    body_deletes_.push_back(entry.body_id);
  }
  Touch();
}

void RocksStore::PageOut(uint64_t queue_id, uint64_t seq, const server::Message& message) {
  paged_at_[PendingKey{queue_id, seq}] = paged_ops_.size();
  paged_ops_.push_back(
      PagedOp{queue_id, seq, server::MessageRef(const_cast<server::Message*>(&message))});
  Touch();
}

void RocksStore::RemovePaged(uint64_t queue_id, uint64_t seq) {
  auto it = paged_at_.find(PendingKey{queue_id, seq});
  if (it != paged_at_.end()) {
    paged_ops_[it->second].message = server::MessageRef();  // never written
  } else {
    paged_ops_.push_back(PagedOp{queue_id, seq, server::MessageRef()});
  }
  Touch();
}

void RocksStore::PutRecord(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* family,
                           const std::string& key, const server::Message& message) {
  scratch_.clear();
  EncodeMessageHeader(message, &scratch_);
  const rocksdb::Slice key_slice(key);
  const rocksdb::Slice parts[2] = {rocksdb::Slice(scratch_),
                                   rocksdb::Slice(message.body().data(), message.body().size())};
  batch->Put(family, rocksdb::SliceParts(&key_slice, 1), rocksdb::SliceParts(parts, 2));
}

void RocksStore::Materialize(Task* task) {
  // Ids handed out are never handed out again, even after a crash: the counters go in the
  // same batch as the first use of the ids.
  if (next_body_id_ != saved_body_id_) {
    task->durable.Put(meta_, CounterKey("body"), json{{"next", next_body_id_}}.dump());
    saved_body_id_ = next_body_id_;
  }
  if (next_queue_id_ != saved_queue_id_) {
    task->durable.Put(meta_, CounterKey("queue"), json{{"next", next_queue_id_}}.dump());
    saved_queue_id_ = next_queue_id_;
  }
  for (const BodyOp& op : body_ops_) {
    if (op.message) PutRecord(&task->durable, bodies_, BodyKey(op.id), *op.message);
  }
  for (const EntryOp& op : entry_ops_) {
    if (!op.live) continue;
    const std::string key = QueueSeqKey(op.queue_id, op.entry.seq);
    if (op.put) {
      task->durable.Put(index_, key, EncodeEntry(op.entry));
    } else {
      task->durable.Delete(index_, key);
    }
  }
  for (uint64_t queue_id : range_deletes_) {
    task->durable.DeleteRange(index_, QueueSeqKey(queue_id, 0), QueueEndKey(queue_id));
  }
  for (uint64_t id : body_deletes_) task->durable.Delete(bodies_, BodyKey(id));
  for (const PagedOp& op : paged_ops_) {
    const std::string key = QueueSeqKey(op.queue_id, op.seq);
    if (op.message) {
      PutRecord(&task->paged, paged_, key, *op.message);
    } else if (paged_at_.count(PendingKey{op.queue_id, op.seq}) == 0) {
      task->paged.Delete(paged_, key);  // written by an earlier batch
    }
  }
  body_ops_.clear();
  body_at_.clear();
  entry_ops_.clear();
  entry_at_.clear();
  body_deletes_.clear();
  range_deletes_.clear();
  paged_ops_.clear();
  paged_at_.clear();
}

// ---------------------------------------------------------------------------------------
// Group commit

void RocksStore::Touch() {
  dirty_ = true;
  last_write_batch_ = submitted_ + 1;
  if (commit_scheduled_) return;
  commit_scheduled_ = true;
  // Runs after the handlers already queued on the loop: the rest of this turn's reads.
  boost::asio::post(loop_, [this] {
    commit_scheduled_ = false;
    CommitIfIdle();
  });
}

void RocksStore::CommitIfIdle() {
  // While a write is in flight the batch keeps growing; OnWritten submits it.
  if (submitted_ == synced_) Submit();
}

void RocksStore::Flush() { Submit(); }

void RocksStore::Submit() {
  // A batch whose writes all cancelled out is still a batch: confirms wait for it.
  if (!dirty_) return;
  dirty_ = false;
  Task task;
  task.batch = ++submitted_;
  std::swap(task.durable, meta_batch_);
  Materialize(&task);
  Enqueue(std::move(task));
}

void RocksStore::Enqueue(Task task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void RocksStore::OnWritten(uint64_t batch, const Status& status) {
  synced_ = batch;
  if (submitted_ == synced_) Submit();
  if (sync_callback_) sync_callback_(batch, status);
}

void RocksStore::WaitIdle() {
  Submit();
  WaitForWriter();
}

void RocksStore::WaitForWriter() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return tasks_.empty() && !busy_; });
}

void RocksStore::WriterMain() {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, and nothing left
      task = std::move(tasks_.front());
      tasks_.pop_front();
      busy_ = true;
    }
    if (task.loaded) {
      std::vector<std::string> records;
      std::vector<bool> found;
      Read(task, &records, &found);
      boost::asio::post(loop_, [done = std::move(task.loaded), records = std::move(records),
                                found = std::move(found)]() mutable {
        done(std::move(records), std::move(found));
      });
    } else {
      Write(task);
    }
    {
      std::lock_guard lock(mutex_);
      busy_ = false;
    }
    idle_.notify_all();
  }
}

void RocksStore::Write(Task& task) {
  rocksdb::Status s;
  if (task.paged.Count() != 0) {
    rocksdb::WriteOptions no_wal;
    no_wal.disableWAL = true;
    s = db_->Write(no_wal, &task.paged);
  }
  if (s.ok() && task.durable.Count() != 0) {
    rocksdb::WriteOptions synced;
    synced.sync = options_.fsync;
    s = db_->Write(synced, &task.durable);
  }
  const Status status = s.ok() ? Status::Ok() : DbError("write failed", s);
  boost::asio::post(loop_, [this, batch = task.batch, status] { OnWritten(batch, status); });
}

void RocksStore::Read(Task& task, std::vector<std::string>* records, std::vector<bool>* found) {
  const size_t n = task.requests.size();
  // One MultiGet for the lot: RocksDB batches the block lookups.
  std::vector<std::string> keys(n);
  std::vector<rocksdb::Slice> slices(n);
  std::vector<rocksdb::ColumnFamilyHandle*> families(n);
  for (size_t i = 0; i < n; ++i) {
    const server::LoadRequest& r = task.requests[i];
    keys[i] = r.paged ? QueueSeqKey(task.queue_id, r.seq) : BodyKey(r.body_id);
    slices[i] = rocksdb::Slice(keys[i]);
    families[i] = r.paged ? paged_ : bodies_;
  }
  const std::vector<rocksdb::Status> statuses =
      db_->MultiGet(rocksdb::ReadOptions(), families, slices, records);
  found->assign(n, false);
  for (size_t i = 0; i < n; ++i) {
    (*found)[i] = statuses[i].ok();
    if (!statuses[i].ok()) {
      spdlog::error("storage: cannot read message {} of queue {}: {}", task.requests[i].seq,
                    task.queue_id, statuses[i].ToString());
    }
  }
}

std::vector<server::MessageRef> RocksStore::Decode(
    const std::vector<std::string>& records, const std::vector<bool>& found, uint64_t queue_id,
    const std::vector<server::LoadRequest>& requests) {
  std::vector<server::MessageRef> messages(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    if (!found[i]) continue;
    server::Message* m = DecodeMessage(records[i]);
    if (m == nullptr) {
      spdlog::error("storage: malformed record for message {} of queue {}", requests[i].seq,
                    queue_id);
      continue;
    }
    messages[i] = server::MessageRef(m);
  }
  return messages;
}

server::MessageRef RocksStore::FromPending(uint64_t queue_id,
                                           const server::LoadRequest& request) const {
  if (request.paged) {
    auto it = paged_at_.find(PendingKey{queue_id, request.seq});
    return it != paged_at_.end() ? paged_ops_[it->second].message : server::MessageRef();
  }
  auto it = body_at_.find(request.body_id);
  return it != body_at_.end() ? body_ops_[it->second].message : server::MessageRef();
}

void RocksStore::Load(uint64_t queue_id, std::vector<server::LoadRequest> requests,
                      std::function<void(std::vector<server::MessageRef>)> done) {
  // What the pending batch holds is answered from memory; the rest was submitted before,
  // so the writer, which works in order, reads it after it is written.
  PartialLoad partial;
  partial.messages.resize(requests.size());
  Task task;
  task.queue_id = queue_id;
  for (size_t i = 0; i < requests.size(); ++i) {
    partial.messages[i] = FromPending(queue_id, requests[i]);
    if (partial.messages[i]) continue;
    task.requests.push_back(requests[i]);
    partial.from_disk.push_back(i);
  }
  partial.done = std::move(done);
  const uint64_t id = next_load_id_++;
  if (task.requests.empty()) {
    partial_loads_.emplace(id, std::move(partial));
    boost::asio::post(loop_, [this, id] { FinishLoad(id, {}); });
    return;
  }
  partial_loads_.emplace(id, std::move(partial));
  task.loaded = [this, id, queue_id, asked = task.requests](std::vector<std::string> records,
                                                            std::vector<bool> found) {
    FinishLoad(id, Decode(records, found, queue_id, asked));
  };
  Enqueue(std::move(task));
}

void RocksStore::FinishLoad(uint64_t id, std::vector<server::MessageRef> from_disk) {
  auto it = partial_loads_.find(id);
  if (it == partial_loads_.end()) return;
  PartialLoad partial = std::move(it->second);
  partial_loads_.erase(it);
  for (size_t i = 0; i < partial.from_disk.size() && i < from_disk.size(); ++i) {
    partial.messages[partial.from_disk[i]] = std::move(from_disk[i]);
  }
  partial.done(std::move(partial.messages));
}

std::vector<server::MessageRef> RocksStore::LoadNow(
    uint64_t queue_id, const std::vector<server::LoadRequest>& requests) {
  std::vector<server::MessageRef> messages(requests.size());
  Task task;
  task.queue_id = queue_id;
  std::vector<size_t> from_disk;
  for (size_t i = 0; i < requests.size(); ++i) {
    messages[i] = FromPending(queue_id, requests[i]);
    if (messages[i]) continue;
    task.requests.push_back(requests[i]);
    from_disk.push_back(i);
  }
  if (task.requests.empty()) return messages;
  WaitForWriter();
  std::vector<std::string> records;
  std::vector<bool> found;
  Read(task, &records, &found);
  std::vector<server::MessageRef> read = Decode(records, found, queue_id, task.requests);
  for (size_t i = 0; i < from_disk.size(); ++i) messages[from_disk[i]] = std::move(read[i]);
  return messages;
}

}  // namespace warren::storage
