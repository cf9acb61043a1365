// Tests for server/delayed_exchange.*: how x-delay and x-delayed-type are read, how a
// delayed exchange routes (held, or at once), and the hold: due order with FIFO for equal
// due times, one timer re-armed for an earlier message, far-away delays that stay held,
// restored messages already due, and dropping.

#include "server/delayed_exchange.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "amqp/encoder.h"
#include "amqp/generated/properties.h"
#include "server/queue.h"

namespace warren::server {
namespace {

constexpr int64_t kYearMs = int64_t{365} * 24 * 3600 * 1000;

// A message to `exchange` whose headers are `headers`.
MessageRef MakeMessage(std::string body, amqp::FieldTable headers = {}) {
  amqp::BasicProperties properties;
  if (!headers.empty()) properties.headers = std::move(headers);
  std::string raw;
  amqp::Encoder enc(&raw);
  properties.Encode(enc);
  return MessageRef(Message::Create("d", "", raw, body, false));
}

// Takes every ready message of `queue`; returns their bodies in order.
std::vector<std::string> TakeAll(Queue* queue) {
  std::vector<std::string> bodies;
  while (auto m = queue->Take()) bodies.emplace_back(m->message->body());
  return bodies;
}

TEST(DelayOf, ReadsIntegersAsTheyAre) {
  EXPECT_EQ(DelayOf({{"x-delay", int8_t{-3}}}), -3);
  EXPECT_EQ(DelayOf({{"x-delay", uint8_t{200}}}), 200);
  EXPECT_EQ(DelayOf({{"x-delay", int16_t{-300}}}), -300);
  EXPECT_EQ(DelayOf({{"x-delay", uint16_t{60000}}}), 60000);
  EXPECT_EQ(DelayOf({{"x-delay", int32_t{5000}}}), 5000);
  EXPECT_EQ(DelayOf({{"x-delay", uint32_t{4294967295u}}}), 4294967295);
  EXPECT_EQ(DelayOf({{"x-delay", int64_t{100} * kYearMs}}), 100 * kYearMs);
}

TEST(DelayOf, TruncatesFloatsAndDecimalsAndParsesDecimalStrings) {
  EXPECT_EQ(DelayOf({{"x-delay", 250.9}}), 250);
  EXPECT_EQ(DelayOf({{"x-delay", -0.5f}}), 0);
  EXPECT_EQ(DelayOf({{"x-delay", 1e300}}), int64_t{9'200'000'000'000'000'000});
  EXPECT_EQ(DelayOf({{"x-delay", std::numeric_limits<double>::quiet_NaN()}}), 0);
  EXPECT_EQ(DelayOf({{"x-delay", amqp::Decimal{2, 12345}}}), 123);
  EXPECT_EQ(DelayOf({{"x-delay", "1500"}}), 1500);
  EXPECT_EQ(DelayOf({{"x-delay", "-7"}}), -7);
}

TEST(DelayOf, IsZeroWithoutAUsableHeader) {
  EXPECT_EQ(DelayOf({}), 0);
  EXPECT_EQ(DelayOf({{"x-other", int32_t{5}}}), 0);
  EXPECT_EQ(DelayOf({{"x-delay", true}}), 0);
  EXPECT_EQ(DelayOf({{"x-delay", "12abc"}}), 0);
  EXPECT_EQ(DelayOf({{"x-delay", ""}}), 0);
  EXPECT_EQ(DelayOf({{"x-delay", amqp::Void{}}}), 0);
  EXPECT_EQ(DelayOf({{"x-delay", amqp::FieldTable{{"x-delay", int32_t{5}}}}}), 0);
  EXPECT_EQ(DelayOf({{"x-delay", amqp::Timestamp{5}}}), 0);
}

TEST(DelayedTypeOf, NamesTheRoutingType) {
  ExchangeType type = ExchangeType::kDirect;
  ASSERT_TRUE(DelayedTypeOf({{"x-delayed-type", "topic"}}, &type).ok());
  EXPECT_EQ(type, ExchangeType::kTopic);
  ASSERT_TRUE(DelayedTypeOf({{"x-delayed-type", "headers"}}, &type).ok());
  EXPECT_EQ(type, ExchangeType::kHeaders);
}

TEST(DelayedTypeOf, MissingOrNotAStringIs406AndUnknownIs503) {
  ExchangeType type = ExchangeType::kDirect;
  const amqp::Status missing = DelayedTypeOf({}, &type);
  EXPECT_EQ(missing.code(), amqp::ReplyCode::kPreconditionFailed);
  EXPECT_EQ(missing.text(), "Invalid argument, 'x-delayed-type' must bean existing exchnage type");
  EXPECT_EQ(DelayedTypeOf({{"x-delayed-type", int32_t{1}}}, &type).code(),
            amqp::ReplyCode::kPreconditionFailed);
  const amqp::Status unknown = DelayedTypeOf({{"x-delayed-type", "x-delayed-message"}}, &type);
  EXPECT_EQ(unknown.code(), amqp::ReplyCode::kCommandInvalid);
  EXPECT_EQ(unknown.text(), "invalid exchange type 'x-delayed-message'");
}

class DelayedExchangeTest : public ::testing::Test {
 protected:
  DelayedExchangeTest() { exchange_.Bind(Binding{&queue_, "", {}}); }

