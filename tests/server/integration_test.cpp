// Warren as a client sees it: a real broker in-process, driven over TCP by rabbitmq-c.
// Each test asserts only what the client observes on the wire.

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tests/server/broker_fixture.h"

namespace warren::test {
namespace {

using Strings = std::vector<std::string>;

using Handshake = BrokerFixture;
using QueueDeclare = BrokerFixture;
using Publish = BrokerFixture;
using DirectExchange = BrokerFixture;
using FanoutExchange = BrokerFixture;
using TopicExchange = BrokerFixture;
using HeadersExchange = BrokerFixture;
using Consume = BrokerFixture;
using PublisherConfirms = BrokerFixture;
using Transactions = BrokerFixture;

amqp_basic_properties_t WithHeaders(Table* headers) {
  amqp_basic_properties_t props{};
  props._flags = AMQP_BASIC_HEADERS_FLAG;
  props.headers = headers->table();
  return props;
}

TEST_F(Handshake, LoginSucceedsAndServerPropertiesNameWarren) {
  Client client;
  ASSERT_TRUE(client.Connect(port()));
  EXPECT_EQ(client.ServerProperty("product"), "Warren");
  EXPECT_TRUE(client.OpenChannel(1));
}

TEST_F(Handshake, WrongPasswordIsRefusedWithAccessRefused) {
  Client client;
  EXPECT_FALSE(client.Connect(port(), "guest", "not-the-password"));
  const amqp_rpc_reply_t& reply = client.last_login_reply();
  ASSERT_EQ(reply.reply_type, AMQP_RESPONSE_SERVER_EXCEPTION) << DescribeReply(reply);
  ASSERT_EQ(reply.reply.id, AMQP_CONNECTION_CLOSE_METHOD) << DescribeReply(reply);
  const auto* close = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
  EXPECT_EQ(close->reply_code, 403);
  EXPECT_EQ(ToString(close->reply_text),
            "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For "
            "details see the broker logfile.");

  Client good;
  EXPECT_TRUE(good.Connect(port()));
}

TEST_F(QueueDeclare, EmptyNameGetsAServerNamedQueue) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  std::string name;
  ASSERT_TRUE(client.DeclareQueue(1, "", &name));
  EXPECT_TRUE(name.starts_with("amq.gen-")) << name;
  EXPECT_GT(name.size(), std::string("amq.gen-").size());
  uint32_t count = 99;
  ASSERT_TRUE(client.MessageCount(1, name, &count));
  EXPECT_EQ(count, 0u);
}

TEST_F(QueueDeclare, PassiveDeclareOfMissingQueueClosesOnlyThatChannel) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.OpenChannel(2));

  amqp_queue_declare(client.state(), 1, Bytes("no-such-queue"), 1, 0, 0, 0, amqp_empty_table);
  ASSERT_TRUE(
      client.ExpectChannelClose(1, 404, "NOT_FOUND - no queue 'no-such-queue' in vhost '/'"));

  // The connection and its other channel carry on.
  ASSERT_TRUE(client.DeclareQueue(2, "still-works"));
  ASSERT_TRUE(client.Publish(2, "", "still-works", "hello"));
  Delivery got;
  ASSERT_TRUE(client.Get(2, "still-works", &got));
  EXPECT_EQ(got.body, "hello");
  // And the closed channel's number can be opened again.
  EXPECT_TRUE(client.OpenChannel(1));
  EXPECT_TRUE(client.ExpectGetEmpty(1, "still-works"));
}

TEST_F(Publish, DefaultExchangeRoundTripKeepsBodyAndProperties) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareQueue(1, "roundtrip"));

  Table headers;
  headers.Add("x-string", "hello").Add("x-int", 42).Add("x-flag", true);
  amqp_basic_properties_t props = WithHeaders(&headers);
  props._flags |=
      AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG;
  props.content_type = Bytes("text/plain");
  props.delivery_mode = 2;
  props.correlation_id = Bytes("request-7");
  const std::string body("body \0 with a NUL", 17);
  ASSERT_TRUE(client.Publish(1, "", "roundtrip", body, &props));

  Delivery got;
  ASSERT_TRUE(client.Get(1, "roundtrip", &got));
  EXPECT_EQ(got.body, body);
  EXPECT_EQ(got.exchange, "");
  EXPECT_EQ(got.routing_key, "roundtrip");
  EXPECT_FALSE(got.redelivered);
  EXPECT_EQ(got.content_type, "text/plain");
  EXPECT_EQ(got.delivery_mode, 2);
  EXPECT_EQ(got.correlation_id, "request-7");
  const std::map<std::string, std::string> expected_headers{
      {"x-string", "hello"}, {"x-int", "42"}, {"x-flag", "true"}};
  EXPECT_EQ(got.headers, expected_headers);
  EXPECT_TRUE(client.ExpectGetEmpty(1, "roundtrip"));
}

