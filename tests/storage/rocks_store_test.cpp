// Tests for storage/rocks_store.*: entities and messages read back after reopening, body
// references, writes undone within their batch never reaching the disk, the batch numbers
// and sync callbacks of group commit, reads that see earlier writes, the paged family
// emptied at start-up, and recovery's treatment of entries without a queue.

#include "storage/rocks_store.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "storage/keys.h"
#include "tests/storage/store_fixture.h"

namespace warren::test {
namespace {

using RocksStore = StoreFixture;

server::StoredQueue QueueRecord(std::string name, uint64_t id) {
  return server::StoredQueue{"/", std::move(name), id, false, {}};
}

TEST_F(RocksStore, EntitiesAreReadBackAfterReopening) {
  const amqp::FieldTable arguments{{"x-max-length", int32_t{10}},
                                   {"x-queue-mode", "lazy"},
                                   {"x-ttl", int64_t{-5}},
                                   {"nested", amqp::FieldTable{{"t", true}}}};
  store_->PutVhost("/");
  store_->PutVhost("other");
  store_->PutUser(server::StoredUser{"guest", "hash==", "administrator"});
  store_->PutPermission(server::StoredPermission{"other", "guest", "^c", "^w", "^r"});
  store_->PutExchange(server::StoredExchange{"/", "events", "topic", true, false, arguments});
  store_->PutExchange(server::StoredExchange{"/", "gone", "fanout", false, false, {}});
  const uint64_t id = store_->NewQueueId();
  store_->PutQueue(server::StoredQueue{"other", "jobs", id, true, arguments});
  store_->PutQueue(QueueRecord("deleted", store_->NewQueueId()));
  store_->PutBinding(server::StoredBinding{"/", "events", "jobs", false, "a.#", arguments});
  store_->PutBinding(server::StoredBinding{"/", "events", "gone", true, "b", {}});
  store_->PutBinding(server::StoredBinding{"/", "events", "jobs", false, "deleted", {}});
  store_->DeleteExchange("/", "gone");
  store_->DeleteQueue("/", "deleted");
  store_->DeleteBinding(server::StoredBinding{"/", "events", "jobs", false, "deleted", {}});
  Reopen();
  const server::RecoveredState state = Recover();

  EXPECT_EQ(state.vhosts, (std::vector<std::string>{"/", "other"}));
  ASSERT_EQ(state.users.size(), 1u);
  EXPECT_EQ(state.users[0].name, "guest");
  EXPECT_EQ(state.users[0].password_hash, "hash==");
  EXPECT_EQ(state.users[0].tags, "administrator");
  ASSERT_EQ(state.permissions.size(), 1u);
  EXPECT_EQ(state.permissions[0].vhost, "other");
  EXPECT_EQ(state.permissions[0].user, "guest");
  EXPECT_EQ(state.permissions[0].configure, "^c");
  EXPECT_EQ(state.permissions[0].write, "^w");
  EXPECT_EQ(state.permissions[0].read, "^r");
  ASSERT_EQ(state.exchanges.size(), 1u);
  EXPECT_EQ(state.exchanges[0].vhost, "/");
  EXPECT_EQ(state.exchanges[0].name, "events");
  EXPECT_EQ(state.exchanges[0].type, "topic");
  EXPECT_TRUE(state.exchanges[0].auto_delete);
  EXPECT_FALSE(state.exchanges[0].internal);
  EXPECT_EQ(state.exchanges[0].arguments, arguments);
  ASSERT_EQ(state.queues.size(), 1u);
  EXPECT_EQ(state.queues[0].vhost, "other");
  EXPECT_EQ(state.queues[0].name, "jobs");
  EXPECT_EQ(state.queues[0].id, id);
  EXPECT_TRUE(state.queues[0].auto_delete);
  EXPECT_EQ(state.queues[0].arguments, arguments);
  ASSERT_EQ(state.bindings.size(), 2u);
  // Key order: the queue binding sorts after the exchange one ('e' < 'q').
  EXPECT_EQ(state.bindings[0].destination, "gone");
  EXPECT_TRUE(state.bindings[0].to_exchange);
  EXPECT_EQ(state.bindings[0].routing_key, "b");
  EXPECT_EQ(state.bindings[1].vhost, "/");
  EXPECT_EQ(state.bindings[1].source, "events");
  EXPECT_EQ(state.bindings[1].destination, "jobs");
  EXPECT_FALSE(state.bindings[1].to_exchange);
  EXPECT_EQ(state.bindings[1].routing_key, "a.#");
  EXPECT_EQ(state.bindings[1].arguments, arguments);
  EXPECT_TRUE(state.entries.empty());
}

TEST_F(RocksStore, QueueIdsAreNotReusedAfterReopening) {
  const uint64_t first = store_->NewQueueId();
  const uint64_t second = store_->NewQueueId();
  EXPECT_LT(first, second);
  store_->PutQueue(QueueRecord("q", second));
  Reopen();
  Recover();
  EXPECT_GT(store_->NewQueueId(), second);
}

TEST_F(RocksStore, PersistentMessagesSurviveReopeningExactly) {
  const uint64_t queue = store_->NewQueueId();
  store_->PutQueue(QueueRecord("q", queue));
  const server::MessageRef small = MakeMessage("hello");
  const server::MessageRef large = MakeMessage(Body(300 << 10, 1));
  const server::MessageRef empty = MakeMessage("");
  std::vector<uint64_t> ids;
  uint64_t seq = 10;
  for (const server::MessageRef& m : {small, large, empty}) {
    ids.push_back(store_->AddBody(*m, 1));
    store_->AddEntry(
        queue, server::StoredEntry{seq++, ids.back(), static_cast<uint32_t>(m->body().size())});
  }
  Reopen();
  const server::RecoveredState state = Recover();
  const std::vector<server::StoredEntry> entries = EntriesOf(state, queue);
  ASSERT_EQ(entries.size(), 3u);
  const std::vector<server::MessageRef> want = {small, large, empty};
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].seq, 10 + i);
    EXPECT_EQ(entries[i].body_id, ids[i]);
    EXPECT_EQ(entries[i].size, want[i]->body().size());
    EXPECT_FALSE(entries[i].delivered);
    EXPECT_FALSE(entries[i].shared);
    EXPECT_TRUE(SameMessage(LoadBody(ids[i]), *want[i])) << "message " << i;
  }
  // New bodies do not overwrite recovered ones.
  EXPECT_GT(store_->AddBody(*small, 1), ids.back());
}

