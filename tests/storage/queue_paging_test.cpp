// Tests for server/queue.* paging on a real RocksStore: a queue keeps at most its memory
// budget of bodies, pages out the rest (transient messages to the paged area, persistent
// ones left in the store), reads them back in order ahead of a consumer, serves basic.get
// from a paged-out head, forgets what it stored on purge and delete, drains restored
// entries, and lets the confirm of a message paged on arrival go out.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/queue.h"
#include "server/store.h"
#include "tests/storage/store_fixture.h"

namespace warren::test {
namespace {

using server::Consumer;
using server::LoadRequest;
using server::MessageRef;
using server::QueuedMessage;

// Body bytes held by a queue, as the test sees them come and go: kept at enqueue, read
// back by loads, handed to the consumer.
struct MemoryMeter {
  int64_t bytes = 0;
  int64_t peak = 0;
  void Add(int64_t n) {
    bytes += n;
    peak = std::max(peak, bytes);
  }
};

// A Store that forwards to the fixture's RocksStore and counts the reads a queue asks for.
class ObservedStore : public server::Store {
 public:
  ObservedStore(std::unique_ptr<storage::RocksStore>* store, MemoryMeter* meter)
      : store_(store), meter_(meter) {}

  amqp::Status Recover(server::RecoveredState* state) override { return s()->Recover(state); }
  void SetSyncCallback(std::function<void(uint64_t, const amqp::Status&)> cb) override {
    s()->SetSyncCallback(std::move(cb));
  }
  uint64_t last_write_batch() const override { return s()->last_write_batch(); }
  uint64_t synced_batch() const override { return s()->synced_batch(); }
  void PutVhost(std::string_view name) override { s()->PutVhost(name); }
  void PutUser(const server::StoredUser& user) override { s()->PutUser(user); }
  void PutPermission(const server::StoredPermission& p) override { s()->PutPermission(p); }
  void PutExchange(const server::StoredExchange& e) override { s()->PutExchange(e); }
  void DeleteExchange(std::string_view vhost, std::string_view name) override {
    s()->DeleteExchange(vhost, name);
  }
  void PutQueue(const server::StoredQueue& q) override { s()->PutQueue(q); }
  void DeleteQueue(std::string_view vhost, std::string_view name) override {
    s()->DeleteQueue(vhost, name);
  }
  void PutBinding(const server::StoredBinding& b) override { s()->PutBinding(b); }
  void DeleteBinding(const server::StoredBinding& b) override { s()->DeleteBinding(b); }
  void PutPolicy(const server::Policy& p) override { s()->PutPolicy(p); }
  void DeletePolicy(std::string_view vhost, std::string_view name) override {
    s()->DeletePolicy(vhost, name);
  }
  uint64_t NewQueueId() override { return s()->NewQueueId(); }
  uint64_t AddBody(const server::Message& message, uint32_t queue_refs) override {
    return s()->AddBody(message, queue_refs);
  }
  void AddEntry(uint64_t queue_id, const server::StoredEntry& entry) override {
    s()->AddEntry(queue_id, entry);
  }
  void UpdateEntry(uint64_t queue_id, const server::StoredEntry& entry) override {
    s()->UpdateEntry(queue_id, entry);
  }
  void RemoveEntry(uint64_t queue_id, const server::StoredEntry& entry) override {
    s()->RemoveEntry(queue_id, entry);
  }
  void DropBody(const server::StoredEntry& entry) override { s()->DropBody(entry); }
  void RemoveQueueEntries(uint64_t queue_id) override { s()->RemoveQueueEntries(queue_id); }
  void PageOut(uint64_t queue_id, uint64_t seq, const server::Message& message) override {
    ++page_outs;
    s()->PageOut(queue_id, seq, message);
  }
  void RemovePaged(uint64_t queue_id, uint64_t seq) override {
    ++paged_removals;
    s()->RemovePaged(queue_id, seq);
  }
  void PutDelayed(std::string_view vhost, std::string_view exchange, int64_t due, uint64_t seq,
                  const server::Message& message) override {
    s()->PutDelayed(vhost, exchange, due, seq, message);
  }
  void RemoveDelayed(std::string_view vhost, std::string_view exchange, int64_t due,
                     uint64_t seq) override {
    s()->RemoveDelayed(vhost, exchange, due, seq);
  }
  void RemoveDelayedExchange(std::string_view vhost, std::string_view exchange) override {
    s()->RemoveDelayedExchange(vhost, exchange);
  }
  void Load(uint64_t queue_id, std::vector<LoadRequest> requests,
            std::function<void(std::vector<MessageRef>)> done) override {
    ++loads;
    s()->Load(queue_id, std::move(requests),
              [this, done = std::move(done)](std::vector<MessageRef> messages) {
                ++loads_done;
                Count(messages);
                done(std::move(messages));
              });
  }
  std::vector<MessageRef> LoadNow(uint64_t queue_id,
                                  const std::vector<LoadRequest>& requests) override {
    ++load_nows;
    std::vector<MessageRef> messages = s()->LoadNow(queue_id, requests);
    Count(messages);
    return messages;
  }
  size_t queue_memory_budget() const override { return s()->queue_memory_budget(); }

