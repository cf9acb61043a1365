// Tests for server/sender_selected.*: CC and BCC routing keys, what RabbitMQ ignores or
// refuses in them, and the BCC header removed.

#include "server/sender_selected.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "amqp/encoder.h"
#include "server/message_edit.h"

namespace warren::server {
namespace {

using amqp::FieldArray;
using amqp::FieldTable;

MessageRef MessageWithHeaders(const FieldTable& headers) {
  amqp::BasicProperties properties;
  properties.message_id = "id";
  properties.headers = headers;
  std::string raw;
  amqp::Encoder enc(&raw);
  properties.Encode(enc);
  return MessageRef(Message::Create("x", "key", raw, "body", true));
}

TEST(SenderSelected, CollectsCcThenBccKeys) {
  MessageRef m = MessageWithHeaders(
      {{"BCC", FieldArray{"b1"}}, {"CC", FieldArray{"c1", "c2"}}, {"other", "v"}});
  std::vector<std::string> keys;
  ASSERT_TRUE(TakeSenderSelectedRoutes(&m, &keys).ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"c1", "c2", "b1"}));
}

TEST(SenderSelected, RemovesBccAndKeepsTheRest) {
  MessageRef m = MessageWithHeaders({{"CC", FieldArray{"c"}}, {"BCC", FieldArray{"b"}}});
  const Message* original = m.get();
  std::vector<std::string> keys;
  ASSERT_TRUE(TakeSenderSelectedRoutes(&m, &keys).ok());
  EXPECT_NE(m.get(), original);
  const amqp::BasicProperties p = DecodeProperties(*m);
  EXPECT_EQ(*p.headers, (FieldTable{{"CC", FieldArray{"c"}}}));
  EXPECT_EQ(p.message_id, "id");
  EXPECT_EQ(m->body(), "body");
  EXPECT_EQ(m->routing_key(), "key");
  EXPECT_TRUE(m->persistent());
}

TEST(SenderSelected, BccAloneLeavesAnEmptyTable) {
  MessageRef m = MessageWithHeaders({{"BCC", FieldArray{"b"}}});
  std::vector<std::string> keys;
  ASSERT_TRUE(TakeSenderSelectedRoutes(&m, &keys).ok());
  const amqp::BasicProperties p = DecodeProperties(*m);
  ASSERT_TRUE(p.headers.has_value());
  EXPECT_TRUE(p.headers->empty());
}

TEST(SenderSelected, WithoutBccTheMessageIsKept) {
  MessageRef m = MessageWithHeaders({{"CC", FieldArray{"c"}}});
  const Message* original = m.get();
  std::vector<std::string> keys{"stale"};
  ASSERT_TRUE(TakeSenderSelectedRoutes(&m, &keys).ok());
  EXPECT_EQ(m.get(), original);
  EXPECT_EQ(keys, (std::vector<std::string>{"c"}));
}

TEST(SenderSelected, IgnoresElementsThatAreNotLongstr) {
  MessageRef m =
      MessageWithHeaders({{"CC", FieldArray{int32_t{1}, "c", amqp::ByteArray{"x"}, FieldTable{}}}});
  std::vector<std::string> keys;
  ASSERT_TRUE(TakeSenderSelectedRoutes(&m, &keys).ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"c"}));
}

TEST(SenderSelected, RefusesAHeaderThatIsNotAnArray) {
  const auto text = [](const FieldTable& headers) {
    MessageRef m = MessageWithHeaders(headers);
    const Message* original = m.get();
    std::vector<std::string> keys;
    amqp::Status s = TakeSenderSelectedRoutes(&m, &keys);
    EXPECT_EQ(s.code(), amqp::ReplyCode::kPreconditionFailed);
    EXPECT_TRUE(keys.empty());
    EXPECT_EQ(m.get(), original);
    return s.text();
  };
  EXPECT_EQ(text({{"CC", "a"}}), "invalid message: {unacceptable_type_in_header,\"CC\",longstr}");
  EXPECT_EQ(text({{"CC", FieldArray{"a"}}, {"BCC", int32_t{1}}}),
            "invalid message: {unacceptable_type_in_header,\"BCC\",signedint}");
  EXPECT_EQ(text({{"CC", amqp::Void{}}}),
            "invalid message: {unacceptable_type_in_header,\"CC\",void}");
}

}  // namespace
}  // namespace warren::server