TEST_F(Publish, OneMebibyteMessageRoundTripsOverManyFrames) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareQueue(1, "big"));
  std::string body(1 << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 31 + i / 4096) % 251);
  // Far more than one frame: frame_max is 128 KiB.
  ASSERT_GT(body.size(), 4 * static_cast<size_t>(amqp_get_frame_max(client.state())));
  ASSERT_TRUE(client.Publish(1, "", "big", body));
  ASSERT_TRUE(client.Publish(1, "", "big", body));

  Delivery got;
  ASSERT_TRUE(client.Get(1, "big", &got));
  EXPECT_EQ(got.body.size(), body.size());
  EXPECT_TRUE(got.body == body) << "basic.get: body differs";

  ASSERT_TRUE(client.Consume(1, "big", nullptr, /*no_ack=*/true));
  ASSERT_TRUE(client.NextDelivery(&got));
  EXPECT_EQ(got.body.size(), body.size());
  EXPECT_TRUE(got.body == body) << "basic.deliver: body differs";
}

TEST_F(Publish, DeliveriesRespectTheClientsNegotiatedFrameMax) {
  Client client;
  client.set_frame_max(4096);  // the spec's minimum; rabbitmq-c refuses larger frames
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_EQ(amqp_get_frame_max(client.state()), 4096);
  ASSERT_TRUE(client.DeclareQueue(1, "small-frames"));
  std::string body(100 * 1024, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i % 253);
  ASSERT_TRUE(client.Publish(1, "", "small-frames", body));
  ASSERT_TRUE(client.Publish(1, "", "small-frames", body));

  Delivery got;
  ASSERT_TRUE(client.Get(1, "small-frames", &got));
  EXPECT_TRUE(got.body == body) << "basic.get: body differs";
  ASSERT_TRUE(client.Consume(1, "small-frames", nullptr, /*no_ack=*/true));
  ASSERT_TRUE(client.NextDelivery(&got));
  EXPECT_TRUE(got.body == body) << "basic.deliver: body differs";
}

TEST_F(Publish, MandatoryUnroutableMessageIsReturnedWithNoRoute) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  amqp_basic_properties_t props{};
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG;
  props.content_type = Bytes("application/json");
  ASSERT_TRUE(client.Publish(1, "amq.direct", "nowhere", "{\"lost\":true}", &props,
                             /*mandatory=*/true));
  Event event;
  ASSERT_TRUE(client.NextEvent(&event));
  ASSERT_EQ(event.method, AMQP_BASIC_RETURN_METHOD) << event.name();
  EXPECT_EQ(event.channel, 1);
  EXPECT_EQ(event.reply_code, 312);
  EXPECT_EQ(event.reply_text, "NO_ROUTE");
  ASSERT_TRUE(event.message);
  EXPECT_EQ(event.message->exchange, "amq.direct");
  EXPECT_EQ(event.message->routing_key, "nowhere");
  EXPECT_EQ(event.message->body, "{\"lost\":true}");
  EXPECT_EQ(event.message->content_type, "application/json");

  // Without mandatory, an unroutable message is dropped silently.
  ASSERT_TRUE(client.Publish(1, "amq.direct", "nowhere", "dropped"));
  EXPECT_TRUE(client.ExpectNoEvent());
}

TEST_F(Publish, ReturnOfAMandatoryMessageComesBeforeItsConfirm) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.ConfirmSelect(1));
  ASSERT_TRUE(client.Publish(1, "amq.direct", "nowhere", "lost", nullptr, /*mandatory=*/true));
  Event event;
  ASSERT_TRUE(client.NextEvent(&event));
  EXPECT_EQ(event.method, AMQP_BASIC_RETURN_METHOD) << event.name();
  EXPECT_EQ(event.reply_code, 312);
  ASSERT_TRUE(client.NextEvent(&event));
  EXPECT_EQ(event.method, AMQP_BASIC_ACK_METHOD) << event.name();
  EXPECT_EQ(event.delivery_tag, 1u);
}