  int page_outs = 0;
  int paged_removals = 0;
  int loads = 0;
  int loads_done = 0;
  int load_nows = 0;

 private:
  storage::RocksStore* s() const { return store_->get(); }
  void Count(const std::vector<MessageRef>& messages) {
    for (const MessageRef& m : messages) {
      if (m) meter_->Add(static_cast<int64_t>(m->body().size()));
    }
  }

  std::unique_ptr<storage::RocksStore>* store_;
  MemoryMeter* meter_;
};

// A consumer's channel: records deliveries, tells the queue of them as Channel does, and
// holds them unacknowledged up to `credit` (0: unlimited).
class Sink : public server::DeliverySink {
 public:
  explicit Sink(MemoryMeter* meter) : meter_(meter) {}

  bool CanDeliver(const Consumer& consumer) const override {
    return !paused && (credit == 0 || consumer.unacked < credit);
  }
  void Deliver(Consumer* consumer, QueuedMessage message) override {
    ++consumer->unacked;
    consumer->queue->OnDelivered(&message);
    meter_->Add(-static_cast<int64_t>(message.size));
    delivered.push_back(message);
    held.push_back(std::move(message));
  }
  // basic.ack of everything held.
  void AckAll(Consumer* consumer) {
    for (const QueuedMessage& m : held) consumer->queue->OnSettled(m);
    held.clear();
    consumer->unacked = 0;
  }

  uint32_t credit = 0;
  bool paused = false;
  std::vector<QueuedMessage> delivered;
  std::vector<QueuedMessage> held;

 private:
  MemoryMeter* meter_;
};

class Paging : public StoreFixture {
 protected:
  static constexpr size_t kBudget = 4096;

  Paging() { budget_ = kBudget; }

  // A durable queue on the observed store.
  std::unique_ptr<server::Queue> MakeQueue(uint64_t id = 0, std::string name = "q") {
    server::QueueOptions options;
    options.durable = true;
    auto queue = std::make_unique<server::Queue>(nullptr, std::move(name), options);
    queue->AttachStore(&observed_, id != 0 ? id : observed_.NewQueueId(), true);
    return queue;
  }

  Consumer MakeConsumer(server::Queue* queue) {
    Consumer c;
    c.channel = &sink_;
    c.queue = queue;
    c.tag = "ctag";
    return c;
  }

  // Routes `message` to `queue` as Channel::Route does: a persistent message's body is
  // stored before the queue sees it.
  void Publish(server::Queue* queue, const MessageRef& message) {
    if (message->persistent() && queue->stores_messages()) {
      message->set_store_id(observed_.AddBody(*message, 1), false);
    }
    queue->Enqueue(message);
  }

