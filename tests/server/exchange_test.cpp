// Tests for server/exchange.*: routing with several keys (CC/BCC), alternate exchanges
// (used only when nothing matched, chains, cycles, resolved by name, overridable) and
// LazyHeaders::present.

#include "server/exchange.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "amqp/encoder.h"
#include "amqp/generated/properties.h"
#include "server/vhost.h"

namespace warren::server {
namespace {

// A vhost (no broker: routing and declaring only) with helpers to declare and route.
class ExchangeRouting : public ::testing::Test {
 protected:
  Exchange* Declare(const std::string& name, ExchangeType type, std::string alternate = "") {
    ExchangeOptions options;
    if (!alternate.empty()) options.arguments.Set("alternate-exchange", alternate);
    return vhost_.AddExchange(name, type, options);
  }
  Queue* BoundQueue(Exchange* exchange, const std::string& key) {
    Queue* queue = vhost_.FindQueue(key);
    if (queue == nullptr) queue = vhost_.AddQueue(key, QueueOptions{});
    vhost_.Bind(exchange, Binding{queue, key, {}});
    return queue;
  }
  // The names of the queues `keys` reach from `exchange`, sorted.
  std::vector<std::string> Route(const Exchange* exchange, std::vector<std::string_view> keys) {
    RouteResult result;
    exchange->Route(keys, LazyHeaders(""), &result);
    std::vector<std::string> names;
    for (const Queue* q : result.queues) names.push_back(q->name());
    std::sort(names.begin(), names.end());
    return names;
  }

  VirtualHost vhost_{nullptr, "/"};
};

using Names = std::vector<std::string>;

TEST_F(ExchangeRouting, DirectRoutesEveryKeyOnce) {
  Exchange* x = Declare("x", ExchangeType::kDirect);
  BoundQueue(x, "a");
  BoundQueue(x, "b");
  BoundQueue(x, "c");
  EXPECT_EQ(Route(x, {"a", "b", "a", "none"}), (Names{"a", "b"}));
}

TEST_F(ExchangeRouting, TopicMatchesEveryKey) {
  Exchange* x = Declare("x", ExchangeType::kTopic);
  vhost_.Bind(x, Binding{vhost_.AddQueue("q1", {}), "a.*", {}});
  vhost_.Bind(x, Binding{vhost_.AddQueue("q2", {}), "#.b", {}});
  EXPECT_EQ(Route(x, {"a.x"}), (Names{"q1"}));
  EXPECT_EQ(Route(x, {"a.x", "y.b"}), (Names{"q1", "q2"}));
}

TEST_F(ExchangeRouting, AlternateTakesOnlyUnmatchedMessages) {
  Exchange* ae = Declare("ae", ExchangeType::kFanout);
  BoundQueue(ae, "unrouted");
  Exchange* x = Declare("x", ExchangeType::kDirect, "ae");
  BoundQueue(x, "k");
  EXPECT_EQ(x->alternate_exchange(), "ae");
  EXPECT_EQ(Route(x, {"k"}), (Names{"k"}));
  EXPECT_EQ(Route(x, {"other"}), (Names{"unrouted"}));
  EXPECT_EQ(Route(x, {"other", "k"}), (Names{"k"}));  // a CC key matched
}

TEST_F(ExchangeRouting, AlternateIsResolvedByNameWhenRouting) {
  Exchange* x = Declare("x", ExchangeType::kDirect, "ae");
  EXPECT_EQ(Route(x, {"k"}), Names{});  // missing: dropped
  Exchange* ae = Declare("ae", ExchangeType::kFanout);
  BoundQueue(ae, "q");
  EXPECT_EQ(Route(x, {"k"}), (Names{"q"}));
  vhost_.DeleteExchange(ae);
  EXPECT_EQ(Route(x, {"k"}), Names{});
}

TEST_F(ExchangeRouting, SetAlternateOverridesTheArgument) {
  BoundQueue(Declare("ae1", ExchangeType::kFanout), "q1");
  BoundQueue(Declare("ae2", ExchangeType::kFanout), "q2");
  Exchange* x = Declare("x", ExchangeType::kDirect, "ae1");
  const uint64_t version = vhost_.topology_version();
  vhost_.SetAlternateExchange(x, "ae2");
  EXPECT_NE(vhost_.topology_version(), version);  // cached routes are stale
  EXPECT_EQ(Route(x, {"k"}), (Names{"q2"}));
  vhost_.SetAlternateExchange(x, "");
  EXPECT_EQ(Route(x, {"k"}), Names{});
}

TEST_F(ExchangeRouting, AlternatesChainAndCyclesEnd) {
  Exchange* x3 = Declare("x3", ExchangeType::kDirect, "x1");
  Exchange* x2 = Declare("x2", ExchangeType::kDirect, "x3");
  Exchange* x1 = Declare("x1", ExchangeType::kDirect, "x2");
  BoundQueue(x3, "three");
  EXPECT_EQ(Route(x1, {"three"}), (Names{"three"}));
  EXPECT_EQ(Route(x1, {"none"}), Names{});  // x1 -> x2 -> x3 -> x1: visited, stops
  (void)x2;
}

TEST_F(ExchangeRouting, MatchToAnExchangeThatRoutesNowhereIsAMatch) {
  BoundQueue(Declare("ae", ExchangeType::kFanout), "alternate");
  Exchange* dest = Declare("dest", ExchangeType::kDirect);
  Exchange* x = Declare("x", ExchangeType::kDirect, "ae");
  vhost_.Bind(x, Binding{dest, "k", {}});
  EXPECT_EQ(Route(x, {"k"}), Names{});
  EXPECT_EQ(Route(x, {"j"}), (Names{"alternate"}));
}

TEST_F(ExchangeRouting, ExchangesReachedByBindingUseTheirOwnAlternate) {
  BoundQueue(Declare("ae", ExchangeType::kFanout), "alternate");
  Exchange* dest = Declare("dest", ExchangeType::kDirect, "ae");
  Exchange* x = Declare("x", ExchangeType::kFanout);
  vhost_.Bind(x, Binding{dest, "", {}});
  EXPECT_EQ(Route(x, {"k"}), (Names{"alternate"}));
}

TEST_F(ExchangeRouting, AlternateOfWrongTypeIsIgnored) {
  ExchangeOptions options;
  options.arguments.Set("alternate-exchange", int32_t{1});
  Exchange* x = vhost_.AddExchange("x", ExchangeType::kDirect, options);
  EXPECT_EQ(x->alternate_exchange(), "");
}

std::string EncodedProperties(const amqp::BasicProperties& properties) {
  std::string out;
  amqp::Encoder enc(&out);
  properties.Encode(enc);
  return out;
}

TEST(LazyHeaders, PresentReadsOnlyTheFlags) {
  amqp::BasicProperties properties;
  properties.content_type = "text/plain";
  EXPECT_FALSE(LazyHeaders(EncodedProperties(properties)).present());
  EXPECT_FALSE(LazyHeaders("").present());
  properties.headers = amqp::FieldTable{};
  EXPECT_TRUE(LazyHeaders(EncodedProperties(properties)).present());
}

}  // namespace
}  // namespace warren::server