TEST_F(DirectExchange, RoutesToQueuesBoundWithTheExactKey) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareExchange(1, "logs", "direct"));
  for (const char* q : {"info-q", "error-q", "both-q"}) ASSERT_TRUE(client.DeclareQueue(1, q));
  ASSERT_TRUE(client.Bind(1, "info-q", "logs", "info"));
  ASSERT_TRUE(client.Bind(1, "error-q", "logs", "error"));
  ASSERT_TRUE(client.Bind(1, "both-q", "logs", "info"));
  ASSERT_TRUE(client.Bind(1, "both-q", "logs", "error"));

  for (const char* key : {"info", "error", "debug", "INFO", "info.x"}) {
    ASSERT_TRUE(client.Publish(1, "logs", key, key));
  }
  Strings got;
  ASSERT_TRUE(client.Drain(1, "info-q", &got));
  EXPECT_EQ(got, (Strings{"info"}));
  ASSERT_TRUE(client.Drain(1, "error-q", &got));
  EXPECT_EQ(got, (Strings{"error"}));
  ASSERT_TRUE(client.Drain(1, "both-q", &got));
  EXPECT_EQ(got, (Strings{"info", "error"}));
}

TEST_F(FanoutExchange, CopiesEveryMessageToEveryBoundQueue) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareExchange(1, "broadcast", "fanout"));
  const Strings queues{"fan-1", "fan-2", "fan-3"};
  for (const auto& q : queues) {
    ASSERT_TRUE(client.DeclareQueue(1, q));
    ASSERT_TRUE(client.Bind(1, q, "broadcast", ""));
  }
  ASSERT_TRUE(client.DeclareQueue(1, "not-bound"));
  ASSERT_TRUE(client.Publish(1, "broadcast", "", "first"));
  ASSERT_TRUE(client.Publish(1, "broadcast", "any.key.at.all", "second"));

  Strings got;
  for (const auto& q : queues) {
    ASSERT_TRUE(client.Drain(1, q, &got));
    EXPECT_EQ(got, (Strings{"first", "second"})) << q;
  }
  ASSERT_TRUE(client.Drain(1, "not-bound", &got));
  EXPECT_TRUE(got.empty());
}

TEST_F(TopicExchange, StarMatchesOneWordAndHashMatchesZeroOrMore) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareExchange(1, "topics", "topic"));
  const std::vector<std::pair<std::string, std::string>> bindings{
      {"star-q", "a.*"}, {"hash-q", "a.#"}, {"star-hash-q", "a.*.#"},
      {"all-q", "#"},    {"tail-q", "#.c"}, {"exact-q", "a.b"},
  };
  for (const auto& [queue, key] : bindings) {
    ASSERT_TRUE(client.DeclareQueue(1, queue));
    ASSERT_TRUE(client.Bind(1, queue, "topics", key));
  }
  for (const char* key : {"a", "a.b", "a.b.c", "b", "a.b.c.d", "c", "ab.b"}) {
    ASSERT_TRUE(client.Publish(1, "topics", key, key));
  }

  const std::map<std::string, Strings> expected{
      {"star-q", {"a.b"}},
      {"hash-q", {"a", "a.b", "a.b.c", "a.b.c.d"}},  // '#' matches zero words: "a"
      {"star-hash-q", {"a.b", "a.b.c", "a.b.c.d"}},  // '*' needs a word, '#' none
      {"all-q", {"a", "a.b", "a.b.c", "b", "a.b.c.d", "c", "ab.b"}},
      {"tail-q", {"a.b.c", "c"}},
      {"exact-q", {"a.b"}},
  };
  for (const auto& [queue, bodies] : expected) {
    Strings got;
    ASSERT_TRUE(client.Drain(1, queue, &got));
    EXPECT_EQ(got, bodies) << queue;
  }
}

