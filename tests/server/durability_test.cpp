// Durability through the broker: persistent messages in durable queues with a RocksDB store
// (confirms after the sync, restarts, and paging with small memory budgets).

#include "tests/server/broker_fixture.h"

namespace warren::test {
namespace {

amqp_basic_properties_t Persistent() {
  amqp_basic_properties_t p{};
  p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
  p.delivery_mode = 2;
  return p;
}

std::string Body(int i, size_t size) {
  std::string body = "m" + std::to_string(i) + "-";
  body.resize(std::max(size, body.size()), static_cast<char>('a' + i % 26));
  return body;
}

// Reads publisher confirms (basic.ack, possibly multiple) until publish `count` is confirmed.
::testing::AssertionResult WaitForConfirms(Client* client, uint64_t count) {
  for (uint64_t confirmed = 0; confirmed < count;) {
    Event event;
    auto got = client->NextEvent(&event);
    if (!got) return got;
    if (event.method != AMQP_BASIC_ACK_METHOD) {
      return ::testing::AssertionFailure() << "expected basic.ack, got " << event.name();
    }
    confirmed = event.delivery_tag;
  }
  return ::testing::AssertionSuccess();
}

class Durability : public BrokerFixture {
 protected:
  bool WithStore() const override { return true; }

  // Disconnects `client`, restarts the broker on its store, and takes every message left
  // in `queue`.
  ::testing::AssertionResult RestartAndDrain(Client* client, std::string_view queue,
                                             std::vector<std::string>* bodies) {
    client->Disconnect();
    StopBroker();
    StartBroker();
    Client again;
    auto connected = ConnectWithChannel(&again);
    if (!connected) return connected;
    return again.Drain(1, queue, bodies);
  }
};

// A queue memory budget smaller than one message: every message is paged out.
class DurabilityTinyBudget : public Durability {
 protected:
  void Configure(server::Config* config) override { config->queue_memory_budget = 1000; }
};

class DurabilityNoBudget : public Durability {
 protected:
  void Configure(server::Config* config) override { config->queue_memory_budget = 0; }
};

TEST_F(Durability, PersistentMessagesSurviveARestartInOrder) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareDurableQueue(1, "d.q"));
  ASSERT_TRUE(client.ConfirmSelect(1));
  const amqp_basic_properties_t persistent = Persistent();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client.Publish(1, "", "d.q", Body(i, 100), i % 2 == 0 ? &persistent : nullptr));
  }
  ASSERT_TRUE(WaitForConfirms(&client, 20));
  std::vector<std::string> bodies;
  ASSERT_TRUE(RestartAndDrain(&client, "d.q", &bodies));
  std::vector<std::string> expected;
  for (int i = 0; i < 20; i += 2) expected.push_back(Body(i, 100));
  EXPECT_EQ(bodies, expected);
}

// A confirm must not wait for some later, unrelated write to the store.
TEST_F(DurabilityTinyBudget, ConfirmArrivesWhileTheQueueIsPagedOut) {
  Client consumer;
  ASSERT_TRUE(ConnectWithChannel(&consumer));
  ASSERT_TRUE(consumer.DeclareDurableQueue(1, "d.paged"));
  ASSERT_TRUE(consumer.Qos(1, 1));
  ASSERT_TRUE(consumer.Consume(1, "d.paged"));

  Client publisher;
  ASSERT_TRUE(ConnectWithChannel(&publisher));
  ASSERT_TRUE(publisher.ConfirmSelect(1));
  const amqp_basic_properties_t persistent = Persistent();
  ASSERT_TRUE(publisher.Publish(1, "", "d.paged", Body(1, 500), &persistent));
  Event event;
  ASSERT_TRUE(publisher.NextEvent(&event));
  ASSERT_EQ(event.method, AMQP_BASIC_ACK_METHOD) << event.name();
  // The consumer holds the first one unacknowledged; the second is paged out.
  ASSERT_TRUE(publisher.Publish(1, "", "d.paged", Body(2, 2000), &persistent));
  ASSERT_TRUE(publisher.NextEvent(&event, std::chrono::milliseconds(3000)));
  EXPECT_EQ(event.method, AMQP_BASIC_ACK_METHOD) << event.name();
  EXPECT_EQ(event.delivery_tag, 2u);
}

TEST_F(DurabilityTinyBudget, ConsumersDrainPagedMessagesInOrder) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareDurableQueue(1, "d.drain"));
  ASSERT_TRUE(client.ConfirmSelect(1));
  const amqp_basic_properties_t persistent = Persistent();
  constexpr int kMessages = 200;
  for (int i = 0; i < kMessages; ++i) {
    // Persistent ones are read back from the store, transient ones from the paged area.
    ASSERT_TRUE(client.Publish(1, "", "d.drain", Body(i, 300), i % 3 == 0 ? nullptr : &persistent));
  }
  ASSERT_TRUE(WaitForConfirms(&client, kMessages));
  ASSERT_TRUE(client.Qos(1, 10));
  ASSERT_TRUE(client.Consume(1, "d.drain"));
  for (int i = 0; i < kMessages; ++i) {
    Event event;
    ASSERT_TRUE(client.NextEvent(&event));
    ASSERT_EQ(event.method, AMQP_BASIC_DELIVER_METHOD) << event.name();
    ASSERT_TRUE(event.message.has_value());
    ASSERT_EQ(event.message->body, Body(i, 300));
    ASSERT_TRUE(client.Ack(1, event.message->delivery_tag));
  }
}