TEST_F(RocksStore, RemovedEntryTakesItsBodyWithIt) {
  const uint64_t queue = store_->NewQueueId();
  store_->PutQueue(QueueRecord("q", queue));
  const server::MessageRef kept = MakeMessage("kept");
  const server::MessageRef removed = MakeMessage("removed");
  const uint64_t kept_id = store_->AddBody(*kept, 1);
  store_->AddEntry(queue, server::StoredEntry{1, kept_id, 4});
  const uint64_t removed_id = store_->AddBody(*removed, 1);
  const server::StoredEntry entry{2, removed_id, 7};
  store_->AddEntry(queue, entry);
  ASSERT_TRUE(Settle());
  ASSERT_TRUE(LoadBody(removed_id));
  store_->RemoveEntry(queue, entry);
  ASSERT_TRUE(Settle());
  EXPECT_FALSE(LoadBody(removed_id));
  EXPECT_TRUE(SameMessage(LoadBody(kept_id), *kept));
  Reopen();
  const std::vector<server::StoredEntry> entries = EntriesOf(Recover(), queue);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].seq, 1u);
  EXPECT_FALSE(LoadBody(removed_id));
  Close();
  RawDb db(dir_);
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.Keys("index"), (std::vector<std::string>{storage::QueueSeqKey(queue, 1)}));
  EXPECT_EQ(db.Keys("bodies"), (std::vector<std::string>{storage::BodyKey(kept_id)}));
}