TEST_F(HeadersExchange, MatchesAllOrAnyOfTheBindingHeaders) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareExchange(1, "by-headers", "headers"));
  ASSERT_TRUE(client.DeclareQueue(1, "all-q"));
  ASSERT_TRUE(client.DeclareQueue(1, "any-q"));
  Table all_args;
  all_args.Add("x-match", "all").Add("format", "pdf").Add("type", "report");
  Table any_args;
  any_args.Add("x-match", "any").Add("format", "pdf").Add("type", "report");
  ASSERT_TRUE(client.Bind(1, "all-q", "by-headers", "", all_args.table()));
  ASSERT_TRUE(client.Bind(1, "any-q", "by-headers", "", any_args.table()));

  struct Case {
    std::string body;
    Table headers;
  };
  std::vector<Case> cases(5);
  cases[0].body = "both";
  cases[0].headers.Add("format", "pdf").Add("type", "report");
  cases[1].body = "format-only";
  cases[1].headers.Add("format", "pdf");
  cases[2].body = "both-and-more";
  cases[2].headers.Add("type", "report").Add("size", 3).Add("format", "pdf");
  cases[3].body = "wrong-values";
  cases[3].headers.Add("format", "zip").Add("type", "log");
  cases[4].body = "no-headers";
  for (Case& c : cases) {
    amqp_basic_properties_t props = WithHeaders(&c.headers);
    ASSERT_TRUE(client.Publish(1, "by-headers", "ignored", c.body, &props));
  }

  Strings got;
  ASSERT_TRUE(client.Drain(1, "all-q", &got));
  EXPECT_EQ(got, (Strings{"both", "both-and-more"}));
  ASSERT_TRUE(client.Drain(1, "any-q", &got));
  EXPECT_EQ(got, (Strings{"both", "format-only", "both-and-more"}));
}

TEST_F(Consume, PrefetchLimitsUnacknowledgedDeliveries) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareQueue(1, "work"));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.Publish(1, "", "work", "m" + std::to_string(i)));
  ASSERT_TRUE(client.Qos(1, 2));
  ASSERT_TRUE(client.Consume(1, "work"));

  Delivery first, second, d;
  ASSERT_TRUE(client.NextDelivery(&first));
  ASSERT_TRUE(client.NextDelivery(&second));
  EXPECT_EQ(first.body, "m0");
  EXPECT_EQ(second.body, "m1");
  ASSERT_TRUE(client.ExpectNoEvent()) << "a third delivery with prefetch 2 and none acked";

  ASSERT_TRUE(client.Ack(1, first.delivery_tag));
  ASSERT_TRUE(client.NextDelivery(&d));
  EXPECT_EQ(d.body, "m2");
  ASSERT_TRUE(client.ExpectNoEvent()) << "one ack must let exactly one more through";

  // Acking both outstanding deliveries at once lets the last two through.
  ASSERT_TRUE(client.Ack(1, d.delivery_tag, /*multiple=*/true));
  ASSERT_TRUE(client.NextDelivery(&d));
  EXPECT_EQ(d.body, "m3");
  ASSERT_TRUE(client.NextDelivery(&d));
  EXPECT_EQ(d.body, "m4");
  EXPECT_TRUE(client.ExpectNoEvent());
}

TEST_F(Consume, AckMultipleSettlesEveryDeliveryUpToTheTag) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.OpenChannel(2));
  ASSERT_TRUE(client.DeclareQueue(1, "work"));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.Publish(1, "", "work", "m" + std::to_string(i)));
  ASSERT_TRUE(client.Consume(1, "work"));
  std::vector<Delivery> got(5);
  for (Delivery& d : got) ASSERT_TRUE(client.NextDelivery(&d));
  ASSERT_TRUE(client.Ack(1, got[2].delivery_tag, /*multiple=*/true));

  // Closing the channel puts back only what was not acknowledged: m3 and m4.
  ASSERT_TRUE(client.CloseChannel(1));
  uint32_t count = 0;
  ASSERT_TRUE(client.MessageCount(2, "work", &count));
  EXPECT_EQ(count, 2u);
  Delivery d;
  ASSERT_TRUE(client.Get(2, "work", &d));
  EXPECT_EQ(d.body, "m3");
  EXPECT_TRUE(d.redelivered);
  ASSERT_TRUE(client.Get(2, "work", &d));
  EXPECT_EQ(d.body, "m4");
  EXPECT_TRUE(d.redelivered);
  EXPECT_TRUE(client.ExpectGetEmpty(2, "work"));
}

