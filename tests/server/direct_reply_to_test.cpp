// DirectReplyTo: reply addresses and the registry of reply consumers.

#include "server/direct_reply_to.h"

#include <gtest/gtest.h>

#include <string>

#include "server/message_edit.h"

namespace warren::server {
namespace {

// Only the registry's pointer is used; the channel is never touched.
Channel* FakeChannel(int n) { return reinterpret_cast<Channel*>(0x1000 * n); }

TEST(DirectReplyTo, AddressIsThePseudoQueueAnIdAndA16ByteKey) {
  DirectReplyTo registry;
  const std::string address = registry.Register(FakeChannel(1));
  ASSERT_TRUE(IsDirectReplyAddress(address));
  const std::string rest = address.substr(kDirectReplyQueue.size() + 1);
  const size_t dot = rest.find('.');
  ASSERT_NE(dot, std::string::npos);
  EXPECT_EQ(rest.substr(0, dot), "AAAAAAAAAAE=");  // id 1, base64
  EXPECT_EQ(rest.size() - dot - 1, 24u);           // 16 bytes, base64
}

TEST(DirectReplyTo, AddressesAreUniqueAndFindTheirChannel) {
  DirectReplyTo registry;
  const std::string a = registry.Register(FakeChannel(1));
  const std::string b = registry.Register(FakeChannel(2));
  EXPECT_NE(a, b);
  // The random keys differ even though the ids are consecutive.
  EXPECT_NE(a.substr(a.rfind('.')), b.substr(b.rfind('.')));
  EXPECT_EQ(registry.Find(a), FakeChannel(1));
  EXPECT_EQ(registry.Find(b), FakeChannel(2));
}

TEST(DirectReplyTo, UnknownOrAlteredAddressFindsNothing) {
  DirectReplyTo registry;
  const std::string a = registry.Register(FakeChannel(1));
  EXPECT_EQ(registry.Find(a + "x"), nullptr);
  EXPECT_EQ(registry.Find(a.substr(0, a.size() - 2) + "A="), nullptr);
  EXPECT_EQ(registry.Find(kDirectReplyQueue), nullptr);
}

TEST(DirectReplyTo, UnregisteredAddressFindsNothing) {
  DirectReplyTo registry;
  const std::string a = registry.Register(FakeChannel(1));
  registry.Unregister(a);
  EXPECT_EQ(registry.Find(a), nullptr);
  registry.Unregister(a);  // twice is harmless
}

TEST(DirectReplyTo, AddressFormNeedsTheDot) {
  EXPECT_TRUE(IsDirectReplyAddress("amq.rabbitmq.reply-to.x"));
  EXPECT_FALSE(IsDirectReplyAddress("amq.rabbitmq.reply-to"));
  EXPECT_FALSE(IsDirectReplyAddress("amq.rabbitmq.reply-to-x"));
  EXPECT_FALSE(IsDirectReplyAddress("q"));
}

TEST(DirectReplyTo, WithReplyAddressChangesOnlyReplyTo) {
  amqp::BasicProperties properties;
  properties.reply_to = kDirectReplyQueue;
  properties.correlation_id = "c1";
  properties.delivery_mode = 2;
  MessageRef original = WithProperties(*MessageRef(Message::Create("", "q", "", "body", true)), "x",
                                       "rk", properties);
  MessageRef edited = WithReplyAddress(*original, "amq.rabbitmq.reply-to.A.B");
  const amqp::BasicProperties decoded = DecodeProperties(*edited);
  EXPECT_EQ(decoded.reply_to, "amq.rabbitmq.reply-to.A.B");
  EXPECT_EQ(decoded.correlation_id, "c1");
  EXPECT_EQ(decoded.delivery_mode, 2);
  EXPECT_EQ(edited->exchange(), "x");
  EXPECT_EQ(edited->routing_key(), "rk");
  EXPECT_EQ(edited->body(), "body");
  EXPECT_TRUE(edited->persistent());
}

}  // namespace
}  // namespace warren::server