// The references of a shared body are counted from the index at start-up.
TEST_F(RocksStore, SharedBodySurvivesItsFirstEntryAndGoesWithItsLastAcrossReopens) {
  const uint64_t a = store_->NewQueueId();
  const uint64_t b = store_->NewQueueId();
  store_->PutQueue(QueueRecord("a", a));
  store_->PutQueue(QueueRecord("b", b));
  const server::MessageRef message = MakeMessage("fanned out");
  const uint64_t id = store_->AddBody(*message, 2);
  const server::StoredEntry in_a{0, id, 10, false, true};
  const server::StoredEntry in_b{5, id, 10, false, true};
  store_->AddEntry(a, in_a);
  store_->AddEntry(b, in_b);
  Reopen();
  server::RecoveredState state = Recover();
  ASSERT_EQ(EntriesOf(state, a).size(), 1u);
  ASSERT_EQ(EntriesOf(state, b).size(), 1u);
  EXPECT_TRUE(EntriesOf(state, a)[0].shared);
  store_->RemoveEntry(a, in_a);
  ASSERT_TRUE(Settle());
  EXPECT_TRUE(SameMessage(LoadBody(id), *message)) << "still referenced by b";

  Reopen();
  state = Recover();
  EXPECT_TRUE(EntriesOf(state, a).empty());
  ASSERT_EQ(EntriesOf(state, b).size(), 1u);
  EXPECT_TRUE(SameMessage(LoadBody(id), *message));
  store_->RemoveEntry(b, in_b);
  ASSERT_TRUE(Settle());
  EXPECT_FALSE(LoadBody(id));
  Reopen();
  state = Recover();
  EXPECT_TRUE(state.entries.empty());
  EXPECT_FALSE(LoadBody(id));
}

TEST_F(RocksStore, SharedBodyIsDeletedWithItsLastEntryWithoutAReopen) {
  const uint64_t a = store_->NewQueueId();
  const uint64_t b = store_->NewQueueId();
  const uint64_t c = store_->NewQueueId();
  for (uint64_t q : {a, b, c}) store_->PutQueue(QueueRecord("q" + std::to_string(q), q));
  const server::MessageRef message = MakeMessage("three ways");
  const uint64_t id = store_->AddBody(*message, 3);
  for (uint64_t q : {a, b, c}) store_->AddEntry(q, server::StoredEntry{q, id, 10, false, true});
  ASSERT_TRUE(Settle());
  store_->RemoveEntry(a, server::StoredEntry{a, id, 10, false, true});
  store_->RemoveEntry(b, server::StoredEntry{b, id, 10, true, true});
  ASSERT_TRUE(Settle());
  EXPECT_TRUE(SameMessage(LoadBody(id), *message));
  store_->RemoveEntry(c, server::StoredEntry{c, id, 10, false, true});
  ASSERT_TRUE(Settle());
  EXPECT_FALSE(LoadBody(id));
}

TEST_F(RocksStore, MessageAddedAndRemovedInOneBatchNeverReachesTheDisk) {
  const uint64_t queue = store_->NewQueueId();
  store_->PutQueue(QueueRecord("q", queue));
  ASSERT_TRUE(Settle());
  const uint64_t wal_before = WalBytes();
  const size_t synced_before = synced_.size();

  const server::MessageRef message = MakeMessage(Body(1 << 20, 7));
  const uint64_t id = store_->AddBody(*message, 1);
  const server::StoredEntry entry{0, id, 1 << 20};
  store_->AddEntry(queue, entry);
  store_->RemoveEntry(queue, entry);
  // The batch still exists (confirms may wait for it) and is reported synced.
  const uint64_t batch = store_->last_write_batch();
  ASSERT_TRUE(RunUntil([&] { return store_->synced_batch() >= batch; }));
  ASSERT_EQ(synced_.size(), synced_before + 1);
  EXPECT_EQ(synced_.back(), batch);
  EXPECT_LT(WalBytes() - wal_before, 1024u) << "the 1 MiB body was written";
  EXPECT_FALSE(LoadBody(id));

  Reopen();
  EXPECT_TRUE(Recover().entries.empty());
  EXPECT_FALSE(LoadBody(id));
  Close();
  RawDb db(dir_);
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_TRUE(db.Keys("index").empty());
  EXPECT_TRUE(db.Keys("bodies").empty());
}