  // Publishes `count` messages of assorted sizes (one larger than the budget), every third
  // one transient; keeps them in sent_.
  void PublishMany(server::Queue* queue, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      const size_t size = i == count / 2 ? 3 * kBudget : 100 + (i * 397) % 1400;
      MessageRef m = MakeMessage(Body(size, sent_.size()), i % 3 != 0);
      max_size_ = std::max(max_size_, size);
      sent_.push_back(m);
      Publish(queue, m);
    }
  }

  // Body bytes of the sent messages the queue still holds in memory (the store holds none
  // once settled).
  int64_t HeldBytes() const {
    int64_t bytes = 0;
    for (const MessageRef& m : sent_) {
      if (m->refs() > 1) bytes += static_cast<int64_t>(m->body().size());
    }
    return bytes;
  }

  // Runs the loop with the consumer acknowledging only when nothing else is happening, so
  // that the queue reads ahead as far as it ever does; until `count` deliveries.
  ::testing::AssertionResult Drain(Consumer* consumer, server::Queue* queue, size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (sink_.delivered.size() < count) {
      if (std::chrono::steady_clock::now() >= deadline) {
        return ::testing::AssertionFailure()
               << sink_.delivered.size() << " of " << count << " delivered; "
               << queue->message_count() << " ready";
      }
      if (io_->run_one_for(std::chrono::milliseconds(5)) == 0) {
        sink_.AckAll(consumer);
        queue->Dispatch();
      }
    }
    sink_.AckAll(consumer);
    return ::testing::AssertionSuccess();
  }

  // Whether the deliveries from `from` on are sent_[first...] in order, intact.
  void ExpectDeliveredInOrder(size_t from, size_t first, size_t count) {
    ASSERT_GE(sink_.delivered.size(), from + count);
    for (size_t i = 0; i < count; ++i) {
      const QueuedMessage& d = sink_.delivered[from + i];
      const MessageRef& want = sent_[first + i];
      EXPECT_TRUE(SameMessage(d.message, *want)) << "delivery " << from + i;
      if (i > 0) {
        EXPECT_GT(d.seq, sink_.delivered[from + i - 1].seq);
      }
      EXPECT_EQ(d.size, want->body().size());
      EXPECT_EQ(d.stored, want->persistent()) << "delivery " << from + i;
      if (d.stored) {
        EXPECT_EQ(d.message->store_id(), want->store_id()) << "delivery " << from + i;
      }
    }
  }

