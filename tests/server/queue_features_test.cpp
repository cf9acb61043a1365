// The queue features of RabbitMQ's x- arguments, below the protocol: priority ordering
// (ReadyList), argument checks and policy combination (QueueSettings), x-death bookkeeping
// (dead_letter), and TTL timers on a real event loop.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "amqp/encoder.h"
#include "server/dead_letter.h"
#include "server/message_edit.h"
#include "server/queue.h"
#include "server/queue_settings.h"
#include "server/ready_list.h"

namespace warren::server {
namespace {

using amqp::FieldArray;
using amqp::FieldTable;
using amqp::FieldValue;

std::string Encode(const amqp::BasicProperties& properties) {
  std::string out;
  amqp::Encoder enc(&out);
  properties.Encode(enc);
  return out;
}

MessageRef MakeMessage(std::string body, amqp::BasicProperties properties = {},
                       std::string routing_key = "q") {
  return MessageRef(Message::Create("ex", routing_key, Encode(properties), body, false));
}

MessageRef WithPriority(std::string body, uint8_t priority) {
  amqp::BasicProperties p;
  p.priority = priority;
  return MakeMessage(std::move(body), p);
}

QueuedMessage Entry(uint64_t seq, uint8_t priority) {
  QueuedMessage m;
  m.seq = seq;
  m.priority = priority;
  return m;
}

std::vector<uint64_t> Order(ReadyList* list) {
  std::vector<uint64_t> seqs;
  while (!list->empty()) seqs.push_back(list->PopFront().seq);
  return seqs;
}

TEST(ReadyList, DeliversHighestPriorityFirstAndFifoWithinAPriority) {
  ReadyList list(5);
  list.PushBack(Entry(1, 0));
  list.PushBack(Entry(2, 5));
  list.PushBack(Entry(3, 2));
  list.PushBack(Entry(4, 5));
  list.PushBack(Entry(5, 0));
  EXPECT_EQ(list.size(), 5u);
  EXPECT_EQ(Order(&list), (std::vector<uint64_t>{2, 4, 3, 1, 5}));
}

TEST(ReadyList, RequeueGoesBackToItsPlaceWithinItsPriority) {
  ReadyList list(3);
  for (uint64_t seq : {1, 2, 3, 4}) list.PushBack(Entry(seq, seq % 2 == 0 ? 3 : 1));
  QueuedMessage first = list.PopFront();  // seq 2, priority 3
  ASSERT_EQ(first.seq, 2u);
  list.Insert(std::move(first));
  ASSERT_NE(list.Find(3), nullptr);
  EXPECT_EQ(list.Remove(3).seq, 3u);
  EXPECT_EQ(list.Find(3), nullptr);
  EXPECT_EQ(Order(&list), (std::vector<uint64_t>{2, 4, 1}));
}

TEST(ReadyList, WithoutPrioritiesIsOneFifo) {
  ReadyList list;
  for (uint64_t seq : {1, 2, 3}) list.PushBack(Entry(seq, 0));
  EXPECT_EQ(Order(&list), (std::vector<uint64_t>{1, 2, 3}));
}

// A sink that takes everything and keeps the bodies in delivery order.
class TakeAll : public DeliverySink {
 public:
  bool CanDeliver(const Consumer&) const override { return open; }
  void Deliver(Consumer*, QueuedMessage message) override {
    bodies.emplace_back(message.message->body());
  }
  bool open = true;
  std::vector<std::string> bodies;
};

TEST(QueuePriority, ClampsToMaxPriorityAndTreatsNoPriorityAsZero) {
  QueueOptions options;
  options.arguments.Set("x-max-priority", int32_t{3});
  Queue queue(nullptr, "q", options);
  queue.Enqueue(MakeMessage("none"));
  queue.Enqueue(WithPriority("p9", 9));  // above the maximum: counts as 3
  queue.Enqueue(WithPriority("p3", 3));
  queue.Enqueue(WithPriority("p1", 1));
  TakeAll sink;
  Consumer c;
  c.channel = &sink;
  c.queue = &queue;
  queue.AddConsumer(&c);
  EXPECT_EQ(sink.bodies, (std::vector<std::string>{"p9", "p3", "p1", "none"}));
}

TEST(QueueSettings, ReadsEveryArgument) {
  FieldTable args{{"x-message-ttl", int32_t{500}},      {"x-expires", int64_t{1000}},
                  {"x-dead-letter-exchange", "dlx"},    {"x-dead-letter-routing-key", "rk"},
                  {"x-max-length", int16_t{10}},        {"x-max-length-bytes", uint32_t{2048}},
                  {"x-overflow", "reject-publish-dlx"}, {"x-max-priority", uint8_t{7}},
                  {"x-delivery-limit", int32_t{-4}},    {"x-single-active-consumer", true}};
  QueueSettings s;
  ASSERT_TRUE(ParseQueueArguments(args, "queue 'q' in vhost '/'", &s).ok());
  EXPECT_EQ(s.message_ttl, 500);
  EXPECT_EQ(s.expires, 1000);
  EXPECT_EQ(s.dead_letter_exchange, "dlx");
  EXPECT_EQ(s.dead_letter_routing_key, "rk");
  EXPECT_EQ(s.max_length, 10);
  EXPECT_EQ(s.max_length_bytes, 2048);
  EXPECT_EQ(s.overflow, Overflow::kRejectPublishDlx);
  EXPECT_EQ(s.max_priority, 7);
  EXPECT_EQ(s.delivery_limit, 0);  // negative acts as 0, as on quorum queues
  EXPECT_TRUE(s.single_active_consumer);
}

std::string ArgumentError(FieldTable args) {
  QueueSettings s;
  return ParseQueueArguments(args, "queue 'q' in vhost '/'", &s).text();
}

TEST(QueueSettings, RefusesWhatRabbitMqRefusesInItsWords) {
  EXPECT_EQ(ArgumentError({{"x-message-ttl", int32_t{-1}}}),
            "invalid arg 'x-message-ttl' for queue 'q' in vhost '/': {value_negative,-1}");
  EXPECT_EQ(ArgumentError({{"x-message-ttl", "10"}}),
            "invalid arg 'x-message-ttl' for queue 'q' in vhost '/': "
            "\"expected integer, got longstr\"");
  EXPECT_EQ(ArgumentError({{"x-expires", int32_t{0}}}),
            "invalid arg 'x-expires' for queue 'q' in vhost '/': {value_zero,0}");
  EXPECT_EQ(ArgumentError({{"x-max-priority", int32_t{256}}}),
            "invalid arg 'x-max-priority' for queue 'q' in vhost '/': {max_value_exceeded,256}");
  EXPECT_EQ(ArgumentError({{"x-overflow", "drop-tail"}}),
            "invalid arg 'x-overflow' for queue 'q' in vhost '/': invalid_overflow");
  EXPECT_EQ(ArgumentError({{"x-dead-letter-routing-key", "rk"}}),
            "invalid arg 'x-dead-letter-routing-key' for queue 'q' in vhost '/': "
            "routing_key_but_no_dlx_defined");
}

TEST(QueueSettings, ExpirationPropertyChecks) {
  EXPECT_EQ(ParseExpiration("1500"), 1500);
  EXPECT_EQ(ParseExpiration("+5"), 5);
  EXPECT_EQ(ParseExpiration(""), std::nullopt);
  EXPECT_EQ(ParseExpiration("5 "), std::nullopt);
  EXPECT_EQ(ValidateExpiration("abc").text(), "invalid expiration 'abc': no_integer");
  EXPECT_EQ(ValidateExpiration("-1").text(), "invalid expiration '-1': {value_negative,-1}");
  EXPECT_EQ(ValidateExpiration("1.5").text(), "invalid expiration '1.5': {leftover_string,\".5\"}");
}

TEST(QueueSettings, PolicyTakesTheLowerLimitButTheArgumentsExchanges) {
  FieldTable args{{"x-message-ttl", int32_t{500}},
                  {"x-dead-letter-exchange", "mine"},
                  {"x-overflow", "reject-publish"}};
  QueueSettings declared;
  ASSERT_TRUE(ParseQueueArguments(args, "q", &declared).ok());
  const nlohmann::json policy = {{"message-ttl", 100},          {"max-length", 7},
                                 {"dead-letter-exchange", "p"}, {"dead-letter-routing-key", "k"},
                                 {"overflow", "drop-head"},     {"expires", 9000}};
  const QueueSettings s = WithPolicy(args, declared, policy);
  EXPECT_EQ(s.message_ttl, 100);
  EXPECT_EQ(s.max_length, 7);
  EXPECT_EQ(s.expires, 9000);
  EXPECT_EQ(s.dead_letter_exchange, "mine");
  EXPECT_EQ(s.dead_letter_routing_key, "k");
  EXPECT_EQ(s.overflow, Overflow::kRejectPublish);
  const QueueSettings longer = WithPolicy(args, declared, {{"message-ttl", 900}});
  EXPECT_EQ(longer.message_ttl, 500);
}

const FieldTable& DeathAt(const FieldTable& headers, size_t i) {
  return std::get<FieldTable>(std::get<FieldArray>(*headers.Find("x-death"))[i]);
}

Death MakeDeath(DeathReason reason, std::string queue, uint64_t time) {
  Death d;
  d.reason = reason;
  d.queue = std::move(queue);
  d.exchange = "ex";
  d.routing_keys = {"rk", "cc"};
  d.time = time;
  return d;
}

TEST(DeadLetter, FirstDeathWritesTheEntryAndTheFirstDeathHeaders) {
  FieldTable headers{{"zz", "kept"}, {"a", int32_t{1}}};
  Death death = MakeDeath(DeathReason::kExpired, "work", 1700000000);
  death.original_expiration = "60000";
  RecordDeath(&headers, death);
  const FieldTable& entry = DeathAt(headers, 0);
  EXPECT_EQ(*entry.Find("count"), FieldValue(int64_t{1}));
  EXPECT_EQ(*entry.Find("reason"), FieldValue("expired"));
  EXPECT_EQ(*entry.Find("queue"), FieldValue("work"));
  EXPECT_EQ(*entry.Find("time"), FieldValue(amqp::Timestamp{1700000000}));
  EXPECT_EQ(*entry.Find("exchange"), FieldValue("ex"));
  EXPECT_EQ(*entry.Find("routing-keys"), FieldValue(FieldArray{"rk", "cc"}));
  EXPECT_EQ(*entry.Find("original-expiration"), FieldValue("60000"));
  EXPECT_EQ(*headers.Find("x-first-death-reason"), FieldValue("expired"));
  EXPECT_EQ(*headers.Find("x-first-death-queue"), FieldValue("work"));
  EXPECT_EQ(*headers.Find("x-first-death-exchange"), FieldValue("ex"));
  EXPECT_EQ(*headers.Find("zz"), FieldValue("kept"));
  // RabbitMQ leaves the headers sorted by name.
  std::vector<std::string> names;
  for (const auto& e : headers.entries) names.push_back(e.name);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(DeadLetter, SameQueueAndReasonCountsUpAndMovesToTheFront) {
  FieldTable headers;
  RecordDeath(&headers, MakeDeath(DeathReason::kRejected, "a", 100));
  RecordDeath(&headers, MakeDeath(DeathReason::kExpired, "b", 200));
  Death again = MakeDeath(DeathReason::kRejected, "a", 300);
  again.exchange = "other";
  RecordDeath(&headers, again);
  ASSERT_EQ(std::get<FieldArray>(*headers.Find("x-death")).size(), 2u);
  const FieldTable& front = DeathAt(headers, 0);
  EXPECT_EQ(*front.Find("queue"), FieldValue("a"));
  EXPECT_EQ(*front.Find("count"), FieldValue(int64_t{2}));
  // Only the count changes: time and exchange are the first death's.
  EXPECT_EQ(*front.Find("time"), FieldValue(amqp::Timestamp{100}));
  EXPECT_EQ(*front.Find("exchange"), FieldValue("ex"));
  EXPECT_EQ(*DeathAt(headers, 1).Find("queue"), FieldValue("b"));
  EXPECT_EQ(*headers.Find("x-first-death-queue"), FieldValue("a"));
}

TEST(DeadLetter, DifferentReasonInTheSameQueueIsANewEntry) {
  FieldTable headers;
  RecordDeath(&headers, MakeDeath(DeathReason::kRejected, "a", 1));
  RecordDeath(&headers, MakeDeath(DeathReason::kMaxLen, "a", 2));
  EXPECT_EQ(std::get<FieldArray>(*headers.Find("x-death")).size(), 2u);
  EXPECT_EQ(*DeathAt(headers, 0).Find("reason"), FieldValue("maxlen"));
}

TEST(DeadLetter, MakeDeadLetterRewritesTheMessage) {
  amqp::BasicProperties p;
  p.expiration = "5000";
  p.headers = FieldTable{{"CC", FieldArray{"c1"}}};
  p.correlation_id = "corr";
  MessageRef original = MakeMessage("body", p, "key");
  DeadLettered dl =
      MakeDeadLetter(*original, DeathReason::kRejected, "work", "dlx", std::string("fixed"), 42);
  EXPECT_EQ(dl.routing_keys, (std::vector<std::string>{"fixed"}));
  EXPECT_EQ(dl.message->exchange(), "dlx");
  EXPECT_EQ(dl.message->routing_key(), "fixed");
  EXPECT_EQ(dl.message->body(), "body");
  const amqp::BasicProperties out = DecodeProperties(*dl.message);
  EXPECT_FALSE(out.expiration.has_value());
  EXPECT_EQ(out.correlation_id, "corr");
  ASSERT_TRUE(out.headers.has_value());
  EXPECT_EQ(out.headers->Find("CC"), nullptr);  // a dead-letter routing key drops CC
  const FieldTable& entry = DeathAt(*out.headers, 0);
  EXPECT_EQ(*entry.Find("routing-keys"), FieldValue(FieldArray{"key", "c1"}));
  EXPECT_EQ(*entry.Find("original-expiration"), FieldValue("5000"));

  DeadLettered own = MakeDeadLetter(*original, DeathReason::kRejected, "work", "dlx", {}, 42);
  EXPECT_EQ(own.routing_keys, (std::vector<std::string>{"key", "c1"}));
}

TEST(DeadLetter, CycleWithoutRejectionIsDetected) {
  FieldTable headers;
  RecordDeath(&headers, MakeDeath(DeathReason::kExpired, "a", 1));
  RecordDeath(&headers, MakeDeath(DeathReason::kExpired, "b", 2));
  EXPECT_TRUE(IsDeathCycle(headers, DeathReason::kExpired, "a"));
  EXPECT_TRUE(IsDeathCycle(headers, DeathReason::kExpired, "b"));
  EXPECT_FALSE(IsDeathCycle(headers, DeathReason::kExpired, "c"));
  EXPECT_FALSE(IsDeathCycle(headers, DeathReason::kRejected, "a"));
  FieldTable rejected;
  RecordDeath(&rejected, MakeDeath(DeathReason::kRejected, "a", 1));
  RecordDeath(&rejected, MakeDeath(DeathReason::kExpired, "b", 2));
  EXPECT_FALSE(IsDeathCycle(rejected, DeathReason::kExpired, "a"));
}

// Runs `io` until `done` or a deadline; true if `done`.
template <class Done>
bool RunUntil(boost::asio::io_context& io, Done done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return done();
}

TEST(QueueTtl, TimerExpiresMessagesWithoutAConsumer) {
  boost::asio::io_context io;
  QueueOptions options;
  options.arguments.Set("x-message-ttl", int32_t{30});
  Queue queue(nullptr, "q", options);
  queue.AttachLoop(&io);
  const auto start = std::chrono::steady_clock::now();
  queue.Enqueue(MakeMessage("a"));
  queue.Enqueue(MakeMessage("b"));
  EXPECT_EQ(queue.message_count(), 2u);
  ASSERT_TRUE(RunUntil(
      io, [&] { return queue.message_count() == 0; }, std::chrono::seconds(5)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(30));
}

TEST(QueueTtl, PerMessageExpirationBelowTheQueueTtlWins) {
  boost::asio::io_context io;
  QueueOptions options;
  options.arguments.Set("x-message-ttl", int32_t{60000});
  Queue queue(nullptr, "q", options);
  queue.AttachLoop(&io);
  amqp::BasicProperties short_lived;
  short_lived.expiration = "20";
  queue.Enqueue(MakeMessage("short", short_lived));
  ASSERT_TRUE(RunUntil(
      io, [&] { return queue.message_count() == 0; }, std::chrono::seconds(5)));
  queue.Enqueue(MakeMessage("long"));
  io.restart();
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(queue.message_count(), 1u);
}

TEST(QueueTtl, ExpiryIsAtTheHeadSoALongLivedHeadHoldsTheOnesBehind) {
  // As in RabbitMQ: per-message TTLs expire when the message reaches the head.
  boost::asio::io_context io;
  Queue queue(nullptr, "q", {});
  queue.AttachLoop(&io);
  amqp::BasicProperties slow, fast;
  slow.expiration = "200";
  fast.expiration = "10";
  queue.Enqueue(MakeMessage("slow", slow));
  queue.Enqueue(MakeMessage("fast", fast));
  io.run_for(std::chrono::milliseconds(60));
  EXPECT_EQ(queue.message_count(), 2u);
  io.restart();
  ASSERT_TRUE(RunUntil(
      io, [&] { return queue.message_count() == 0; }, std::chrono::seconds(5)));
}

TEST(QueueTtl, ZeroTtlDeliversToAWaitingConsumerOrDrops) {
  QueueOptions options;
  options.arguments.Set("x-message-ttl", int32_t{0});
  Queue queue(nullptr, "q", options);
  queue.Enqueue(MakeMessage("dropped"));
  EXPECT_EQ(queue.message_count(), 0u);
  TakeAll sink;
  Consumer c;
  c.channel = &sink;
  c.queue = &queue;
  queue.AddConsumer(&c);
  queue.Enqueue(MakeMessage("taken"));
  EXPECT_EQ(sink.bodies, (std::vector<std::string>{"taken"}));
}

TEST(QueueLimits, DropHeadKeepsTheNewestAndRejectPublishRefuses) {
  QueueOptions drop;
  drop.arguments.Set("x-max-length", int32_t{2});
  Queue dropping(nullptr, "d", drop);
  for (const char* b : {"1", "2", "3"}) {
    EXPECT_EQ(dropping.Enqueue(MakeMessage(b)), Queue::EnqueueResult::kEnqueued);
  }
  EXPECT_EQ(dropping.message_count(), 2u);
  EXPECT_EQ(std::string(dropping.Take()->message->body()), "2");

  QueueOptions reject;
  reject.arguments.Set("x-max-length-bytes", int32_t{3});
  reject.arguments.Set("x-overflow", "reject-publish");
  Queue rejecting(nullptr, "r", reject);
  EXPECT_EQ(rejecting.Enqueue(MakeMessage("ab")), Queue::EnqueueResult::kEnqueued);
  EXPECT_TRUE(rejecting.WouldRejectPublish(2));
  EXPECT_EQ(rejecting.Enqueue(MakeMessage("cd")), Queue::EnqueueResult::kRejected);
  EXPECT_EQ(rejecting.Enqueue(MakeMessage("e")), Queue::EnqueueResult::kEnqueued);
  EXPECT_EQ(rejecting.message_count(), 2u);
}

TEST(QueueDeliveryLimit, CountsReturnsAndDropsPastTheLimit) {
  QueueOptions options;
  options.arguments.Set("x-delivery-limit", int32_t{1});
  Queue queue(nullptr, "q", options);
  ASSERT_TRUE(queue.counts_deliveries());
  queue.Enqueue(MakeMessage("m"));
  QueuedMessage first = *queue.Take();
  EXPECT_EQ(first.delivery_count, 0u);
  queue.Requeue(std::move(first));
  QueuedMessage second = *queue.Take();
  EXPECT_EQ(second.delivery_count, 1u);
  EXPECT_TRUE(second.redelivered);
  queue.Requeue(std::move(second));  // the second return: past the limit, dropped (no DLX)
  EXPECT_EQ(queue.message_count(), 0u);
}

}  // namespace
}  // namespace warren::server