// The counterpart of the test above, and a check of its measure: a message removed in a
// later batch was written, and the log shows it.
TEST_F(RocksStore, MessageRemovedInALaterBatchWasWritten) {
  const uint64_t queue = store_->NewQueueId();
  store_->PutQueue(QueueRecord("q", queue));
  ASSERT_TRUE(Settle());
  const uint64_t wal_before = WalBytes();
  const server::MessageRef message = MakeMessage(Body(1 << 20, 7));
  const uint64_t id = store_->AddBody(*message, 1);
  const server::StoredEntry entry{0, id, 1 << 20};
  store_->AddEntry(queue, entry);
  ASSERT_TRUE(Settle());
  EXPECT_TRUE(SameMessage(LoadBody(id), *message));
  store_->RemoveEntry(queue, entry);
  ASSERT_TRUE(Settle());
  EXPECT_GE(WalBytes() - wal_before, uint64_t{1} << 20);
  EXPECT_FALSE(LoadBody(id));
}

TEST_F(RocksStore, SharedMessageAddedAndRemovedEverywhereInOneBatchIsNotWritten) {
  const uint64_t a = store_->NewQueueId();
  const uint64_t b = store_->NewQueueId();
  ASSERT_TRUE(Settle());
  const uint64_t wal_before = WalBytes();
  const server::MessageRef message = MakeMessage(Body(1 << 20, 8));
  const uint64_t id = store_->AddBody(*message, 2);
  store_->AddEntry(a, server::StoredEntry{0, id, 1 << 20, false, true});
  store_->AddEntry(b, server::StoredEntry{0, id, 1 << 20, false, true});
  store_->RemoveEntry(b, server::StoredEntry{0, id, 1 << 20, false, true});
  store_->RemoveEntry(a, server::StoredEntry{0, id, 1 << 20, true, true});
  ASSERT_TRUE(Settle());
  EXPECT_LT(WalBytes() - wal_before, 1024u);
  EXPECT_FALSE(LoadBody(id));
}

TEST_F(RocksStore, BatchesAreNumberedInOrderAndEachIsReportedSyncedOnce) {
  EXPECT_EQ(store_->synced_batch(), 0u);
  // A write is committed at the end of the loop turn without being asked to.
  store_->PutVhost("a");
  EXPECT_EQ(store_->last_write_batch(), 1u);
  ASSERT_TRUE(RunUntil([&] { return store_->synced_batch() >= 1; }));
  EXPECT_EQ(synced_, (std::vector<uint64_t>{1}));

  // Writes made while a batch is in flight go into the next one.
  store_->PutVhost("b");
  store_->Flush();
  store_->PutVhost("c");
  EXPECT_EQ(store_->last_write_batch(), 3u);
  ASSERT_TRUE(RunUntil([&] { return store_->synced_batch() >= 3; }));
  EXPECT_EQ(synced_, (std::vector<uint64_t>{1, 2, 3}));
  for (int i = 0; i < 20; ++i) {
    store_->PutVhost("v" + std::to_string(i));
    if (i % 3 == 0) store_->Flush();
    io_->poll();
  }
  ASSERT_TRUE(Settle());
  ASSERT_GT(synced_.size(), 3u);
  for (size_t i = 0; i < synced_.size(); ++i) EXPECT_EQ(synced_[i], i + 1);
  EXPECT_EQ(store_->synced_batch(), synced_.size());
  // Nothing more to write: no more batches.
  const size_t batches = synced_.size();
  EXPECT_FALSE(RunUntil([&] { return synced_.size() > batches; }, std::chrono::milliseconds(100)));
  store_->PutVhost("last");
  EXPECT_EQ(store_->last_write_batch(), batches + 1);
  ASSERT_TRUE(RunUntil([&] { return store_->synced_batch() > batches; }));
  EXPECT_EQ(synced_.back(), batches + 1);
}