TEST_F(DurabilityNoBudget, BasicGetAndConsumeWorkWithoutAnyMemoryBudget) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareDurableQueue(1, "d.zero"));
  const amqp_basic_properties_t persistent = Persistent();
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(client.Publish(1, "", "d.zero", Body(i, 50), &persistent));
  Delivery got;
  ASSERT_TRUE(client.Get(1, "d.zero", &got));
  EXPECT_EQ(got.body, Body(0, 50));
  ASSERT_TRUE(client.Consume(1, "d.zero", nullptr, /*no_ack=*/true));
  for (int i = 1; i < 4; ++i) {
    Event event;
    ASSERT_TRUE(client.NextEvent(&event));
    ASSERT_EQ(event.method, AMQP_BASIC_DELIVER_METHOD) << event.name();
    EXPECT_EQ(event.message->body, Body(i, 50));
  }
}

TEST_F(Durability, TxCommitOfPersistentMessagesSurvivesARestart) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareDurableQueue(1, "d.tx"));
  ASSERT_TRUE(client.TxSelect(1));
  const amqp_basic_properties_t persistent = Persistent();
  ASSERT_TRUE(client.Publish(1, "", "d.tx", "committed", &persistent));
  ASSERT_TRUE(client.TxCommit(1));
  ASSERT_TRUE(client.Publish(1, "", "d.tx", "rolled back", &persistent));
  ASSERT_TRUE(client.TxRollback(1));
  std::vector<std::string> bodies;
  ASSERT_TRUE(RestartAndDrain(&client, "d.tx", &bodies));
  EXPECT_EQ(bodies, std::vector<std::string>{"committed"});
}

}  // namespace
}  // namespace warren::test

namespace warren::test {
namespace {

amqp_table_entry_t IntArgument(const char* key, int32_t value) {
  amqp_table_entry_t e{};
  e.key = amqp_cstring_bytes(key);
  e.value.kind = AMQP_FIELD_KIND_I32;
  e.value.value.i32 = value;
  return e;
}

amqp_table_entry_t StringArgument(const char* key, const char* value) {
  amqp_table_entry_t e{};
  e.key = amqp_cstring_bytes(key);
  e.value.kind = AMQP_FIELD_KIND_UTF8;
  e.value.value.bytes = amqp_cstring_bytes(value);
  return e;
}

TEST_F(Durability, PriorityOrderSurvivesARestart) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  amqp_table_entry_t entries[] = {IntArgument("x-max-priority", 9)};
  ASSERT_TRUE(client.DeclareDurableQueue(1, "d.prio", amqp_table_t{1, entries}));
  ASSERT_TRUE(client.ConfirmSelect(1));
  amqp_basic_properties_t p = Persistent();
  p._flags |= AMQP_BASIC_PRIORITY_FLAG;
  const uint8_t priorities[] = {1, 5, 9, 5, 0};
  for (int i = 0; i < 5; ++i) {
    p.priority = priorities[i];
    ASSERT_TRUE(client.Publish(1, "", "d.prio", Body(i, 10), &p));
  }
  ASSERT_TRUE(WaitForConfirms(&client, 5));
  std::vector<std::string> bodies;
  ASSERT_TRUE(RestartAndDrain(&client, "d.prio", &bodies));
  EXPECT_EQ(bodies, (std::vector<std::string>{Body(2, 10), Body(1, 10), Body(3, 10), Body(0, 10),
                                              Body(4, 10)}));
}

TEST_F(Durability, ExpiryKeepsItsTimeAcrossARestartAndDeadLettersDurably) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareDurableQueue(1, "d.dlq"));
  amqp_table_entry_t entries[] = {IntArgument("x-message-ttl", 300),
                                  StringArgument("x-dead-letter-exchange", ""),
                                  StringArgument("x-dead-letter-routing-key", "d.dlq")};
  ASSERT_TRUE(client.DeclareDurableQueue(1, "d.ttl", amqp_table_t{3, entries}));
  ASSERT_TRUE(client.ConfirmSelect(1));
  const amqp_basic_properties_t persistent = Persistent();
  ASSERT_TRUE(client.Publish(1, "", "d.ttl", "doomed", &persistent));
  ASSERT_TRUE(WaitForConfirms(&client, 1));
  client.Disconnect();
  StopBroker();
  // Down for longer than the TTL: the message is overdue when the broker comes back.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  StartBroker();
  Client again;
  ASSERT_TRUE(ConnectWithChannel(&again));
  uint32_t count = 1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    ASSERT_TRUE(again.MessageCount(1, "d.dlq", &count));
  } while (count != 1 && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(count, 1u);
  // The dead letter is itself persistent in a durable queue: it survives another restart.
  std::vector<std::string> bodies;
  ASSERT_TRUE(RestartAndDrain(&again, "d.dlq", &bodies));
  EXPECT_EQ(bodies, (std::vector<std::string>{"doomed"}));
}

}  // namespace
}  // namespace warren::test
