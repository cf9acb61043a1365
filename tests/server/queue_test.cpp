// Queue delivery logic: FIFO order, round-robin, credit, requeue to original position.

#include "server/queue.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace warren::server {
namespace {

// A sink that records deliveries and gives each consumer `credit` messages at a time.
class FakeSink : public DeliverySink {
 public:
  bool CanDeliver(const Consumer& consumer) const override {
    return credit < 0 || consumer.unacked < static_cast<uint32_t>(credit);
  }
  void Deliver(Consumer* consumer, QueuedMessage message) override {
    ++consumer->unacked;
    delivered.push_back({consumer->tag, std::string(message.message->body()), message.redelivered});
    held.push_back(std::move(message));
  }

  struct Delivery {
    std::string tag;
    std::string body;
    bool redelivered;
    bool operator==(const Delivery&) const = default;
  };
  int credit = -1;  // -1: unlimited
  std::vector<Delivery> delivered;
  std::vector<QueuedMessage> held;
};

MessageRef MakeMessage(std::string body) {
  return MessageRef(Message::Create("", "q", "", body, false));
}

std::vector<std::string> Bodies(const std::vector<FakeSink::Delivery>& deliveries) {
  std::vector<std::string> out;
  for (const auto& d : deliveries) out.push_back(d.body);
  return out;
}

Consumer MakeConsumer(FakeSink* sink, Queue* queue, std::string tag) {
  Consumer c;
  c.channel = sink;
  c.queue = queue;
  c.tag = std::move(tag);
  return c;
}

TEST(Queue, HoldsMessagesUntilAConsumerArrivesThenDeliversInOrder) {
  Queue queue(nullptr, "q", {});
  for (const char* body : {"a", "b", "c"}) queue.Enqueue(MakeMessage(body));
  EXPECT_EQ(queue.message_count(), 3u);
  FakeSink sink;
  Consumer c = MakeConsumer(&sink, &queue, "c1");
  queue.AddConsumer(&c);
  EXPECT_EQ(Bodies(sink.delivered), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(queue.message_count(), 0u);
  EXPECT_TRUE(queue.has_had_consumers());
}

TEST(Queue, DeliversRoundRobinAcrossConsumers) {
  Queue queue(nullptr, "q", {});
  FakeSink sink;
  Consumer c1 = MakeConsumer(&sink, &queue, "c1");
  Consumer c2 = MakeConsumer(&sink, &queue, "c2");
  queue.AddConsumer(&c1);
  queue.AddConsumer(&c2);
  for (const char* body : {"1", "2", "3", "4"}) queue.Enqueue(MakeMessage(body));
  ASSERT_EQ(sink.delivered.size(), 4u);
  EXPECT_EQ(sink.delivered[0].tag, "c1");
  EXPECT_EQ(sink.delivered[1].tag, "c2");
  EXPECT_EQ(sink.delivered[2].tag, "c1");
  EXPECT_EQ(sink.delivered[3].tag, "c2");
}

TEST(Queue, StopsAtCreditAndResumesOnDispatch) {
  Queue queue(nullptr, "q", {});
  FakeSink sink;
  sink.credit = 2;
  Consumer c = MakeConsumer(&sink, &queue, "c");
  queue.AddConsumer(&c);
  for (const char* body : {"1", "2", "3", "4", "5"}) queue.Enqueue(MakeMessage(body));
  EXPECT_EQ(Bodies(sink.delivered), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(queue.message_count(), 3u);
  c.unacked = 0;  // two acks
  queue.Dispatch();
  EXPECT_EQ(Bodies(sink.delivered), (std::vector<std::string>{"1", "2", "3", "4"}));
}

TEST(Queue, SkipsConsumersWithoutCreditAndServesTheOthers) {
  Queue queue(nullptr, "q", {});
  FakeSink sink;
  sink.credit = 1;
  Consumer c1 = MakeConsumer(&sink, &queue, "c1");
  Consumer c2 = MakeConsumer(&sink, &queue, "c2");
  queue.AddConsumer(&c1);
  queue.AddConsumer(&c2);
  for (const char* body : {"1", "2", "3"}) queue.Enqueue(MakeMessage(body));
  ASSERT_EQ(sink.delivered.size(), 2u);
  EXPECT_EQ(sink.delivered[0].tag, "c1");
  EXPECT_EQ(sink.delivered[1].tag, "c2");
  c2.unacked = 0;
  queue.Dispatch();
  ASSERT_EQ(sink.delivered.size(), 3u);
  EXPECT_EQ(sink.delivered[2].tag, "c2");
}

TEST(Queue, RequeuedMessagesReturnToTheirOriginalPositionMarkedRedelivered) {
  Queue queue(nullptr, "q", {});
  for (const char* body : {"1", "2", "3", "4"}) queue.Enqueue(MakeMessage(body));
  std::optional<QueuedMessage> first = queue.Take();
  std::optional<QueuedMessage> second = queue.Take();
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(first->redelivered);
  // Requeued out of order: they still go back in front of "3", in their original order.
  queue.Requeue(std::move(*second));
  queue.Requeue(std::move(*first));
  FakeSink sink;
  Consumer c = MakeConsumer(&sink, &queue, "c");
  queue.AddConsumer(&c);
  EXPECT_EQ(sink.delivered,
            (std::vector<FakeSink::Delivery>{
                {"c", "1", true}, {"c", "2", true}, {"c", "3", false}, {"c", "4", false}}));
}

TEST(Queue, PurgeDropsReadyMessagesAndCountsThem) {
  Queue queue(nullptr, "q", {});
  for (const char* body : {"1", "2", "3"}) queue.Enqueue(MakeMessage(body));
  EXPECT_EQ(queue.Purge(), 3u);
  EXPECT_EQ(queue.message_count(), 0u);
  EXPECT_FALSE(queue.Take().has_value());
}

TEST(Queue, RemovedConsumerGetsNothingMoreAndRoundRobinContinues) {
  Queue queue(nullptr, "q", {});
  FakeSink sink;
  Consumer c1 = MakeConsumer(&sink, &queue, "c1");
  Consumer c2 = MakeConsumer(&sink, &queue, "c2");
  Consumer c3 = MakeConsumer(&sink, &queue, "c3");
  queue.AddConsumer(&c1);
  queue.AddConsumer(&c2);
  queue.AddConsumer(&c3);
  queue.Enqueue(MakeMessage("1"));  // c1
  queue.RemoveConsumer(&c2);
  queue.Enqueue(MakeMessage("2"));
  queue.Enqueue(MakeMessage("3"));
  ASSERT_EQ(sink.delivered.size(), 3u);
  EXPECT_EQ(sink.delivered[1].tag, "c3");
  EXPECT_EQ(sink.delivered[2].tag, "c1");
  EXPECT_EQ(queue.consumer_count(), 2u);
}

TEST(Queue, SharedMessageIsFreedWhenTheLastQueueDropsIt) {
  MessageRef message = MakeMessage("shared");
  Queue a(nullptr, "a", {});
  Queue b(nullptr, "b", {});
  a.Enqueue(message);
  b.Enqueue(message);
  EXPECT_EQ(message->refs(), 3u);
  a.Purge();
  EXPECT_EQ(message->refs(), 2u);
  b.Purge();
  EXPECT_EQ(message->refs(), 1u);
}

}  // namespace
}  // namespace warren::server