  MemoryMeter meter_;
  ObservedStore observed_{&store_, &meter_};
  Sink sink_{&meter_};
  std::vector<MessageRef> sent_;
  size_t max_size_ = 0;
};

TEST_F(Paging, QueueKeepsItsHeadInMemoryWithinTheBudgetAndPagesOutTheRest) {
  auto queue = MakeQueue();
  PublishMany(queue.get(), 60);
  ASSERT_TRUE(Settle());
  EXPECT_EQ(queue->message_count(), 60u);
  EXPECT_LE(HeldBytes(), static_cast<int64_t>(kBudget));
  // The messages in memory are a prefix of the queue, and not an empty one.
  size_t in_memory = 0;
  while (in_memory < sent_.size() && sent_[in_memory]->refs() > 1) ++in_memory;
  EXPECT_GT(in_memory, 0u);
  for (size_t i = in_memory; i < sent_.size(); ++i) {
    EXPECT_EQ(sent_[i]->refs(), 1u) << "message " << i << " is still in memory";
  }
  // Transient messages beyond it went to the paged area; persistent ones are stored.
  int transient_paged = 0;
  for (size_t i = in_memory; i < sent_.size(); ++i) transient_paged += !sent_[i]->persistent();
  EXPECT_EQ(observed_.page_outs, transient_paged);
  EXPECT_EQ(observed_.loads + observed_.load_nows, 0) << "nothing is read without a consumer";
}

TEST_F(Paging, ConsumerDrainsPagedQueueInOrderWithinTheBudget) {
  auto queue = MakeQueue();
  PublishMany(queue.get(), 300);
  ASSERT_TRUE(Settle());
  meter_.Add(HeldBytes());
  sink_.credit = 5;
  Consumer consumer = MakeConsumer(queue.get());
  queue->AddConsumer(&consumer);
  ASSERT_TRUE(Drain(&consumer, queue.get(), sent_.size()));
  ExpectDeliveredInOrder(0, 0, sent_.size());
  EXPECT_EQ(queue->message_count(), 0u);
  EXPECT_EQ(queue->ready_bytes(), 0u);
  // Reads went on in the background, never blocking the loop, and never held more than
  // the budget plus the message that crossed it.
  EXPECT_GT(observed_.loads, 1);
  EXPECT_EQ(observed_.load_nows, 0);
  EXPECT_EQ(meter_.bytes, 0);
  EXPECT_LE(meter_.peak, static_cast<int64_t>(kBudget + max_size_));
  // Nothing is left on disk: paged copies were removed as they were read, entries and
  // bodies as they were acknowledged.
  EXPECT_EQ(observed_.paged_removals, observed_.page_outs);
  ASSERT_TRUE(Settle());
  for (size_t seq = 0; seq < sent_.size(); ++seq) {
    EXPECT_FALSE(LoadPaged(queue->store_id(), seq)) << "paged copy of " << seq;
  }
  for (const MessageRef& m : sent_) {
    if (m->persistent()) {
      EXPECT_FALSE(LoadBody(m->store_id())) << "body " << m->store_id();
    }
  }
  const uint64_t id = queue->store_id();
  Reopen();
  EXPECT_TRUE(EntriesOf(Recover(), id).empty());
}

TEST_F(Paging, MessagesPublishedWhileDrainingFollowThePagedOnes) {
  auto queue = MakeQueue();
  PublishMany(queue.get(), 50);
  sink_.credit = 3;
  Consumer consumer = MakeConsumer(queue.get());
  queue->AddConsumer(&consumer);
  // Interleave publishing with draining.
  while (sent_.size() < 150) {
    PublishMany(queue.get(), 5);
    for (int i = 0; i < 3; ++i) io_->run_one_for(std::chrono::milliseconds(1));
    sink_.AckAll(&consumer);
    queue->Dispatch();
  }
  ASSERT_TRUE(Drain(&consumer, queue.get(), sent_.size()));
  ExpectDeliveredInOrder(0, 0, sent_.size());
  EXPECT_EQ(queue->message_count(), 0u);
}

TEST_F(Paging, GetOfAPagedOutHeadReturnsTheRightMessage) {
  auto queue = MakeQueue();
  PublishMany(queue.get(), 80);
  // basic.get reads synchronously: the loop never runs in this test.
  for (size_t i = 0; i < sent_.size(); ++i) {
    std::optional<QueuedMessage> got = queue->Take();
    ASSERT_TRUE(got.has_value()) << "message " << i;
    EXPECT_TRUE(SameMessage(got->message, *sent_[i])) << "message " << i;
    EXPECT_EQ(got->stored, sent_[i]->persistent());
    queue->OnSettled(*got);
  }
  EXPECT_FALSE(queue->Take().has_value());
  EXPECT_GT(observed_.load_nows, 0);
  EXPECT_EQ(observed_.loads, 0);
  // Each read took a window of the budget, not the whole backlog.
  EXPECT_GT(observed_.load_nows, 5);
  ASSERT_TRUE(Settle());
  for (const MessageRef& m : sent_) {
    if (m->persistent()) {
      EXPECT_FALSE(LoadBody(m->store_id()));
    }
  }
}

TEST_F(Paging, PurgeRemovesPagedCopiesAndStoredMessages) {
  auto queue = MakeQueue();
  PublishMany(queue.get(), 60);
  ASSERT_TRUE(Settle());
  std::vector<uint64_t> paged;
  for (uint64_t seq = 0; seq < sent_.size(); ++seq) {
    if (LoadPaged(queue->store_id(), seq)) paged.push_back(seq);
  }
  ASSERT_EQ(static_cast<int>(paged.size()), observed_.page_outs);
  ASSERT_FALSE(paged.empty());
  EXPECT_EQ(queue->Purge(), 60u);
  EXPECT_EQ(queue->message_count(), 0u);
  EXPECT_EQ(queue->ready_bytes(), 0u);
  EXPECT_FALSE(queue->Take().has_value());
  ASSERT_TRUE(Settle());
  for (uint64_t seq : paged) EXPECT_FALSE(LoadPaged(queue->store_id(), seq)) << seq;
  for (const MessageRef& m : sent_) {
    if (m->persistent()) {
      EXPECT_FALSE(LoadBody(m->store_id()));
    }
  }
  const uint64_t id = queue->store_id();
  Reopen();
  EXPECT_TRUE(EntriesOf(Recover(), id).empty());
}

TEST_F(Paging, PurgeDuringABackgroundReadLeavesTheQueueUsable) {
  auto queue = MakeQueue();
  PublishMany(queue.get(), 40);
  ASSERT_TRUE(Settle());
  // Take what is in memory, so that a consumer's arrival starts a read.
  size_t taken = 0;
  while (sent_[taken]->refs() > 1) {
    std::optional<QueuedMessage> got = queue->Take();
    ASSERT_TRUE(got.has_value());
    EXPECT_TRUE(SameMessage(got->message, *sent_[taken]));
    queue->OnSettled(*got);
    ++taken;
  }
  ASSERT_EQ(observed_.load_nows, 0);
  sink_.paused = true;
  Consumer consumer = MakeConsumer(queue.get());
  queue->AddConsumer(&consumer);
  ASSERT_EQ(observed_.loads, 1);
  EXPECT_EQ(queue->Purge(), 40u - taken);
  ASSERT_TRUE(RunUntil([&] { return observed_.loads_done == 1; }));
  EXPECT_EQ(queue->message_count(), 0u);

  // New messages, more than the budget, reach the consumer in order.
  sink_.delivered.clear();
  sink_.paused = false;
  const size_t first = sent_.size();
  PublishMany(queue.get(), 30);
  ASSERT_TRUE(Drain(&consumer, queue.get(), 30));
  ExpectDeliveredInOrder(0, first, 30);
  EXPECT_EQ(queue->message_count(), 0u);
}

TEST_F(Paging, DeleteForgetsEverythingTheQueueStored) {
  auto doomed = MakeQueue(0, "doomed");
  auto kept = MakeQueue(0, "kept");
  for (const server::Queue* q : {doomed.get(), kept.get()}) {
    observed_.PutQueue(server::StoredQueue{"", q->name(), q->store_id(), false, {}});
  }
  PublishMany(doomed.get(), 40);
  ASSERT_TRUE(Settle());
  // Two go out unacknowledged, more arrive in the batch that deletes the queue, and one
  // message is shared with the queue that stays.
  sink_.credit = 2;
  Consumer consumer = MakeConsumer(doomed.get());
  doomed->AddConsumer(&consumer);
  ASSERT_EQ(sink_.delivered.size(), 2u);
  doomed->RemoveConsumer(&consumer);
  PublishMany(doomed.get(), 5);
  const MessageRef shared = MakeMessage(Body(700, 1000));
  shared->set_store_id(observed_.AddBody(*shared, 2), true);
  doomed->Enqueue(shared);
  kept->Enqueue(shared);
  const MessageRef own = MakeMessage(Body(300, 1001));
  Publish(kept.get(), own);
  doomed->Delete();
  EXPECT_EQ(doomed->message_count(), 0u);
  sink_.AckAll(&consumer);  // settled after the deletion, as a channel does
  ASSERT_TRUE(Settle());

  for (uint64_t seq = 0; seq <= sent_.size(); ++seq) {
    EXPECT_FALSE(LoadPaged(doomed->store_id(), seq)) << "paged copy of " << seq;
  }
  for (const MessageRef& m : sent_) {
    if (m->persistent()) {
      EXPECT_FALSE(LoadBody(m->store_id())) << "body " << m->store_id();
    }
  }
  EXPECT_TRUE(SameMessage(LoadBody(shared->store_id()), *shared));
  const uint64_t doomed_id = doomed->store_id();
  const uint64_t kept_id = kept->store_id();
  doomed.reset();
  kept.reset();
  Reopen();
  const server::RecoveredState state = Recover();
  ASSERT_EQ(state.queues.size(), 1u);
  EXPECT_EQ(state.queues[0].name, "kept");
  EXPECT_TRUE(EntriesOf(state, doomed_id).empty());
  const std::vector<server::StoredEntry> entries = EntriesOf(state, kept_id);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].body_id, shared->store_id());
  EXPECT_TRUE(entries[0].shared);
  EXPECT_TRUE(SameMessage(LoadBody(shared->store_id()), *shared));
  EXPECT_TRUE(SameMessage(LoadBody(own->store_id()), *own));
}

