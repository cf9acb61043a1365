// StoreFixture: a RocksStore in a fresh directory under /tmp, its completions posted to an
// io_context that the test runs on its own thread with bounded waits; and a direct look at
// the database (keys of a column family, bytes of write-ahead log) for checks that must see
// the disk rather than the store's own view of it.

#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/message.h"
#include "server/store.h"
#include "storage/rocks_store.h"

namespace warren::test {

// How long to wait for something the store must do.
inline constexpr std::chrono::milliseconds kStoreTimeout{5000};

// A body of `size` bytes that differs from every other (seed, size) pair.
inline std::string Body(size_t size, uint64_t seed) {
  std::string body(size, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + size + 1;
  for (char& c : body) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return body;
}

inline server::MessageRef MakeMessage(std::string_view body, bool persistent = true,
                                      std::string_view routing_key = "rk") {
  return server::MessageRef(
      server::Message::Create("amq.direct", routing_key, "\x90\x00\x02", body, persistent));
}

// Whether `m` is the message `want` (every part a record keeps).
inline ::testing::AssertionResult SameMessage(const server::MessageRef& m,
                                              const server::Message& want) {
  if (!m) return ::testing::AssertionFailure() << "no message";
  if (m->exchange() != want.exchange() || m->routing_key() != want.routing_key() ||
      m->properties() != want.properties() || m->persistent() != want.persistent()) {
    return ::testing::AssertionFailure()
           << "header differs: '" << m->exchange() << "' '" << m->routing_key() << "' "
           << m->properties().size() << " property bytes, persistent " << m->persistent();
  }
  if (m->body() != want.body()) {
    return ::testing::AssertionFailure()
           << "body differs: " << m->body().size() << " bytes, want " << want.body().size();
  }
  return ::testing::AssertionSuccess();
}

// The RocksDB column families of `dir`, opened directly (the store must be closed).
class RawDb {
 public:
  // Opens read-only, or writable if `writable`; ok() says whether that worked.
  explicit RawDb(const std::string& dir, bool writable = false) {
    std::vector<std::string> names;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names);
    if (!s.ok()) {
      error_ = s.ToString();
      return;
    }
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const std::string& name : names)
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* db = nullptr;
    s = writable ? rocksdb::DB::Open(rocksdb::Options(), dir, families, &handles_, &db)
                 : rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir, families, &handles_, &db);
    if (!s.ok()) {
      error_ = s.ToString();
      return;
    }
    db_.reset(db);
  }
  ~RawDb() {
    if (!db_) return;
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
    db_->Close();
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  bool ok() const { return db_ != nullptr; }
  const std::string& error() const { return error_; }

  rocksdb::ColumnFamilyHandle* Family(std::string_view name) const {
    for (auto* handle : handles_) {
      if (handle->GetName() == name) return handle;
    }
    return nullptr;
  }
  // Every key of the family `name`, in order (empty if there is no such family).
  std::vector<std::string> Keys(std::string_view name) const {
    std::vector<std::string> keys;
    rocksdb::ColumnFamilyHandle* family = Family(name);
    if (family == nullptr) return keys;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family));
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
    return keys;
  }
  rocksdb::DB* db() const { return db_.get(); }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::string error_;
};

class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    // Reads of deleted messages are expected here, and each logs an error.
    const char* level = std::getenv("WARREN_TEST_LOG_LEVEL");
    spdlog::set_level(spdlog::level::from_str(level != nullptr ? level : "critical"));
    char dir[] = "/tmp/warren-store-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    Open();
  }

  void TearDown() override {
    Close();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Opens the store in dir_ on a fresh loop, recording every sync callback in synced_.
  void Open() {
    io_ = std::make_unique<boost::asio::io_context>(1);
    work_.emplace(io_->get_executor());
    storage::RocksStoreOptions options;
    options.dir = dir_;
    options.fsync = false;  // the WAL is still written; only its fsync is skipped
    options.queue_memory_budget = budget_;
    const amqp::Status s = storage::RocksStore::Open(*io_, options, &store_);
    ASSERT_TRUE(s.ok()) << s.text();
    synced_.clear();
    store_->SetSyncCallback([this](uint64_t batch, const amqp::Status& status) {
      synced_.push_back(batch);
      if (!status.ok()) ADD_FAILURE() << "batch " << batch << ": " << status.text();
    });
  }

  // Closes the store. Its loop goes with it: completions it posted would otherwise run
  // against a store that no longer exists.
  void Close() {
    store_.reset();
    work_.reset();
    io_.reset();
  }

  // Commits what is pending, closes, opens again; the caller then calls Recover().
  void Reopen() {
    ASSERT_TRUE(Settle());
    Close();
    Open();
  }

  // Runs the loop until `done` or the timeout; returns whether `done` came true.
  bool RunUntil(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = kStoreTimeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_->run_one_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  // Submits the pending batch, waits for the writer, and runs the completions it posted:
  // then every batch so far is synced and reported.
  ::testing::AssertionResult Settle() {
    store_->WaitIdle();
    while (io_->poll() > 0) {
    }
    store_->WaitIdle();  // in case a completion submitted more
    while (io_->poll() > 0) {
    }
    if (store_->synced_batch() < store_->last_write_batch()) {
      return ::testing::AssertionFailure() << "synced " << store_->synced_batch()
                                           << ", last write in " << store_->last_write_batch();
    }
    return ::testing::AssertionSuccess();
  }

  server::RecoveredState Recover() {
    server::RecoveredState state;
    const amqp::Status s = store_->Recover(&state);
    EXPECT_TRUE(s.ok()) << s.text();
    return state;
  }

  // The recovered entries of `queue_id` (none if it has no entry).
  static std::vector<server::StoredEntry> EntriesOf(const server::RecoveredState& state,
                                                    uint64_t queue_id) {
    for (const auto& [id, entries] : state.entries) {
      if (id == queue_id) return entries;
    }
    return {};
  }

  // Load, running the loop until it answers; nullopt if it does not in time.
  std::optional<std::vector<server::MessageRef>> LoadAndWait(
      uint64_t queue_id, std::vector<server::LoadRequest> requests) {
    std::optional<std::vector<server::MessageRef>> loaded;
    store_->Load(queue_id, std::move(requests),
                 [&](std::vector<server::MessageRef> messages) { loaded = std::move(messages); });
    if (!RunUntil([&] { return loaded.has_value(); })) return std::nullopt;
    return loaded;
  }

  // A stored body read back directly, or an empty ref.
  server::MessageRef LoadBody(uint64_t body_id) {
    auto loaded = store_->LoadNow(0, {server::LoadRequest{0, body_id, false}});
    return loaded.size() == 1 ? loaded[0] : server::MessageRef();
  }
  // A paged-out message read back directly, or an empty ref.
  server::MessageRef LoadPaged(uint64_t queue_id, uint64_t seq) {
    auto loaded = store_->LoadNow(queue_id, {server::LoadRequest{seq, 0, true}});
    return loaded.size() == 1 ? loaded[0] : server::MessageRef();
  }

  // Bytes in the write-ahead log files of dir_.
  uint64_t WalBytes() const {
    uint64_t bytes = 0;
    for (const auto& file : std::filesystem::directory_iterator(dir_)) {
      if (file.path().extension() == ".log") bytes += file.file_size();
    }
    return bytes;
  }

  std::string dir_;
  size_t budget_ = 16 << 20;  // set before Open() (e.g. in a derived SetUp)
  std::unique_ptr<boost::asio::io_context> io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::unique_ptr<storage::RocksStore> store_;
  std::vector<uint64_t> synced_;  // batches reported by the sync callback, in order
};

}  // namespace warren::test