TEST_F(Consume, RejectWithRequeueRedeliversInOriginalOrder) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareQueue(1, "work"));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.Publish(1, "", "work", "m" + std::to_string(i)));
  std::string tag;
  ASSERT_TRUE(client.Consume(1, "work", &tag));
  std::vector<Delivery> got(3);
  for (Delivery& d : got) ASSERT_TRUE(client.NextDelivery(&d));
  for (const Delivery& d : got) EXPECT_FALSE(d.redelivered);
  ASSERT_TRUE(client.Cancel(1, tag));

  // Rejected in reverse order, they go back to their original places: m0 before m1.
  ASSERT_TRUE(client.Reject(1, got[1].delivery_tag, /*requeue=*/true));
  ASSERT_TRUE(client.Reject(1, got[0].delivery_tag, /*requeue=*/true));
  Delivery d;
  ASSERT_TRUE(client.Get(1, "work", &d, /*no_ack=*/false));
  EXPECT_EQ(d.body, "m0");
  EXPECT_TRUE(d.redelivered);
  ASSERT_TRUE(client.Get(1, "work", &d, /*no_ack=*/false));
  EXPECT_EQ(d.body, "m1");
  EXPECT_TRUE(d.redelivered);
  EXPECT_TRUE(client.ExpectGetEmpty(1, "work")) << "m2 is still unacknowledged";

  // A consumer sees the flag too.
  ASSERT_TRUE(client.Reject(1, d.delivery_tag, /*requeue=*/true));
  ASSERT_TRUE(client.Consume(1, "work"));
  ASSERT_TRUE(client.NextDelivery(&d));
  EXPECT_EQ(d.body, "m1");
  EXPECT_TRUE(d.redelivered);
}

TEST_F(Consume, NackWithoutRequeueDropsTheMessage) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.OpenChannel(2));
  ASSERT_TRUE(client.DeclareQueue(1, "work"));
  ASSERT_TRUE(client.Publish(1, "", "work", "poison"));
  ASSERT_TRUE(client.Publish(1, "", "work", "fine"));
  ASSERT_TRUE(client.Consume(1, "work"));
  Delivery poison, fine;
  ASSERT_TRUE(client.NextDelivery(&poison));
  ASSERT_TRUE(client.NextDelivery(&fine));
  ASSERT_EQ(poison.body, "poison");
  ASSERT_TRUE(client.Nack(1, poison.delivery_tag, /*multiple=*/false, /*requeue=*/false));
  EXPECT_TRUE(client.ExpectNoEvent()) << "a nacked message without requeue must not come back";

  // Only the unacknowledged "fine" returns when the channel closes.
  ASSERT_TRUE(client.CloseChannel(1));
  Strings left;
  ASSERT_TRUE(client.Drain(2, "work", &left));
  EXPECT_EQ(left, (Strings{"fine"}));
}

TEST_F(Consume, ChannelCloseRequeuesUnacknowledgedInOrder) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.OpenChannel(2));
  ASSERT_TRUE(client.DeclareQueue(1, "work"));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.Publish(1, "", "work", "m" + std::to_string(i)));
  ASSERT_TRUE(client.Consume(1, "work"));
  std::vector<Delivery> got(5);
  for (Delivery& d : got) ASSERT_TRUE(client.NextDelivery(&d));
  ASSERT_TRUE(client.Ack(1, got[1].delivery_tag));
  ASSERT_TRUE(client.CloseChannel(1));

  for (const char* body : {"m0", "m2", "m3", "m4"}) {
    Delivery d;
    ASSERT_TRUE(client.Get(2, "work", &d));
    EXPECT_EQ(d.body, body);
    EXPECT_TRUE(d.redelivered) << body;
  }
  EXPECT_TRUE(client.ExpectGetEmpty(2, "work"));
}

