// Tests for the delayed family of storage/rocks_store.*: messages held by delayed exchanges
// read back in (exchange, due, sequence) order with every byte, single and whole-exchange
// removal, a delete and re-declare within one batch, and data directories from before the
// family existed.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "storage/keys.h"
#include "storage/rocks_store.h"
#include "tests/storage/store_fixture.h"

namespace warren::test {
namespace {

using DelayedStore = StoreFixture;

// A recovered message's identity.
using Id = std::tuple<std::string, std::string, int64_t, uint64_t>;

std::vector<Id> Ids(const server::RecoveredState& state) {
  std::vector<Id> ids;
  for (const auto& d : state.delayed) ids.emplace_back(d.vhost, d.exchange, d.due, d.seq);
  return ids;
}

TEST_F(DelayedStore, MessagesComeBackByExchangeThenDueThenSequenceExactly) {
  constexpr int64_t kFar = std::numeric_limits<int64_t>::max();
  const server::MessageRef a = MakeMessage(Body(10, 1));
  const server::MessageRef b = MakeMessage(Body(70000, 2), true, "other-key");
  const server::MessageRef c = MakeMessage("");
  store_->PutDelayed("/", "x", 2000, 3, *a);
  store_->PutDelayed("/", "x", 1000, 7, *b);
  store_->PutDelayed("/", "x", 2000, 1, *c);
  store_->PutDelayed("/", "x", kFar, 2, *a);
  store_->PutDelayed("v2", "x", 5, 1, *c);
  store_->PutDelayed("/", "w", 9000, 1, *b);
  store_->PutDelayed("/", "x", 3000, 9, *c);
  store_->RemoveDelayed("/", "x", 3000, 9);
  Reopen();
  const server::RecoveredState state = Recover();

  EXPECT_EQ(Ids(state), (std::vector<Id>{{"/", "w", 9000, 1},
                                         {"/", "x", 1000, 7},
                                         {"/", "x", 2000, 1},
                                         {"/", "x", 2000, 3},
                                         {"/", "x", kFar, 2},
                                         {"v2", "x", 5, 1}}));
  ASSERT_EQ(state.delayed.size(), 6u);
  EXPECT_TRUE(SameMessage(state.delayed[0].message, *b));
  EXPECT_TRUE(SameMessage(state.delayed[1].message, *b));
  EXPECT_TRUE(SameMessage(state.delayed[2].message, *c));
  EXPECT_TRUE(SameMessage(state.delayed[3].message, *a));
  EXPECT_TRUE(SameMessage(state.delayed[4].message, *a));
}

TEST_F(DelayedStore, RemovingAnExchangeDropsOnlyItsMessages) {
  const server::MessageRef m = MakeMessage("m");
  // Names that share a prefix, and the same name in another vhost.
  for (const char* exchange : {"x", "xy", "x\xff", ""}) {
    store_->PutDelayed("/", exchange, 1, 1, *m);
    store_->PutDelayed("/", exchange, std::numeric_limits<int64_t>::max(), 2, *m);
  }
  store_->PutDelayed("other", "x", 1, 1, *m);
  ASSERT_TRUE(Settle());  // the range delete meets records already on disk
  store_->RemoveDelayedExchange("/", "x");
  Reopen();
  const server::RecoveredState state = Recover();
  constexpr int64_t kMaxDue = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(Ids(state), (std::vector<Id>{{"/", "", 1, 1},
                                         {"/", "", kMaxDue, 2},
                                         {"/", "xy", 1, 1},
                                         {"/", "xy", kMaxDue, 2},
                                         {"/", "x\xff", 1, 1},
                                         {"/", "x\xff", kMaxDue, 2},
                                         {"other", "x", 1, 1}}));
}

TEST_F(DelayedStore, ExchangeDeletedAndDeclaredAgainInOneBatchKeepsItsNewMessages) {
  const server::MessageRef old_message = MakeMessage("old");
  const server::MessageRef new_message = MakeMessage("new");
  store_->PutDelayed("/", "x", 100, 1, *old_message);
  store_->PutDelayed("/", "x", 200, 2, *old_message);
  store_->RemoveDelayedExchange("/", "x");
  store_->PutDelayed("/", "x", 100, 1, *new_message);  // the same key again
  Reopen();
  const server::RecoveredState state = Recover();
  EXPECT_EQ(Ids(state), (std::vector<Id>{{"/", "x", 100, 1}}));
  ASSERT_EQ(state.delayed.size(), 1u);
  EXPECT_TRUE(SameMessage(state.delayed[0].message, *new_message));
}

TEST_F(DelayedStore, PutIsPartOfTheCurrentBatchAndSynced) {
  const uint64_t before = store_->last_write_batch();
  store_->PutDelayed("/", "x", 1, 1, *MakeMessage("m"));
  const uint64_t batch = store_->last_write_batch();
  EXPECT_GT(batch, before);
  ASSERT_TRUE(Settle());
  EXPECT_GE(store_->synced_batch(), batch);
  Close();
  RawDb db(dir_);
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.Keys("delayed"), (std::vector<std::string>{storage::DelayedKey("/", "x", 1, 1)}));
}

TEST_F(DelayedStore, DataDirectoryWithoutTheDelayedFamilyOpens) {
  store_->PutVhost("/");
  Reopen();
  Close();
  {
    // As a data directory written before delayed exchanges: no such family.
    RawDb db(dir_, /*writable=*/true);
    ASSERT_TRUE(db.ok()) << db.error();
    ASSERT_NE(db.Family("delayed"), nullptr);
    ASSERT_TRUE(db.db()->DropColumnFamily(db.Family("delayed")).ok());
  }
  {
    RawDb db(dir_);
    ASSERT_TRUE(db.ok()) << db.error();
    ASSERT_EQ(db.Family("delayed"), nullptr);
  }
  Open();
  server::RecoveredState state = Recover();
  EXPECT_EQ(state.vhosts, (std::vector<std::string>{"/"}));
  EXPECT_TRUE(state.delayed.empty());
  const server::MessageRef m = MakeMessage("after");
  store_->PutDelayed("/", "x", 1, 1, *m);
  Reopen();
  state = Recover();
  ASSERT_EQ(state.delayed.size(), 1u);
  EXPECT_TRUE(SameMessage(state.delayed[0].message, *m));
}

}  // namespace
}  // namespace warren::test
