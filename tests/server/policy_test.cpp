// Policies: validation in RabbitMQ's words, which policy applies to a name, and what a policy
// does to live queues through a running broker (and that it survives a restart).

#include "server/policy.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "server/broker.h"
#include "tests/server/broker_fixture.h"

namespace warren::server {
namespace {

using test::BrokerFixture;
using test::Client;

Policy MakePolicy(std::string name, std::string pattern, nlohmann::json definition,
                  int64_t priority = 0, PolicyApplyTo apply_to = PolicyApplyTo::kAll) {
  Policy p;
  p.vhost = "/";
  p.name = std::move(name);
  p.pattern = std::move(pattern);
  p.definition = std::move(definition);
  p.priority = priority;
  p.apply_to = apply_to;
  return p;
}

TEST(PolicyValidation, RefusesUnknownKeysAndBadValuesInRabbitMqWords) {
  EXPECT_TRUE(ValidatePolicy(MakePolicy("p", "^q", {{"message-ttl", 5}})).ok());
  EXPECT_EQ(ValidatePolicy(MakePolicy("p", "^q", {{"max-priority", 5}})).text(),
            "Validation failed\n\n[{<<\"max-priority\">>,5}] are not recognised policy settings\n");
  EXPECT_EQ(ValidatePolicy(MakePolicy("p", "^q", {{"message-ttl", -1}})).text(),
            "Validation failed\n\n-1 is not a valid message TTL\n");
  EXPECT_EQ(ValidatePolicy(MakePolicy("p", "^q", {{"overflow", "x"}})).text(),
            "Validation failed\n\n<<\"x\">> is not a valid overflow value\n");
  EXPECT_EQ(ValidatePolicy(MakePolicy("p", "^q", {{"expires", 0}})).text(),
            "Validation failed\n\n0 is not a valid queue expiry\n");
  EXPECT_FALSE(ValidatePolicy(MakePolicy("p", "(", {{"message-ttl", 5}})).ok());
}

TEST(PolicySet, HighestPriorityMatchingPolicyForItsKindApplies) {
  PolicySet set;
  EXPECT_TRUE(set.Put(MakePolicy("low", ".*", {{"max-length", 1}}, 0)));
  EXPECT_TRUE(set.Put(MakePolicy("high", "^orders", {{"max-length", 2}}, 5)));
  EXPECT_TRUE(set.Put(
      MakePolicy("ex", "^orders", {{"alternate-exchange", "ae"}}, 9, PolicyApplyTo::kExchanges)));
  EXPECT_EQ(set.For(true, "orders.eu")->name, "high");
  EXPECT_EQ(set.For(true, "billing")->name, "low");
  EXPECT_EQ(set.For(false, "orders.eu")->name, "ex");
  // The pattern matches anywhere in the name, as Erlang's re:run does.
  EXPECT_EQ(set.For(true, "x.orders")->name, "low");
  EXPECT_FALSE(set.Put(MakePolicy("high", "^nothing", {{"max-length", 2}}, 5)));
  EXPECT_EQ(set.For(true, "orders.eu")->name, "low");
  EXPECT_TRUE(set.Remove("low"));
  EXPECT_EQ(set.For(true, "orders.eu"), nullptr);
}

class PolicyBroker : public BrokerFixture {
 protected:
  bool WithStore() const override { return true; }

  void SetPolicy(Policy policy) {
    OnBroker([&](Broker& broker) {
      bool created = false;
      const amqp::Status s = broker.SetPolicy(policy, &created);
      ASSERT_TRUE(s.ok()) << s.ToString();
    });
  }

  uint32_t Count(Client* client, std::string_view queue) {
    uint32_t n = 0;
    EXPECT_TRUE(client->MessageCount(1, queue, &n));
    return n;
  }
};

TEST_F(PolicyBroker, MaxLengthPolicyTrimsExistingQueueAtOnceAndLaterOnes) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareQueue(1, "limited"));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.Publish(1, "", "limited", "m"));
  EXPECT_EQ(Count(&client, "limited"), 5u);
  SetPolicy(MakePolicy("cap", "^limited$", {{"max-length", 2}}));
  EXPECT_EQ(Count(&client, "limited"), 2u);
  ASSERT_TRUE(client.Publish(1, "", "limited", "m"));
  EXPECT_EQ(Count(&client, "limited"), 2u);
  OnBroker([](Broker& broker) { EXPECT_TRUE(broker.DeletePolicy("/", "cap")); });
  ASSERT_TRUE(client.Publish(1, "", "limited", "m"));
  EXPECT_EQ(Count(&client, "limited"), 3u);
}

TEST_F(PolicyBroker, PolicyIsStoredAndAppliesAfterARestart) {
  SetPolicy(MakePolicy("ttl", "^short", {{"message-ttl", 1}}));
  StopBroker();
  StartBroker();
  OnBroker([](Broker& broker) {
    const std::vector<Policy> policies = broker.ListPolicies("/");
    ASSERT_EQ(policies.size(), 1u);
    EXPECT_EQ(policies[0].name, "ttl");
    EXPECT_EQ(policies[0].definition, nlohmann::json({{"message-ttl", 1}}));
  });
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareQueue(1, "short-lived"));
  ASSERT_TRUE(client.Publish(1, "", "short-lived", "gone soon"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (Count(&client, "short-lived") != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(Count(&client, "short-lived"), 0u);
}

TEST_F(PolicyBroker, UnknownVhostIsNotFound) {
  OnBroker([](Broker& broker) {
    Policy p = MakePolicy("p", ".*", {{"max-length", 1}});
    p.vhost = "nowhere";
    bool created = false;
    EXPECT_EQ(broker.SetPolicy(p, &created).code(), amqp::ReplyCode::kNotFound);
  });
}

}  // namespace
}  // namespace warren::server

namespace warren::server {
namespace {

TEST_F(PolicyBroker, AlternateExchangePolicyUnlessTheArgumentSaysOtherwise) {
  Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  ASSERT_TRUE(client.DeclareExchange(1, "routed", "direct"));
  ASSERT_TRUE(client.DeclareExchange(1, "leftovers", "fanout"));
  ASSERT_TRUE(client.DeclareQueue(1, "unrouted"));
  ASSERT_TRUE(client.Bind(1, "unrouted", "leftovers", ""));
  SetPolicy(MakePolicy("ae", "^routed$", {{"alternate-exchange", "leftovers"}}, 0,
                       PolicyApplyTo::kExchanges));
  ASSERT_TRUE(client.Publish(1, "routed", "no-binding", "caught"));
  EXPECT_EQ(Count(&client, "unrouted"), 1u);
  OnBroker([](Broker& broker) { EXPECT_TRUE(broker.DeletePolicy("/", "ae")); });
  ASSERT_TRUE(client.Publish(1, "routed", "no-binding", "lost"));
  EXPECT_EQ(Count(&client, "unrouted"), 1u);
}

}  // namespace
}  // namespace warren::server
