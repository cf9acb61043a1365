// Publisher flow control: a queue whose consumers fall behind stops Warren from reading the
// connections that publish into it until it drains; queues without consumers, and
// connections that consume themselves, never hold a publisher back.
//
// Publishers log in with rabbitmq-c and then write basic.publish frames, encoded with
// Warren's own amqp/ codec, straight to the socket without ever blocking: a test sees
// exactly how far a throttled publisher got, and cannot hang on a socket that is full.
// Message n has the body Body(n), so consumers check that nothing is lost or reordered.

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "amqp/content.h"
#include "amqp/frame.h"
#include "amqp/generated/methods.h"
#include "server/queue.h"
#include "tests/server/broker_fixture.h"

namespace warren::test {
namespace {

using server::Queue;
using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

constexpr std::string_view kQueue = "flow";
constexpr uint16_t kChannel = 1;  // every publish and consume in this file
constexpr size_t kBodySize = 16;
// Warren reads a connection at most this many bytes at a time (Broker::kReadScratchSize,
// Connection::kReadChunk).
constexpr size_t kReadChunk = 64 * 1024;
// Socket buffers of the test's side of a flooded connection: small, so that a stopped
// reader backs the writer up after little data.
constexpr int kSocketBuffer = 64 * 1024;

// A publisher whose sends make no progress for this long is throttled.
constexpr Millis kStallPeriod{500};
// Bounds on the phases of a test; each normally takes a fraction of a second.
constexpr Millis kThrottleTimeout{4000};  // flooding until the publisher is throttled
constexpr Millis kPhaseTimeout{5000};     // publishing or consuming a known number
// An idle broker answers an RPC within this.
constexpr Millis kPromptReply{1000};
// No test publishes more: bounds every loop by count as well as by time. A throttled
// publisher cannot have sent this many: the buffers between it and the queue (the
// broker's receive buffer autotunes to at most tcp_rmem's maximum, 32 MiB by default)
// and between the queue and its consumer hold about half of it.
constexpr uint64_t kMaxMessages = 1'000'000;

// The body of message `seq`: its number, zero-padded to kBodySize digits.
std::string Body(uint64_t seq) {
  char body[kBodySize + 1];
  std::snprintf(body, sizeof body, "%016llu", static_cast<unsigned long long>(seq));
  return std::string(body, kBodySize);
}

// Appends basic.publish of message `seq` to kQueue (by the default exchange), its content
// header and its body.
void AppendPublish(std::string* out, uint64_t seq) {
  amqp::BasicPublish publish;
  publish.routing_key = kQueue;
  amqp::AppendMethodFrame(out, kChannel, publish);
  amqp::AppendContentHeaderFrame(out, kChannel, kBodySize, amqp::BasicProperties{});
  amqp::AppendBodyFrames(out, kChannel, Body(seq), 0);
}

// Bytes on the wire of one publish; every message has the same.
size_t PublishSize() {
  std::string out;
  AppendPublish(&out, 0);
  return out.size();
}

// While a publisher is paused, its queue can exceed the limit only by publishes Warren had
// already read: at most one read's worth, plus one publish straddling the read's end.
// (Warren stops within the read, so in practice the depth peaks at the limit + 1.)
uint64_t PauseSlack() { return kReadChunk / PublishSize() + 1; }

// A throttled publisher's queue: over half the limit (below that it would have been
// resumed) and no further over the limit than PauseSlack.
AssertionResult DepthWithinFlowLimit(uint32_t depth) {
  if (depth > Queue::kFlowHighMessages / 2 && depth <= Queue::kFlowHighMessages + PauseSlack()) {
    return AssertionSuccess();
  }
  return AssertionFailure() << "queue depth " << depth << " is not in ("
                            << Queue::kFlowHighMessages / 2 << ", "
                            << Queue::kFlowHighMessages + PauseSlack() << "]";
}

bool PollFor(int fd, short events, Millis timeout) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

// Whether NextEvent on `client` has something to read without waiting on the socket.
bool HasInput(const Client& client) {
  amqp_connection_state_t state = client.state();
  return amqp_frames_enqueued(state) || amqp_data_in_buffer(state) ||
         PollFor(amqp_get_sockfd(state), POLLIN, Millis(0));
}

// Drops `client`'s connection without the close handshake, as a client that crashed
// would: the handshake cannot complete on a connection the broker has stopped reading.
void Abort(Client* client) {
  if (client->state() == nullptr) return;
  ::shutdown(amqp_get_sockfd(client->state()), SHUT_RDWR);
  client->Disconnect();  // its connection.close fails at once on the shut socket
}

// FloodPublisher: publishes messages 0, 1, 2, ... on the socket of a logged-in client
// (channel kChannel open) as fast as the socket takes them, never blocking. What the
// socket does not take stays queued for the next Push.
class FloodPublisher {
 public:
  // `fd` must stay open while the FloodPublisher is in use.
  explicit FloodPublisher(int fd) : fd_(fd), publish_size_(PublishSize()) {}