TEST_F(Paging, RestoredQueueDrainsInOrderWithDeliveredMessagesRedelivered) {
  auto queue = MakeQueue();
  const uint64_t id = queue->store_id();
  observed_.PutQueue(server::StoredQueue{"/", "q", id, false, {}});
  PublishMany(queue.get(), 90);
  // Two go out and are never acknowledged: they come back redelivered.
  sink_.credit = 2;
  Consumer consumer = MakeConsumer(queue.get());
  queue->AddConsumer(&consumer);
  ASSERT_EQ(sink_.delivered.size(), 2u);
  queue->RemoveConsumer(&consumer);
  sink_.held.clear();
  queue.reset();
  Reopen();
  const std::vector<server::StoredEntry> entries = EntriesOf(Recover(), id);

  // Only the persistent messages were stored.
  std::vector<MessageRef> persistent;
  for (const MessageRef& m : sent_) {
    if (m->persistent()) persistent.push_back(m);
  }
  ASSERT_EQ(entries.size(), persistent.size());
  queue = MakeQueue(id);
  queue->Restore(entries);
  EXPECT_EQ(queue->message_count(), persistent.size());
  EXPECT_EQ(observed_.loads + observed_.load_nows, 0) << "bodies stay on disk until needed";

  // A message published after the restart goes after the restored ones.
  sent_ = persistent;
  PublishMany(queue.get(), 4);
  sink_.delivered.clear();
  sink_.credit = 4;
  consumer = MakeConsumer(queue.get());
  queue->AddConsumer(&consumer);
  ASSERT_TRUE(Drain(&consumer, queue.get(), sent_.size()));
  ExpectDeliveredInOrder(0, 0, sent_.size());
  // Of the two that went out, sent_[0] was transient (gone with the restart) and sent_[1]
  // persistent: stored as delivered, now the head.
  size_t redelivered = 0;
  for (const QueuedMessage& d : sink_.delivered) redelivered += d.redelivered;
  EXPECT_EQ(redelivered, 1u);
  EXPECT_TRUE(sink_.delivered[0].redelivered);
  EXPECT_GT(observed_.loads, 0);
}