TEST_F(RocksStore, LoadSeesABodyAddedJustBeforeIt) {
  const server::MessageRef message = MakeMessage(Body(5000, 3));
  const uint64_t id = store_->AddBody(*message, 1);
  store_->AddEntry(1, server::StoredEntry{0, id, 5000});
  ASSERT_EQ(store_->synced_batch(), 0u);  // not committed yet
  const auto loaded = LoadAndWait(1, {server::LoadRequest{0, id, false}});
  ASSERT_TRUE(loaded.has_value());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_TRUE(SameMessage((*loaded)[0], *message));
  const auto now = store_->LoadNow(1, {server::LoadRequest{0, id, false}});
  ASSERT_EQ(now.size(), 1u);
  EXPECT_TRUE(SameMessage(now[0], *message));
}

TEST_F(RocksStore, LoadSeesAMessagePagedOutJustBeforeIt) {
  const server::MessageRef message = MakeMessage(Body(3000, 4), false);
  store_->PageOut(7, 42, *message);
  const auto loaded = LoadAndWait(7, {server::LoadRequest{42, 0, true}});
  ASSERT_TRUE(loaded.has_value());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_TRUE(SameMessage((*loaded)[0], *message));
  const auto now = store_->LoadNow(7, {server::LoadRequest{42, 0, true}});
  ASSERT_EQ(now.size(), 1u);
  EXPECT_TRUE(SameMessage(now[0], *message));
}

// Submitted but perhaps not yet written: the read must come after the write.
TEST_F(RocksStore, LoadSeesWritesOfABatchStillInFlight) {
  std::vector<server::MessageRef> messages;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 8; ++i) {
    messages.push_back(MakeMessage(Body(256 << 10, i)));
    ids.push_back(store_->AddBody(*messages.back(), 1));
  }
  const server::MessageRef paged = MakeMessage(Body(100, 9), false);
  store_->PageOut(2, 5, *paged);
  store_->Flush();
  std::vector<server::LoadRequest> requests;
  for (uint64_t id : ids) requests.push_back(server::LoadRequest{0, id, false});
  requests.push_back(server::LoadRequest{5, 0, true});
  const auto loaded = LoadAndWait(2, requests);
  ASSERT_TRUE(loaded.has_value());
  ASSERT_EQ(loaded->size(), 9u);
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_TRUE(SameMessage((*loaded)[i], *messages[i]));
  EXPECT_TRUE(SameMessage((*loaded)[8], *paged));

  // LoadNow, with another batch just handed over.
  const server::MessageRef later = MakeMessage(Body(256 << 10, 10));
  const uint64_t later_id = store_->AddBody(*later, 1);
  store_->Flush();
  const auto now = store_->LoadNow(0, {server::LoadRequest{0, later_id, false}});
  ASSERT_EQ(now.size(), 1u);
  EXPECT_TRUE(SameMessage(now[0], *later));
}

// A read must not leave the writes before it in a batch that is never committed.
TEST_F(RocksStore, LastWriteBatchIsSyncedWhenALoadFollowsTheWrites) {
  const server::MessageRef message = MakeMessage("m");
  const uint64_t id = store_->AddBody(*message, 1);
  store_->AddEntry(1, server::StoredEntry{0, id, 1});
  ASSERT_TRUE(LoadAndWait(1, {server::LoadRequest{0, id, false}}).has_value());
  const uint64_t batch = store_->last_write_batch();
  EXPECT_TRUE(RunUntil([&] { return store_->synced_batch() >= batch; }))
      << "waiting for batch " << batch << ", synced " << store_->synced_batch();
  EXPECT_TRUE(SameMessage(LoadBody(id), *message));
}