  // Runs the loop until `done` or a bounded wait; returns whether `done` came true.
  bool RunUntil(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.run_one_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  // Runs the loop for `duration`: used to show that something does NOT happen.
  void RunFor(std::chrono::milliseconds duration) {
    RunUntil([] { return false; }, duration);
  }

  boost::asio::io_context io_;
  Queue queue_{nullptr, "q", {}};
  Exchange exchange_{"d", ExchangeType::kFanout, {}, /*delayed=*/true};
  DelayedExchange held_{io_, /*store=*/nullptr, "/", &exchange_};
};

TEST_F(DelayedExchangeTest, ExchangeHoldsAMessageWithAPositiveDelayAndRoutesOthers) {
  const MessageRef later = MakeMessage("later", {{"x-delay", int32_t{10}}});
  RouteResult result;
  exchange_.Route("", LazyHeaders(later->properties()), &result);
  EXPECT_TRUE(result.queues.empty());
  EXPECT_EQ(result.delayed, (std::vector<const Exchange*>{&exchange_}));
  EXPECT_EQ(result.delay, 10);
  EXPECT_TRUE(result.used_headers);  // never a cached route

  RouteResult spent;
  spent.delay_spent = true;
  exchange_.Route("", LazyHeaders(later->properties()), &spent);
  EXPECT_EQ(spent.queues, (std::vector<Queue*>{&queue_}));
  EXPECT_TRUE(spent.delayed.empty());

  for (int32_t delay : {0, -10}) {
    const MessageRef now = MakeMessage("now", {{"x-delay", delay}});
    RouteResult at_once;
    exchange_.Route("", LazyHeaders(now->properties()), &at_once);
    EXPECT_EQ(at_once.queues, (std::vector<Queue*>{&queue_})) << delay;
    EXPECT_TRUE(at_once.delayed.empty());
  }
}

TEST_F(DelayedExchangeTest, ReleasesInDueOrderFifoForEqualDueTimes) {
  held_.Hold(MakeMessage("c"), 80);
  held_.Hold(MakeMessage("a1"), 30);
  held_.Hold(MakeMessage("b"), 50);
  held_.Hold(MakeMessage("a2"), 30);
  EXPECT_EQ(held_.size(), 4u);
  EXPECT_EQ(queue_.message_count(), 0u);
  ASSERT_TRUE(RunUntil([&] { return queue_.message_count() == 4; }));
  EXPECT_EQ(TakeAll(&queue_), (std::vector<std::string>{"a1", "a2", "b", "c"}));
  EXPECT_EQ(held_.size(), 0u);
}

TEST_F(DelayedExchangeTest, RestoredMessagesOrderBySequenceWithinADueTime) {
  const int64_t due = NowMs() + 20;
  held_.Restore(due, 7, MakeMessage("seq7"));
  held_.Restore(due, 3, MakeMessage("seq3"));
  held_.Restore(due - 1, 9, MakeMessage("earlier"));
  ASSERT_TRUE(RunUntil([&] { return queue_.message_count() == 3; }));
  EXPECT_EQ(TakeAll(&queue_), (std::vector<std::string>{"earlier", "seq3", "seq7"}));
}

TEST_F(DelayedExchangeTest, RestoredMessageWhoseTimePassedIsReleasedAtTheNextTurn) {
  held_.Restore(NowMs() - 60'000, 1, MakeMessage("overdue"));
  EXPECT_EQ(queue_.message_count(), 0u);  // not from within Restore
  io_.poll();
  EXPECT_EQ(TakeAll(&queue_), (std::vector<std::string>{"overdue"}));
}

TEST_F(DelayedExchangeTest, FarAwayDelaysStayHeldWhileANearerOneIsReleased) {
  held_.Hold(MakeMessage("years"), 100 * kYearMs);
  held_.Hold(MakeMessage("max"), std::numeric_limits<int64_t>::max());
  held_.Hold(MakeMessage("soon"), 20);  // re-arms the one timer for an earlier time
  ASSERT_TRUE(RunUntil([&] { return queue_.message_count() == 1; }, std::chrono::seconds(2)));
  RunFor(std::chrono::milliseconds(50));
  EXPECT_EQ(TakeAll(&queue_), (std::vector<std::string>{"soon"}));
  EXPECT_EQ(held_.size(), 2u);
}

TEST_F(DelayedExchangeTest, ReleaseRoutesWithTheBindingsOfTheDueTime) {
  Queue late(nullptr, "late", {});
  held_.Hold(MakeMessage("m"), 20);
  exchange_.Unbind(Binding{&queue_, "", {}});
  exchange_.Bind(Binding{&late, "", {}});
  ASSERT_TRUE(RunUntil([&] { return late.message_count() == 1; }));
  EXPECT_EQ(queue_.message_count(), 0u);
}

TEST_F(DelayedExchangeTest, DroppedMessagesAreNeverReleased) {
  held_.Hold(MakeMessage("a"), 10);
  held_.Hold(MakeMessage("b"), 20);
  held_.Drop();
  EXPECT_EQ(held_.size(), 0u);
  RunFor(std::chrono::milliseconds(60));
  EXPECT_EQ(queue_.message_count(), 0u);
}

}  // namespace
}  // namespace warren::server