  // Writes what the socket takes now, adding publishes up to message `limit` (exclusive,
  // at most kMaxMessages). *progressed says whether the socket took any bytes.
  AssertionResult Push(uint64_t limit, bool* progressed) {
    *progressed = false;
    limit = std::min(limit, kMaxMessages);
    for (;;) {
      if (pending() == 0) {
        if (encoded_ >= limit) return AssertionSuccess();
        // A new batch starts only once everything before it is written; sent() relies on it.
        out_.clear();
        offset_ = 0;
        batch_begin_ = written_;
        batch_first_ = encoded_;
        batch_count_ = std::min(kBatch, limit - encoded_);
        for (uint64_t i = 0; i < batch_count_; ++i) AppendPublish(&out_, encoded_++);
      }
      const ssize_t n = ::send(fd_, out_.data() + offset_, pending(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        offset_ += static_cast<size_t>(n);
        written_ += static_cast<uint64_t>(n);
        *progressed = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return AssertionSuccess();
      return AssertionFailure() << "publisher send: " << std::strerror(errno);
    }
  }

  // Queues `frames` (whole frames, e.g. basic.ack) to be written after everything queued.
  void Append(std::string_view frames) { out_.append(frames); }

  // Waits at most `timeout` for the socket to take more.
  void WaitWritable(Millis timeout) const { PollFor(fd_, POLLOUT, timeout); }

  // Messages written completely; the next one may be partly written.
  uint64_t sent() const {
    if (pending() == 0) return encoded_;
    // Only the last batch (and frames appended after it) can be unwritten.
    const uint64_t batch_written = (written_ - batch_begin_) / publish_size_;
    return batch_first_ + std::min(batch_count_, batch_written);
  }
  // Messages encoded so far: sent, or queued to be.
  uint64_t encoded() const { return encoded_; }
  size_t pending() const { return out_.size() - offset_; }

 private:
  static constexpr uint64_t kBatch = 256;

  int fd_;
  size_t publish_size_;
  std::string out_;  // bytes to write; out_[0, offset_) are written
  size_t offset_ = 0;
  uint64_t written_ = 0;  // bytes written since the start
  uint64_t encoded_ = 0;
  uint64_t batch_begin_ = 0;  // written_ when the last batch of publishes started
  uint64_t batch_first_ = 0;  // its first message
  uint64_t batch_count_ = 0;  // and how many it has
};

// Three connections around kQueue: a consumer, a publisher and an observer that asks
// for the queue's depth. Tear-down drops the consumer and publisher without a handshake,
// since either may be one the broker is not reading.
class FlowControl : public BrokerFixture {
 protected:
  void TearDown() override {
    observer_.Disconnect();
    Abort(&consumer_);  // first: a queue without consumers resumes its publishers
    Abort(&publisher_);
    BrokerFixture::TearDown();
  }

  // Connects the publisher (and the observer) and declares kQueue.
  AssertionResult StartPublisher() {
    AssertionResult step = ConnectWithChannel(&publisher_);
    if (step) step = publisher_.DeclareQueue(kChannel, kQueue);
    if (step) step = ConnectWithChannel(&observer_);
    if (!step) return step;
    const int fd = amqp_get_sockfd(publisher_.state());
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBuffer, sizeof kSocketBuffer);
    flood_.emplace(fd);
    return AssertionSuccess();
  }

  // A no-ack consumer of kQueue on its own connection, whose socket the test never reads
  // (until it drains it with ConsumeWhilePublishing).
  AssertionResult StartSlowConsumer() {
    AssertionResult step = ConnectWithChannel(&consumer_);
    if (step) step = consumer_.DeclareQueue(kChannel, kQueue);
    if (step) step = consumer_.Consume(kChannel, kQueue, nullptr, /*no_ack=*/true);
    if (!step) return step;
    ::setsockopt(amqp_get_sockfd(consumer_.state()), SOL_SOCKET, SO_RCVBUF, &kSocketBuffer,
                 sizeof kSocketBuffer);
    return AssertionSuccess();
  }

  // Starts a slow consumer and a publisher, and publishes as fast as the broker reads
  // until the publisher's sends make no progress for kStallPeriod. Fails if that does not
  // happen within kThrottleTimeout.
  AssertionResult FloodUntilThrottled() {
    AssertionResult step = StartSlowConsumer();
    if (step) step = StartPublisher();
    if (!step) return step;
    const Clock::time_point start = Clock::now();
    Clock::time_point last_progress = start;
    while (Clock::now() - start < kThrottleTimeout && flood_->sent() < kMaxMessages) {
      bool progressed = false;
      AssertionResult pushed = flood_->Push(kMaxMessages, &progressed);
      if (!pushed) return pushed;
      if (progressed) {
        last_progress = Clock::now();
      } else if (Clock::now() - last_progress >= kStallPeriod) {
        return AssertionSuccess();
      }
      flood_->WaitWritable(Millis(50));
    }
    uint32_t depth = 0;
    observer_.MessageCount(kChannel, kQueue, &depth);
    return AssertionFailure() << "the publisher was never throttled: it sent " << flood_->sent()
                              << " messages in "
                              << std::chrono::duration_cast<Millis>(Clock::now() - start).count()
                              << " ms and the queue holds " << depth;
  }

  // Publishes until message `total` (exclusive) and any frames appended after it are
  // written; fails after kPhaseTimeout.
  AssertionResult PublishUpTo(uint64_t total) {
    const Clock::time_point deadline = Clock::now() + kPhaseTimeout;
    while (flood_->sent() < total || flood_->pending() > 0) {
      if (Clock::now() > deadline) {
        return AssertionFailure() << "sent " << flood_->sent() << " of " << total
                                  << " messages before the timeout";
      }
      bool progressed = false;
      AssertionResult pushed = flood_->Push(total, &progressed);
      if (!pushed) return pushed;
      if (!progressed) flood_->WaitWritable(Millis(50));
    }
    return AssertionSuccess();
  }

  // Reads deliveries on `client` (which must be messages *delivered, *delivered + 1, ...
  // in order) while the publisher publishes up to message `total` (exclusive), until all
  // `total` are delivered. With `ack_every` > 0, acknowledges (multiple) on the
  // publisher's socket after each batch of reads and at least every `ack_every`
  // deliveries. Fails after kPhaseTimeout.
  AssertionResult ConsumeWhilePublishing(Client* client, uint64_t total, uint64_t* delivered,
                                         int ack_every = 0) {
    const Clock::time_point deadline = Clock::now() + kPhaseTimeout;
    const int fd = amqp_get_sockfd(client->state());
    while (*delivered < total) {
      if (Clock::now() > deadline) {
        return AssertionFailure() << "sent " << flood_->sent() << " of " << total
                                  << " messages and received " << *delivered
                                  << " before the timeout";
      }
      bool progressed = false;
      AssertionResult pushed = flood_->Push(total, &progressed);
      if (!pushed) return pushed;
      // Every delivery already here, without waiting for more (a started one completes).
      uint64_t last_tag = 0;
      int read = 0;
      while (*delivered < total && read < 10'000 && HasInput(*client)) {
        Delivery d;
        AssertionResult next = client->NextDelivery(&d);
        if (!next) return next << " (after " << *delivered << " deliveries)";
        if (d.body != Body(*delivered)) {
          return AssertionFailure()
                 << "delivery " << *delivered << " is message '" << d.body << "'";
        }
        ++*delivered;
        ++read;
        last_tag = d.delivery_tag;
        if (ack_every > 0 && read % ack_every == 0) AppendAck(last_tag);
      }
      if (ack_every > 0 && read % ack_every != 0) AppendAck(last_tag);
      if (read == 0 && !progressed) {
        pollfd p[2] = {{fd, POLLIN, 0}, {amqp_get_sockfd(publisher_.state()), POLLOUT, 0}};
        const bool publishing = flood_->pending() > 0 || flood_->encoded() < total;
        ::poll(p, publishing ? 2 : 1, 20);
      }
    }
    return PublishUpTo(total);  // writes the acks and publishes still queued
  }

  void AppendAck(uint64_t tag) {
    std::string frame;
    amqp::AppendMethodFrame(&frame, kChannel, amqp::BasicAck{tag, /*multiple=*/true});
    flood_->Append(frame);
  }

  // The observer's passive queue.declare; *took is how long the answer took.
  AssertionResult QueueDepth(uint32_t* depth, Millis* took = nullptr) {
    const Clock::time_point start = Clock::now();
    AssertionResult counted = observer_.MessageCount(kChannel, kQueue, depth);
    if (took != nullptr) *took = std::chrono::duration_cast<Millis>(Clock::now() - start);
    return counted;
  }

  Client consumer_;
  Client publisher_;
  Client observer_;
  std::optional<FloodPublisher> flood_;
};

TEST_F(FlowControl, SlowConsumerPausesPublisherAndQueueStaysBounded) {
  ASSERT_TRUE(FloodUntilThrottled());
  // The broker still serves other connections, promptly: the publisher is paused, not
  // stuck behind a busy broker.
  uint32_t depth = 0;
  Millis took{0};
  ASSERT_TRUE(QueueDepth(&depth, &took));
  EXPECT_LT(took.count(), kPromptReply.count());
  EXPECT_TRUE(DepthWithinFlowLimit(depth)) << " with " << flood_->sent() << " messages sent";
  // Far more was sent than the queue holds: the rest fills the consumer's buffers.
  EXPECT_GT(flood_->sent(), uint64_t{depth});

  // It stays paused: a while later the socket still takes nothing and the queue has not
  // grown.
  flood_->WaitWritable(kQuietPeriod);
  bool progressed = true;
  ASSERT_TRUE(flood_->Push(kMaxMessages, &progressed));
  EXPECT_FALSE(progressed);
  uint32_t later = 0;
  ASSERT_TRUE(QueueDepth(&later, &took));
  EXPECT_LT(took.count(), kPromptReply.count());
  EXPECT_LE(later, depth);
}

TEST_F(FlowControl, PublisherResumesWhenConsumerCatchesUp) {
  ASSERT_TRUE(FloodUntilThrottled());
  const uint64_t sent_when_throttled = flood_->sent();
  // Once the consumer reads, the publisher gets through everything it had queued and
  // another kFlowHighMessages (being paused and resumed again whenever the consumer
  // falls behind), and every message arrives once, in order.
  const uint64_t total = flood_->encoded() + Queue::kFlowHighMessages;
  uint64_t delivered = 0;
  ASSERT_TRUE(ConsumeWhilePublishing(&consumer_, total, &delivered))
      << " (throttled after " << sent_when_throttled << " messages)";
  uint32_t depth = 0;
  ASSERT_TRUE(QueueDepth(&depth));
  EXPECT_EQ(flood_->sent(), total);
  EXPECT_EQ(delivered + depth, flood_->sent());
  EXPECT_EQ(depth, 0u);
}

TEST_F(FlowControl, PublisherResumesWhenQueueLosesItsConsumer) {
  ASSERT_TRUE(FloodUntilThrottled());
  uint32_t throttled_depth = 0;
  ASSERT_TRUE(QueueDepth(&throttled_depth));
  EXPECT_TRUE(DepthWithinFlowLimit(throttled_depth));

  Abort(&consumer_);
  // A queue without consumers may hold a backlog: everything the publisher had queued and
  // another kFlowHighMessages go in. Its own passive declare is answered only after
  // every publish before it is routed.
  const uint64_t total = flood_->encoded() + Queue::kFlowHighMessages;
  ASSERT_TRUE(PublishUpTo(total));
  uint32_t depth = 0;
  ASSERT_TRUE(publisher_.MessageCount(kChannel, kQueue, &depth));
  EXPECT_GE(depth, uint64_t{throttled_depth} + Queue::kFlowHighMessages);
  EXPECT_LE(depth, total);
}

TEST_F(FlowControl, PublisherResumesWhenQueueIsDeleted) {
  ASSERT_TRUE(FloodUntilThrottled());
  ASSERT_TRUE(observer_.DeleteQueue(kChannel, kQueue));
  // The rest of the publishes are unroutable and dropped; the redeclared queue is new.
  const uint64_t total = flood_->encoded() + Queue::kFlowHighMessages;
  ASSERT_TRUE(PublishUpTo(total));
  ASSERT_TRUE(publisher_.DeclareQueue(kChannel, kQueue));
  uint32_t depth = 1;
  ASSERT_TRUE(publisher_.MessageCount(kChannel, kQueue, &depth));
  EXPECT_EQ(depth, 0u);
}

TEST_F(FlowControl, QueueWithoutConsumersDoesNotPausePublishers) {
  ASSERT_TRUE(StartPublisher());
  const uint64_t total = 3 * Queue::kFlowHighMessages;
  ASSERT_TRUE(PublishUpTo(total));
  uint32_t depth = 0;
  ASSERT_TRUE(publisher_.MessageCount(kChannel, kQueue, &depth));
  EXPECT_EQ(depth, total);
}

TEST_F(FlowControl, ConnectionThatAlsoConsumesIsNotPaused) {
  constexpr uint16_t kPrefetch = 100;
  constexpr uint16_t kSideChannel = 2;  // for RPCs while channel 1 receives deliveries
  ASSERT_TRUE(StartPublisher());
  Client& both = publisher_;
  ASSERT_TRUE(both.OpenChannel(kSideChannel));
  ASSERT_TRUE(both.Qos(kChannel, kPrefetch));
  ASSERT_TRUE(both.Consume(kChannel, kQueue));

  // Publishing far past the limit while not reading: the queue's only consumer is on this
  // very connection, so pausing it would stop the acks the queue waits for.
  const uint64_t backlog = Queue::kFlowHighMessages + Queue::kFlowHighMessages / 2;
  ASSERT_TRUE(PublishUpTo(backlog));
  uint32_t depth = 0;
  ASSERT_TRUE(both.MessageCount(kSideChannel, kQueue, &depth))
      << " (answered only once the broker has read every publish before it)";
  EXPECT_EQ(depth, backlog - kPrefetch);

  // Consuming and acking the backlog while publishing more.
  const uint64_t total = backlog + Queue::kFlowHighMessages / 2;
  uint64_t delivered = 0;
  ASSERT_TRUE(ConsumeWhilePublishing(&both, total, &delivered, kPrefetch / 2));
  ASSERT_TRUE(both.MessageCount(kSideChannel, kQueue, &depth));
  EXPECT_EQ(depth, 0u);
}

}  // namespace
}  // namespace warren::test