TEST_F(RocksStore, LoadAnswersInRequestOrderWithEmptyRefsForMissingMessages) {
  const server::MessageRef first = MakeMessage("first");
  const server::MessageRef second = MakeMessage("second", false);
  const server::MessageRef third = MakeMessage("third");
  const uint64_t id = store_->AddBody(*first, 1);
  store_->PageOut(3, 9, *second);
  ASSERT_TRUE(Settle());
  const uint64_t pending_id = store_->AddBody(*third, 1);  // answered from the pending batch
  const auto loaded =
      LoadAndWait(3, {server::LoadRequest{9, 0, true}, server::LoadRequest{1, id + 100, false},
                      server::LoadRequest{2, pending_id, false}, server::LoadRequest{1, id, false},
                      server::LoadRequest{10, 0, true}});
  ASSERT_TRUE(loaded.has_value());
  ASSERT_EQ(loaded->size(), 5u);
  EXPECT_TRUE(SameMessage((*loaded)[0], *second));
  EXPECT_FALSE((*loaded)[1]);
  EXPECT_TRUE(SameMessage((*loaded)[2], *third));
  EXPECT_TRUE(SameMessage((*loaded)[3], *first));
  EXPECT_FALSE((*loaded)[4]);
  // LoadNow gives the same answers without the loop.
  const auto now = store_->LoadNow(
      3, {server::LoadRequest{1, id, false}, server::LoadRequest{2, pending_id, false},
          server::LoadRequest{9, 0, true}, server::LoadRequest{1, id + 100, false}});
  ASSERT_EQ(now.size(), 4u);
  EXPECT_TRUE(SameMessage(now[0], *first));
  EXPECT_TRUE(SameMessage(now[1], *third));
  EXPECT_TRUE(SameMessage(now[2], *second));
  EXPECT_FALSE(now[3]);
}

TEST_F(RocksStore, RemovedPagedMessageIsGoneWhetherWrittenOrNot) {
  const server::MessageRef written = MakeMessage("written", false);
  const server::MessageRef never = MakeMessage("never", false);
  store_->PageOut(1, 1, *written);
  ASSERT_TRUE(Settle());
  ASSERT_TRUE(SameMessage(LoadPaged(1, 1), *written));
  store_->RemovePaged(1, 1);
  store_->PageOut(1, 2, *never);
  store_->RemovePaged(1, 2);
  ASSERT_TRUE(Settle());
  EXPECT_FALSE(LoadPaged(1, 1));
  EXPECT_FALSE(LoadPaged(1, 2));
}

TEST_F(RocksStore, PagedFamilyIsEmptiedAtReopen) {
  const server::MessageRef message = MakeMessage("paged", false);
  store_->PageOut(1, 1, *message);
  ASSERT_TRUE(Settle());
  ASSERT_TRUE(SameMessage(LoadPaged(1, 1), *message));
  Close();
  {
    // Paged records are written without the log, so a clean close may lose them anyway;
    // put one there durably, as a crash after a flush would leave it.
    RawDb db(dir_, /*writable=*/true);
    ASSERT_TRUE(db.ok()) << db.error();
    std::string record;
    storage::EncodeMessageHeader(*message, &record);
    record.append(message->body());
    ASSERT_TRUE(
        db.db()
            ->Put(rocksdb::WriteOptions(), db.Family("paged"), storage::QueueSeqKey(1, 1), record)
            .ok());
    ASSERT_TRUE(db.db()->Flush(rocksdb::FlushOptions(), db.Family("paged")).ok());
    ASSERT_EQ(db.Keys("paged").size(), 1u);
  }
  Open();
  Recover();
  EXPECT_FALSE(LoadPaged(1, 1));
  Close();
  RawDb db(dir_);
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_TRUE(db.Keys("paged").empty());
}

