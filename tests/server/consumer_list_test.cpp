// ConsumerList: consumer priorities, round-robin among equals, single active consumer.

#include "server/consumer_list.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "server/queue.h"

namespace warren::server {
namespace {

// A sink whose consumers can take a message unless their tag is in `blocked`.
class FakeSink : public DeliverySink {
 public:
  bool CanDeliver(const Consumer& consumer) const override {
    return blocked.count(consumer.tag) == 0;
  }
  void Deliver(Consumer*, QueuedMessage) override {}

  std::set<std::string> blocked;
};

Consumer MakeConsumer(FakeSink* sink, std::string tag, int64_t priority = 0) {
  Consumer c;
  c.channel = sink;
  c.tag = std::move(tag);
  c.priority = priority;
  return c;
}

// The tags of the next `n` picks ("-" when nobody could take a message).
std::vector<std::string> Picks(ConsumerList* list, int n) {
  std::vector<std::string> tags;
  for (int i = 0; i < n; ++i) {
    Consumer* c = list->Next();
    tags.push_back(c != nullptr ? c->tag : "-");
  }
  return tags;
}

using Tags = std::vector<std::string>;

TEST(ConsumerList, EmptyListPicksNobody) {
  ConsumerList list;
  EXPECT_EQ(list.Next(), nullptr);
  EXPECT_TRUE(list.empty());
}

TEST(ConsumerList, EqualPrioritiesTakeTurnsInRegistrationOrder) {
  FakeSink sink;
  Consumer a = MakeConsumer(&sink, "a"), b = MakeConsumer(&sink, "b"), c = MakeConsumer(&sink, "c");
  ConsumerList list;
  for (Consumer* x : {&a, &b, &c}) list.Add(x);
  EXPECT_EQ(Picks(&list, 5), (Tags{"a", "b", "c", "a", "b"}));
}

TEST(ConsumerList, BlockedConsumerIsSkippedAndRejoinsItsTurn) {
  FakeSink sink;
  Consumer a = MakeConsumer(&sink, "a"), b = MakeConsumer(&sink, "b"), c = MakeConsumer(&sink, "c");
  ConsumerList list;
  for (Consumer* x : {&a, &b, &c}) list.Add(x);
  sink.blocked = {"b"};
  EXPECT_EQ(Picks(&list, 4), (Tags{"a", "c", "a", "c"}));
  sink.blocked.clear();
  EXPECT_EQ(Picks(&list, 3), (Tags{"a", "b", "c"}));
}

TEST(ConsumerList, HighestPriorityConsumerTakesEverythingItCan) {
  FakeSink sink;
  Consumer low = MakeConsumer(&sink, "low", 1), high = MakeConsumer(&sink, "high", 10);
  Consumer mid = MakeConsumer(&sink, "mid", 5);
  ConsumerList list;
  for (Consumer* x : {&low, &high, &mid}) list.Add(x);
  EXPECT_EQ(Picks(&list, 3), (Tags{"high", "high", "high"}));
}

TEST(ConsumerList, LowerPriorityServedOnlyWhileEveryHigherOneIsBlocked) {
  FakeSink sink;
  Consumer low = MakeConsumer(&sink, "low", -5), h1 = MakeConsumer(&sink, "h1", 3);
  Consumer h2 = MakeConsumer(&sink, "h2", 3);
  ConsumerList list;
  for (Consumer* x : {&low, &h1, &h2}) list.Add(x);
  EXPECT_EQ(Picks(&list, 3), (Tags{"h1", "h2", "h1"}));
  sink.blocked = {"h1"};
  EXPECT_EQ(Picks(&list, 2), (Tags{"h2", "h2"}));
  sink.blocked = {"h1", "h2"};
  EXPECT_EQ(Picks(&list, 2), (Tags{"low", "low"}));
  sink.blocked = {"h1", "h2", "low"};
  EXPECT_EQ(Picks(&list, 1), (Tags{"-"}));
}

TEST(ConsumerList, RemovingAConsumerKeepsTheTurnOrder) {
  FakeSink sink;
  Consumer a = MakeConsumer(&sink, "a"), b = MakeConsumer(&sink, "b"), c = MakeConsumer(&sink, "c");
  ConsumerList list;
  for (Consumer* x : {&a, &b, &c}) list.Add(x);
  EXPECT_EQ(Picks(&list, 2), (Tags{"a", "b"}));
  EXPECT_TRUE(list.Remove(&a));
  EXPECT_FALSE(list.Remove(&a));
  EXPECT_EQ(Picks(&list, 3), (Tags{"c", "b", "c"}));
  EXPECT_EQ(list.size(), 2u);
}

TEST(ConsumerList, RemovingTheLastOfAPriorityFallsBackToTheNextPriority) {
  FakeSink sink;
  Consumer low = MakeConsumer(&sink, "low", 0), high = MakeConsumer(&sink, "high", 7);
  ConsumerList list;
  list.Add(&low);
  list.Add(&high);
  EXPECT_EQ(Picks(&list, 1), (Tags{"high"}));
  list.Remove(&high);
  EXPECT_EQ(Picks(&list, 2), (Tags{"low", "low"}));
}

TEST(ConsumerList, AllIsInRegistrationOrder) {
  FakeSink sink;
  Consumer a = MakeConsumer(&sink, "a", 1), b = MakeConsumer(&sink, "b", 9);
  ConsumerList list;
  list.Add(&a);
  list.Add(&b);
  EXPECT_EQ(list.all(), (std::vector<Consumer*>{&a, &b}));
}

TEST(ConsumerList, SingleActiveConsumerIsTheFirstRegisteredWhateverThePriorities) {
  FakeSink sink;
  Consumer first = MakeConsumer(&sink, "first", 0), second = MakeConsumer(&sink, "second", 100);
  ConsumerList list(/*single_active=*/true);
  list.Add(&first);
  list.Add(&second);
  EXPECT_EQ(list.active(), &first);
  EXPECT_EQ(Picks(&list, 3), (Tags{"first", "first", "first"}));
}

TEST(ConsumerList, BlockedSingleActiveConsumerIsNotReplaced) {
  FakeSink sink;
  Consumer first = MakeConsumer(&sink, "first"), second = MakeConsumer(&sink, "second");
  ConsumerList list(/*single_active=*/true);
  list.Add(&first);
  list.Add(&second);
  sink.blocked = {"first"};
  EXPECT_EQ(Picks(&list, 1), (Tags{"-"}));
}

TEST(ConsumerList, NextRegisteredConsumerTakesOverWhenTheActiveOneGoes) {
  FakeSink sink;
  Consumer a = MakeConsumer(&sink, "a"), b = MakeConsumer(&sink, "b"), c = MakeConsumer(&sink, "c");
  ConsumerList list(/*single_active=*/true);
  for (Consumer* x : {&a, &b, &c}) list.Add(x);
  list.Remove(&b);  // not the active one: nothing changes
  EXPECT_EQ(list.active(), &a);
  list.Remove(&a);
  EXPECT_EQ(list.active(), &c);
  EXPECT_EQ(Picks(&list, 2), (Tags{"c", "c"}));
  list.Remove(&c);
  EXPECT_EQ(list.active(), nullptr);
  EXPECT_EQ(list.Next(), nullptr);
}

TEST(ConsumerList, WithoutSingleActiveConsumerNoneIsActive) {
  FakeSink sink;
  Consumer a = MakeConsumer(&sink, "a");
  ConsumerList list;
  list.Add(&a);
  EXPECT_EQ(list.active(), nullptr);
}

// Through Queue: the argument switches single active consumer on, priorities order Dispatch.

MessageRef MakeMessage(std::string body) {
  return MessageRef(Message::Create("", "q", "", body, false));
}

// A sink that records which consumer got each message.
class RecordingSink : public FakeSink {
 public:
  void Deliver(Consumer* consumer, QueuedMessage) override { tags.push_back(consumer->tag); }
  Tags tags;
};

TEST(QueueConsumers, SingleActiveConsumerArgumentSendsEverythingToTheFirst) {
  QueueOptions options;
  options.arguments.Set("x-single-active-consumer", true);
  Queue queue(nullptr, "q", options);
  EXPECT_TRUE(queue.single_active_consumer());
  RecordingSink sink;
  Consumer a = MakeConsumer(&sink, "a"), b = MakeConsumer(&sink, "b");
  queue.AddConsumer(&a);
  queue.AddConsumer(&b);
  for (const char* body : {"1", "2", "3"}) queue.Enqueue(MakeMessage(body));
  EXPECT_EQ(sink.tags, (Tags{"a", "a", "a"}));
}

TEST(QueueConsumers, FalseSingleActiveConsumerArgumentKeepsTurns) {
  QueueOptions options;
  options.arguments.Set("x-single-active-consumer", false);
  Queue queue(nullptr, "q", options);
  EXPECT_FALSE(queue.single_active_consumer());
  RecordingSink sink;
  Consumer a = MakeConsumer(&sink, "a"), b = MakeConsumer(&sink, "b");
  queue.AddConsumer(&a);
  queue.AddConsumer(&b);
  for (const char* body : {"1", "2", "3"}) queue.Enqueue(MakeMessage(body));
  EXPECT_EQ(sink.tags, (Tags{"a", "b", "a"}));
}

TEST(QueueConsumers, DispatchPrefersTheHigherPriority) {
  Queue queue(nullptr, "q", {});
  RecordingSink sink;
  Consumer low = MakeConsumer(&sink, "low", 0), high = MakeConsumer(&sink, "high", 2);
  queue.AddConsumer(&low);
  queue.AddConsumer(&high);
  for (const char* body : {"1", "2"}) queue.Enqueue(MakeMessage(body));
  sink.blocked = {"high"};
  queue.Enqueue(MakeMessage("3"));
  EXPECT_EQ(sink.tags, (Tags{"high", "high", "low"}));
  EXPECT_EQ(queue.consumers(), (std::vector<Consumer*>{&low, &high}));
}

}  // namespace
}  // namespace warren::server