TEST_F(Consume, RequeuedMessagesGoBackAheadOfWaitingOnes) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.OpenChannel(2));
  ASSERT_TRUE(client.DeclareQueue(1, "work"));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.Publish(1, "", "work", "m" + std::to_string(i)));
  ASSERT_TRUE(client.Qos(1, 2));
  ASSERT_TRUE(client.Consume(1, "work"));
  Delivery d;
  ASSERT_TRUE(client.NextDelivery(&d));
  ASSERT_TRUE(client.NextDelivery(&d));
  ASSERT_TRUE(client.CloseChannel(1));

  Strings got;
  ASSERT_TRUE(client.Drain(2, "work", &got));
  EXPECT_EQ(got, (Strings{"m0", "m1", "m2", "m3", "m4"}));
}

TEST_F(Consume, GlobalPrefetchCreditReturnsWhenACancelledConsumersMessagesAreAcked) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareQueue(1, "first"));
  ASSERT_TRUE(client.DeclareQueue(1, "second"));
  ASSERT_TRUE(client.Publish(1, "", "first", "f0"));
  ASSERT_TRUE(client.Publish(1, "", "first", "f1"));
  ASSERT_TRUE(client.Publish(1, "", "second", "s0"));
  ASSERT_TRUE(client.Qos(1, 2, /*global=*/true));

  std::string tag;
  ASSERT_TRUE(client.Consume(1, "first", &tag));
  Delivery f0, f1;
  ASSERT_TRUE(client.NextDelivery(&f0));
  ASSERT_TRUE(client.NextDelivery(&f1));
  ASSERT_TRUE(client.Cancel(1, tag));
  ASSERT_TRUE(client.Ack(1, f1.delivery_tag, /*multiple=*/true));

  // Both deliveries are settled: the channel's whole credit of 2 is free again.
  ASSERT_TRUE(client.Consume(1, "second"));
  Delivery s0;
  ASSERT_TRUE(client.NextDelivery(&s0)) << "global prefetch credit was not returned";
  EXPECT_EQ(s0.body, "s0");
}

TEST_F(Consume, GlobalPrefetchCreditFreedOnOneQueueServesAnother) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareQueue(1, "first"));
  ASSERT_TRUE(client.DeclareQueue(1, "second"));
  ASSERT_TRUE(client.Publish(1, "", "first", "f0"));
  ASSERT_TRUE(client.Publish(1, "", "second", "s0"));
  ASSERT_TRUE(client.Qos(1, 1, /*global=*/true));

  ASSERT_TRUE(client.Consume(1, "first"));
  Delivery d;
  ASSERT_TRUE(client.NextDelivery(&d));
  EXPECT_EQ(d.body, "f0");
  ASSERT_TRUE(client.Consume(1, "second"));
  ASSERT_TRUE(client.ExpectNoEvent()) << "global prefetch 1 with one delivery unacked";

  // Acking f0 frees the channel's one unit of credit; "second" has a message waiting.
  ASSERT_TRUE(client.Ack(1, d.delivery_tag));
  ASSERT_TRUE(client.NextDelivery(&d)) << "the freed credit was not offered to 'second'";
  EXPECT_EQ(d.body, "s0");
}

TEST_F(Consume, AckingAnUnknownDeliveryTagClosesTheChannelWith406) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.OpenChannel(2));
  ASSERT_TRUE(client.DeclareQueue(1, "work"));
  ASSERT_TRUE(client.Publish(1, "", "work", "m0"));
  ASSERT_TRUE(client.Consume(1, "work"));
  Delivery d;
  ASSERT_TRUE(client.NextDelivery(&d));
  ASSERT_TRUE(client.Ack(1, d.delivery_tag));
  ASSERT_TRUE(client.Ack(1, d.delivery_tag));  // twice

  Event event;
  ASSERT_TRUE(client.NextEvent(&event));
  ASSERT_EQ(event.method, AMQP_CHANNEL_CLOSE_METHOD) << event.name();
  EXPECT_EQ(event.channel, 1);
  EXPECT_EQ(event.reply_code, 406);
  EXPECT_EQ(event.reply_text,
            "PRECONDITION_FAILED - unknown delivery tag " + std::to_string(d.delivery_tag));
  ASSERT_TRUE(client.SendChannelCloseOk(1));
  // The other channel is unaffected.
  uint32_t count = 99;
  ASSERT_TRUE(client.MessageCount(2, "work", &count));
  EXPECT_EQ(count, 0u);
}

