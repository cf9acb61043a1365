// What a closing connection does to the queues its channels consume from.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/server/broker_fixture.h"

namespace warren::test {
namespace {

using ConnectionClose = BrokerFixture;

// The unacknowledged messages of one channel go back to the queue while the connection's
// other channels are still being torn down: none of them may be pushed to a sibling
// channel's no-ack consumer (the messages would be lost), so another connection's consumer
// gets them all.
TEST_F(ConnectionClose, RequeuedMessagesSkipTheConnectionsOtherChannels) {
  Client closing;
  ASSERT_TRUE(ConnectWithChannel(&closing));
  ASSERT_TRUE(closing.OpenChannel(2));
  ASSERT_TRUE(closing.DeclareQueue(1, "work"));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(closing.Publish(1, "", "work", "m" + std::to_string(i)));
  ASSERT_TRUE(closing.Consume(1, "work"));
  Delivery d;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(closing.NextDelivery(&d));
  ASSERT_TRUE(closing.Consume(2, "work", nullptr, /*no_ack=*/true));

  Client other;
  ASSERT_TRUE(ConnectWithChannel(&other));
  ASSERT_TRUE(other.Consume(1, "work"));
  closing.Disconnect();

  std::vector<std::string> bodies;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(other.NextDelivery(&d));
    EXPECT_TRUE(d.redelivered);
    bodies.push_back(d.body);
  }
  std::sort(bodies.begin(), bodies.end());
  EXPECT_EQ(bodies, (std::vector<std::string>{"m0", "m1", "m2", "m3"}));
}

}  // namespace
}  // namespace warren::test