TEST_F(RocksStore, DeliveredFlagComesBackInRecover) {
  const uint64_t queue = store_->NewQueueId();
  store_->PutQueue(QueueRecord("q", queue));
  std::vector<server::MessageRef> messages;
  std::vector<server::StoredEntry> entries;
  for (uint64_t seq = 0; seq < 3; ++seq) {
    messages.push_back(MakeMessage("m" + std::to_string(seq)));
    entries.push_back(server::StoredEntry{seq, store_->AddBody(*messages.back(), 1), 2});
    store_->AddEntry(queue, entries.back());
  }
  // Entry 0: delivered in the batch that added it; entry 1: in a later batch.
  entries[0].delivered = true;
  store_->UpdateEntry(queue, entries[0]);
  ASSERT_TRUE(Settle());
  entries[1].delivered = true;
  store_->UpdateEntry(queue, entries[1]);
  Reopen();
  const std::vector<server::StoredEntry> recovered = EntriesOf(Recover(), queue);
  ASSERT_EQ(recovered.size(), 3u);
  EXPECT_TRUE(recovered[0].delivered);
  EXPECT_TRUE(recovered[1].delivered);
  EXPECT_FALSE(recovered[2].delivered);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(recovered[i].body_id, entries[i].body_id);
    EXPECT_TRUE(SameMessage(LoadBody(entries[i].body_id), *messages[i]));
  }
}

TEST_F(RocksStore, EntryUpdatedThenRemovedInOneBatchIsDeleted) {
  const uint64_t queue = store_->NewQueueId();
  store_->PutQueue(QueueRecord("q", queue));
  const server::MessageRef message = MakeMessage("m");
  server::StoredEntry entry{0, store_->AddBody(*message, 1), 1};
  store_->AddEntry(queue, entry);
  ASSERT_TRUE(Settle());
  entry.delivered = true;
  store_->UpdateEntry(queue, entry);
  store_->RemoveEntry(queue, entry);
  Reopen();
  EXPECT_TRUE(Recover().entries.empty());
  EXPECT_FALSE(LoadBody(entry.body_id));
}

TEST_F(RocksStore, OrphanEntriesAreDroppedAtRecover) {
  const uint64_t kept = store_->NewQueueId();
  const uint64_t deleted = store_->NewQueueId();
  const uint64_t never_recorded = store_->NewQueueId();
  store_->PutQueue(QueueRecord("kept", kept));
  store_->PutQueue(QueueRecord("deleted", deleted));
  const server::MessageRef message = MakeMessage("m");
  std::vector<uint64_t> orphan_bodies;
  for (uint64_t q : {kept, deleted, never_recorded}) {
    for (uint64_t seq = 0; seq < 2; ++seq) {
      const uint64_t id = store_->AddBody(*message, 1);
      store_->AddEntry(q, server::StoredEntry{seq, id, 1});
      if (q != kept) orphan_bodies.push_back(id);
    }
  }
  store_->DeleteQueue("/", "deleted");
  Reopen();
  const server::RecoveredState state = Recover();
  ASSERT_EQ(state.entries.size(), 1u);
  EXPECT_EQ(state.entries[0].first, kept);
  EXPECT_EQ(state.entries[0].second.size(), 2u);
  // Their ids are not handed out again.
  EXPECT_GT(store_->NewQueueId(), never_recorded);
  // The drop is written: the next start finds nothing of them.
  ASSERT_TRUE(Settle());
  for (uint64_t id : orphan_bodies) EXPECT_FALSE(LoadBody(id)) << "body " << id;
  Close();
  RawDb db(dir_);
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.Keys("index"), (std::vector<std::string>{storage::QueueSeqKey(kept, 0),
                                                        storage::QueueSeqKey(kept, 1)}));
  EXPECT_EQ(db.Keys("bodies").size(), 2u);
}

}  // namespace
}  // namespace warren::test