TEST_F(Consume, DeletingTheQueueCancelsItsConsumers) {
  Client consumer;
  ASSERT_TRUE(ConnectWithChannel(&consumer));
  ASSERT_TRUE(consumer.DeclareQueue(1, "doomed"));
  std::string tag;
  ASSERT_TRUE(consumer.Consume(1, "doomed", &tag));
  ASSERT_TRUE(consumer.Publish(1, "", "doomed", "in flight"));
  Delivery in_flight;
  ASSERT_TRUE(consumer.NextDelivery(&in_flight));

  Client admin;
  ASSERT_TRUE(ConnectWithChannel(&admin));
  ASSERT_TRUE(admin.DeleteQueue(1, "doomed"));

  Event event;
  ASSERT_TRUE(consumer.NextEvent(&event));
  EXPECT_EQ(event.method, AMQP_BASIC_CANCEL_METHOD) << event.name();
  EXPECT_EQ(event.channel, 1);
  EXPECT_EQ(event.consumer_tag, tag);
  // The delivery from the deleted queue can still be acknowledged, and the channel stays
  // usable (the declare's reply would be a channel.close had the ack failed).
  ASSERT_TRUE(consumer.Ack(1, in_flight.delivery_tag));
  EXPECT_TRUE(consumer.DeclareQueue(1, "after"));
}

TEST_F(Consume, DeletingTheQueueSendsNoCancelToClientsWithoutConsumerCancelNotify) {
  Client consumer;
  consumer.set_cancel_notify(false);
  ASSERT_TRUE(ConnectWithChannel(&consumer));
  ASSERT_TRUE(consumer.DeclareQueue(1, "doomed"));
  ASSERT_TRUE(consumer.Consume(1, "doomed"));

  Client admin;
  ASSERT_TRUE(ConnectWithChannel(&admin));
  ASSERT_TRUE(admin.DeleteQueue(1, "doomed"));

  // As RabbitMQ does: a client that did not ask for cancel notifications gets none.
  EXPECT_TRUE(consumer.ExpectNoEvent());
  EXPECT_TRUE(consumer.DeclareQueue(1, "after"));
}

TEST_F(PublisherConfirms, EveryPublishIsConfirmed) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareQueue(1, "confirmed"));
  ASSERT_TRUE(client.ConfirmSelect(1));
  constexpr int kMessages = 50;
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_TRUE(client.Publish(1, "", "confirmed", "m" + std::to_string(i)));
  }
  ASSERT_TRUE(client.WaitForConfirms(1, kMessages));
  EXPECT_GE(client.confirm_frames(), 1);
  EXPECT_LE(client.confirm_frames(), kMessages);
  // Unroutable messages are confirmed too.
  ASSERT_TRUE(client.Publish(1, "amq.direct", "nowhere", "unroutable"));
  ASSERT_TRUE(client.WaitForConfirms(1, kMessages + 1));

  uint32_t count = 0;
  ASSERT_TRUE(client.MessageCount(1, "confirmed", &count));
  EXPECT_EQ(count, static_cast<uint32_t>(kMessages));
}

TEST_F(Transactions, RollbackDropsPublishesAndCommitDeliversThem) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.OpenChannel(2));
  ASSERT_TRUE(client.DeclareQueue(2, "tx-q"));
  ASSERT_TRUE(client.TxSelect(1));
  uint32_t count = 99;

  ASSERT_TRUE(client.Publish(1, "", "tx-q", "rolled-back"));
  ASSERT_TRUE(client.MessageCount(2, "tx-q", &count));
  EXPECT_EQ(count, 0u) << "published before commit";
  ASSERT_TRUE(client.TxRollback(1));
  ASSERT_TRUE(client.MessageCount(2, "tx-q", &count));
  EXPECT_EQ(count, 0u) << "rolled back";

  ASSERT_TRUE(client.Publish(1, "", "tx-q", "committed-1"));
  ASSERT_TRUE(client.Publish(1, "", "tx-q", "committed-2"));
  ASSERT_TRUE(client.MessageCount(2, "tx-q", &count));
  EXPECT_EQ(count, 0u) << "published before commit";
  ASSERT_TRUE(client.TxCommit(1));
  Strings got;
  ASSERT_TRUE(client.Drain(2, "tx-q", &got));
  EXPECT_EQ(got, (Strings{"committed-1", "committed-2"}));
}

}  // namespace
}  // namespace warren::test
