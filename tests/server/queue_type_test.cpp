// Tests for server/queue_type.*: x-queue-type values, quorum's rules for new queues, the
// arguments each type refuses (in wire order) and what redeclaration compares.

#include "server/queue_type.h"

#include <gtest/gtest.h>

#include <string>

namespace warren::server {
namespace {

using amqp::FieldTable;

constexpr std::string_view kResource = "queue 'q' in vhost '/'";

amqp::QueueDeclare Declare(FieldTable arguments, bool durable = true) {
  amqp::QueueDeclare d;
  d.queue = "q";
  d.durable = durable;
  d.arguments = std::move(arguments);
  return d;
}

// The reply text, or "ok".
std::string Check(const amqp::QueueDeclare& d) {
  amqp::Status s = CheckQueueType(d, kResource);
  if (s.ok()) s = CheckQueueTypeRestrictions(d, kResource);
  if (s.ok()) return "ok";
  EXPECT_EQ(s.code(), amqp::ReplyCode::kPreconditionFailed);
  return s.text();
}

TEST(QueueType, TypeOfArguments) {
  EXPECT_EQ(QueueTypeOf({}), QueueType::kClassic);
  EXPECT_EQ(QueueTypeOf({{"x-queue-type", "classic"}}), QueueType::kClassic);
  EXPECT_EQ(QueueTypeOf({{"x-queue-type", "quorum"}}), QueueType::kQuorum);
  EXPECT_EQ(QueueTypeOf({{"x-queue-type", "stream"}}), QueueType::kStream);
}

TEST(QueueType, ClassicAndQuorumAreAccepted) {
  EXPECT_EQ(Check(Declare({})), "ok");
  EXPECT_EQ(Check(Declare({{"x-queue-type", "classic"}}, false)), "ok");
  EXPECT_EQ(Check(Declare({{"x-queue-type", "quorum"}, {"x-delivery-limit", int32_t{3}}})), "ok");
}

TEST(QueueType, UnknownTypesAndWrongTypes) {
  EXPECT_EQ(Check(Declare({{"x-queue-type", "bogus"}})),
            "invalid arg 'x-queue-type' for queue 'q' in vhost '/': \"unsupported queue type "
            "'bogus'\"");
  EXPECT_EQ(Check(Declare({{"x-queue-type", int32_t{1}}})),
            "invalid arg 'x-queue-type' for queue 'q' in vhost '/': {unacceptable_type,signedint}");
  // The type is checked before the arguments that precede it.
  EXPECT_EQ(Check(Declare({{"x-max-age", "1D"}, {"x-queue-type", "bogus"}})),
            "invalid arg 'x-queue-type' for queue 'q' in vhost '/': \"unsupported queue type "
            "'bogus'\"");
}

TEST(QueueType, StreamIsRefused) {
  EXPECT_EQ(Check(Declare({{"x-queue-type", "stream"}})),
            "invalid arg 'x-queue-type' for queue 'q' in vhost '/': stream queues are not "
            "supported by Warren yet");
}

TEST(QueueType, QuorumProperties) {
  amqp::QueueDeclare d = Declare({{"x-queue-type", "quorum"}}, false);
  d.exclusive = true;
  d.auto_delete = true;
  EXPECT_EQ(Check(d), "invalid property 'auto-delete' for queue 'q' in vhost '/'");
  d.auto_delete = false;
  EXPECT_EQ(Check(d), "invalid property 'exclusive-owner' for queue 'q' in vhost '/'");
  d.exclusive = false;
  EXPECT_EQ(Check(d), "invalid property 'non-durable' for queue 'q' in vhost '/'");
  d.queue = "";
  EXPECT_EQ(Check(d), "Cannot declare a server-named queue for type rabbit_quorum_queue");
}

TEST(QueueType, FirstRefusedArgumentInWireOrder) {
  EXPECT_EQ(
      Check(Declare(
          {{"x-queue-type", "quorum"}, {"x-queue-mode", "lazy"}, {"x-max-priority", int32_t{3}}},
          false)),
      "invalid arg 'x-queue-mode' for queue 'q' in vhost '/' of queue type "
      "rabbit_quorum_queue");
  EXPECT_EQ(Check(Declare({{"x-max-age", "1D"}})),
            "invalid arg 'x-max-age' for queue 'q' in vhost '/' of queue type "
            "rabbit_classic_queue");
  // A Warren extension: RabbitMQ 3.10 refuses x-delivery-limit on classic queues.
  EXPECT_EQ(Check(Declare({{"x-delivery-limit", int32_t{3}}})), "ok");
  EXPECT_EQ(Check(Declare({{"x-no-such-argument", int32_t{3}}})), "ok");
}

TEST(QueueType, RedeclarationComparesSupportedArguments) {
  EXPECT_TRUE(QueueTypeSupports(QueueType::kClassic, "x-max-priority"));
  EXPECT_FALSE(QueueTypeSupports(QueueType::kQuorum, "x-max-priority"));
  EXPECT_TRUE(QueueTypeSupports(QueueType::kClassic, "x-delivery-limit"));  // extension
  EXPECT_FALSE(QueueTypeSupports(QueueType::kClassic, "x-max-age"));
  EXPECT_TRUE(QueueTypeSupports(QueueType::kQuorum, "x-delivery-limit"));
  EXPECT_TRUE(IsClassicQueueType(nullptr));
  const amqp::FieldValue classic("classic"), quorum("quorum"), number(int32_t{1});
  EXPECT_TRUE(IsClassicQueueType(&classic));
  EXPECT_FALSE(IsClassicQueueType(&quorum));
  EXPECT_FALSE(IsClassicQueueType(&number));
}

}  // namespace
}  // namespace warren::server