// Channel::Route stores a persistent message's body, enqueues it, and then waits for
// last_write_batch() to be synced before confirming it. When the enqueue itself starts a
// read (the queue is paged and its consumer is waiting), the batch named afterwards must
// still come, with no further writes to carry it.
TEST_F(Paging, BatchNamedAfterEnqueueingAPagedMessageIsSynced) {
  auto queue = MakeQueue();
  sink_.credit = 1;
  Consumer consumer = MakeConsumer(queue.get());
  queue->AddConsumer(&consumer);
  Publish(queue.get(), MakeMessage(Body(1000, 1)));
  ASSERT_EQ(sink_.delivered.size(), 1u);  // and not acknowledged: no more credit
  ASSERT_TRUE(Settle());

  Publish(queue.get(), MakeMessage(Body(2 * kBudget, 2)));  // larger than the budget
  ASSERT_EQ(observed_.loads, 1);
  const uint64_t confirm_batch = observed_.last_write_batch();
  EXPECT_TRUE(RunUntil([&] { return observed_.synced_batch() >= confirm_batch; },
                       std::chrono::milliseconds(2000)))
      << "the publisher's confirm waits for batch " << confirm_batch
      << ", which nothing will ever write; synced " << observed_.synced_batch();
}

}  // namespace
}  // namespace warren::test
