// Robustness: clients that break the protocol get the reply the spec asks for, and never
// disturb well-behaved clients of the same broker.
//
// The misbehaving clients are raw POSIX sockets speaking through Warren's own amqp/ codec,
// so they can send exactly the malformed bytes each case needs.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "amqp/content.h"
#include "amqp/frame.h"
#include "amqp/generated/methods.h"
#include "tests/server/broker_fixture.h"

namespace warren::test {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

// The queue the well-behaved clients use; misbehaving ones publish their broken messages
// to it too, so a partial message that slipped through would show up at the consumer.
constexpr std::string_view kQueue = "robust";

// ---------------------------------------------------------------------------------------
// Frames, built with the codec (and broken by hand where a case needs it).

template <class M>
std::string MethodFrame(uint16_t channel, const M& method) {
  std::string out;
  amqp::AppendMethodFrame(&out, channel, method);
  return out;
}

std::string PublishFrame(uint16_t channel) {
  amqp::BasicPublish publish;
  publish.routing_key = kQueue;
  return MethodFrame(channel, publish);
}

std::string HeaderFrame(uint16_t channel, uint64_t body_size) {
  std::string out;
  amqp::AppendContentHeaderFrame(&out, channel, body_size, amqp::BasicProperties{});
  return out;
}

std::string BodyFrame(uint16_t channel, std::string_view body) {
  std::string out;
  amqp::AppendBodyFrames(&out, channel, body, 0);
  return out;
}

// A frame of any type with any payload, frame-end included.
std::string RawFrame(uint8_t type, uint16_t channel, std::string_view payload) {
  std::string out;
  amqp::Encoder enc(&out);
  const size_t start = amqp::BeginFrame(enc, type, channel);
  enc.Bytes(payload);
  amqp::EndFrame(enc, start);
  return out;
}

// A method frame payload with ids the protocol does not define.
std::string UnknownMethodFrame(uint16_t channel, uint16_t class_id, uint16_t method_id) {
  std::string payload;
  amqp::Encoder enc(&payload);
  enc.Short(class_id);
  enc.Short(method_id);
  return RawFrame(amqp::kFrameMethod, channel, payload);
}

// ---------------------------------------------------------------------------------------
// RawClient: a blocking TCP client whose every wait is bounded by a deadline.

class RawClient {
 public:
  RawClient() = default;
  ~RawClient() { Close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  AssertionResult Connect(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return AssertionFailure() << "socket: " << std::strerror(errno);
    // Bounds connect() and send() on a broker that stopped reading.
    const timeval timeout = ToTimeval(kEventTimeout);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    // Each step is one small write; without this, Nagle holds a write back until the
    // broker's delayed ACK of the previous one.
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      return AssertionFailure() << "connect: " << std::strerror(errno);
    }
    return AssertionSuccess();
  }

  AssertionResult Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return AssertionFailure() << "send: " << std::strerror(errno);
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return AssertionSuccess();
  }

  // Protocol header, PLAIN login as guest with `frame_max`, vhost "/", and channel 1.
  AssertionResult Handshake(uint32_t frame_max) {
    const Clock::time_point deadline = Clock::now() + kEventTimeout;
    AssertionResult step = Send(amqp::kProtocolHeader);
    if (step) step = Expect<amqp::ConnectionStart>(0, deadline);
    if (step) {
      amqp::ConnectionStartOk start_ok;
      start_ok.mechanism = "PLAIN";
      start_ok.response = std::string_view("\0guest\0guest", 12);
      start_ok.locale = "en_US";
      step = Send(MethodFrame(0, start_ok));
    }
    uint16_t channel_max = 0;
    if (step) step = Expect<amqp::ConnectionTune>(0, deadline, &channel_max);
    // The broker's channel_max (RabbitMQ refuses 0, "no limit"), heartbeats off.
    if (step) step = Send(MethodFrame(0, amqp::ConnectionTuneOk{channel_max, frame_max, 0}));
    if (step) {
      amqp::ConnectionOpen open;
      open.virtual_host = "/";
      step = Send(MethodFrame(0, open));
    }
    if (step) step = Expect<amqp::ConnectionOpenOk>(0, deadline);
    if (step) step = Send(MethodFrame(1, amqp::ChannelOpen{}));
    if (step) step = Expect<amqp::ChannelOpenOk>(1, deadline);
    if (!step) return step << " (during the handshake)";
    return step;
  }

  // The next frame must be connection.close with `code`; answers it with close-ok and
  // then expects the broker to close the socket.
  AssertionResult ExpectConnectionCloseThenEof(uint16_t code) {
    const Clock::time_point deadline = Clock::now() + kEventTimeout;
    uint16_t channel = 0;
    amqp::Method method;
    AssertionResult next = NextMethod(deadline, &channel, &method);
    if (!next) return next << " (expected connection.close " << code << ")";
    const auto* close = std::get_if<amqp::ConnectionClose>(&method);
    if (close == nullptr || channel != 0) {
      return AssertionFailure() << "expected connection.close " << code << ", got "
                                << amqp::InfoOf(method).name << " on channel " << channel;
    }
    if (close->reply_code != code) {
      return AssertionFailure() << "expected connection.close " << code << ", got "
                                << close->reply_code << " '" << close->reply_text << "'";
    }
    // The broker may already have closed (frame errors do not wait for close-ok).
    Send(MethodFrame(0, amqp::ConnectionCloseOk{}));
    return ExpectEof(deadline, /*reset_is_eof=*/true);
  }

  // Reads everything until the broker closes the connection; *received gets the bytes.
  AssertionResult ReadUntilEof(std::string* received) {
    const Clock::time_point deadline = Clock::now() + kEventTimeout;
    char buffer[4096];
    for (;;) {
      AssertionResult readable = WaitReadable(deadline);
      if (!readable) return readable << " after " << received->size() << " bytes";
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n == 0) return AssertionSuccess();
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return AssertionFailure() << "recv: " << std::strerror(errno);
      received->append(buffer, static_cast<size_t>(n));
    }
  }

  // Ends the connection with a TCP reset instead of an orderly close.
  void Reset() {
    if (fd_ < 0) return;
    const linger abort_on_close{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    Close();
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  AssertionResult WaitReadable(Clock::time_point deadline) {
    for (;;) {
      const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
      if (left.count() <= 0) return AssertionFailure() << "timed out waiting for the broker";
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready > 0) return AssertionSuccess();
      if (ready < 0 && errno != EINTR)
        return AssertionFailure() << "poll: " << std::strerror(errno);
    }
  }

  // Reads more bytes into the frame reader; fails on EOF, error or the deadline.
  AssertionResult ReadMore(Clock::time_point deadline) {
    AssertionResult readable = WaitReadable(deadline);
    if (!readable) return readable;
    char* space = reader_.PrepareRead(4096);
    const ssize_t n = ::recv(fd_, space, reader_.writable(), 0);
    if (n == 0) return AssertionFailure() << "the broker closed the connection";
    if (n < 0) return AssertionFailure() << "recv: " << std::strerror(errno);
    reader_.CommitRead(static_cast<size_t>(n));
    return AssertionSuccess();
  }

  // The next method frame (heartbeats skipped). String views in *method point into the
  // reader's buffer and are valid until the next read.
  AssertionResult NextMethod(Clock::time_point deadline, uint16_t* channel, amqp::Method* method) {
    for (;;) {
      amqp::Frame frame;
      switch (reader_.Next(&frame)) {
        case amqp::FrameReader::Result::kFrame: {
          if (frame.type == amqp::kFrameHeartbeat) continue;
          if (frame.type != amqp::kFrameMethod) {
            return AssertionFailure() << "unexpected frame of type " << int{frame.type};
          }
          *channel = frame.channel;
          const amqp::Status decoded = amqp::DecodeMethod(frame.payload, method);
          if (!decoded.ok()) return AssertionFailure() << "from the broker: " << decoded.ToString();
          return AssertionSuccess();
        }
        case amqp::FrameReader::Result::kNeedMore: {
          AssertionResult more = ReadMore(deadline);
          if (!more) return more;
          continue;
        }
        default:
          return AssertionFailure() << "bad frame from the broker: " << reader_.error().ToString();
      }
    }
  }

  // Expects method M on `channel`. For connection.tune, *channel_max gets its channel_max.
  template <class M>
  AssertionResult Expect(uint16_t channel, Clock::time_point deadline,
                         uint16_t* channel_max = nullptr) {
    uint16_t got_channel = 0;
    amqp::Method method;
    AssertionResult next = NextMethod(deadline, &got_channel, &method);
    if (!next) return next << " (expected " << M::kName << ")";
    if (!std::holds_alternative<M>(method) || got_channel != channel) {
      auto failure = AssertionFailure()
                     << "expected " << M::kName << " on channel " << channel << ", got "
                     << amqp::InfoOf(method).name << " on channel " << got_channel;
      if (const auto* close = std::get_if<amqp::ConnectionClose>(&method)) {
        failure << " (" << close->reply_code << " " << close->reply_text << ")";
      }
      return failure;
    }
    if (const auto* tune = std::get_if<amqp::ConnectionTune>(&method); tune && channel_max) {
      *channel_max = tune->channel_max;
    }
    return AssertionSuccess();
  }

  // Expects the broker to close the connection without sending anything more.
  AssertionResult ExpectEof(Clock::time_point deadline, bool reset_is_eof) {
    char buffer[4096];
    for (;;) {
      AssertionResult readable = WaitReadable(deadline);
      if (!readable) return readable << " (expected the broker to close the connection)";
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n == 0) return AssertionSuccess();
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == ECONNRESET && reset_is_eof) return AssertionSuccess();
      if (n < 0) return AssertionFailure() << "recv: " << std::strerror(errno);
      return AssertionFailure() << n << " more bytes after connection.close";
    }
  }

  int fd_ = -1;
  amqp::FrameReader reader_{amqp::FrameReader::Mode::kFramesOnly, 0};
};

// ---------------------------------------------------------------------------------------
// The misbehaviours.

struct Misbehaviour {
  enum class Reply {
    kProtocolHeaderThenEof,  // the broker answers with its protocol header and closes
    kConnectionClose,        // connection.close with `code`
    kNone,                   // the client vanishes; nothing to read
  };
  enum class Start {
    kNothing,    // `bytes` replace the protocol header
    kHandshake,  // a valid handshake with `frame_max`, channel 1 open
  };

  std::string name;
  Start start;
  std::string bytes;
  Reply reply;
  uint16_t code = 0;   // for kConnectionClose
  bool reset = false;  // for kNone: end with a TCP reset rather than a FIN
  uint32_t frame_max = 131072;

  friend void PrintTo(const Misbehaviour& m, std::ostream* os) { *os << m.name; }
};

std::vector<Misbehaviour> Misbehaviours() {
  using Reply = Misbehaviour::Reply;
  using Start = Misbehaviour::Start;
  constexpr uint16_t kFrameError = 501;
  constexpr uint16_t kChannelError = 504;
  constexpr uint16_t kUnexpectedFrame = 505;
  constexpr uint16_t kNotImplemented = 540;
  std::vector<Misbehaviour> all;

  all.push_back({"HttpRequestInsteadOfProtocolHeader", Start::kNothing,
                 "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", Reply::kProtocolHeaderThenEof});
  std::string garbage(64, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(0xA5 ^ (i * 37));
  all.push_back({"BinaryGarbageInsteadOfProtocolHeader", Start::kNothing, garbage,
                 Reply::kProtocolHeaderThenEof});
  all.push_back({"Amqp010ProtocolHeader", Start::kNothing, std::string("AMQP\x01\x01\x00\x0a", 8),
                 Reply::kProtocolHeaderThenEof});

  std::string bad_end = PublishFrame(1);
  bad_end.back() = '\x00';
  all.push_back({"BadFrameEnd", Start::kHandshake, bad_end, Reply::kConnectionClose, kFrameError});
  // Only the 7-byte frame header: the broker must refuse before waiting for 1 MiB.
  std::string oversized = RawFrame(amqp::kFrameBody, 1, "");
  oversized.resize(3);
  oversized += std::string("\x00\x10\x00\x00", 4);
  all.push_back({"FrameLargerThanFrameMax", Start::kHandshake, oversized, Reply::kConnectionClose,
                 kFrameError, false, amqp::kFrameMinSize});
  all.push_back({"UnknownFrameType", Start::kHandshake, RawFrame(7, 1, "abcd"),
                 Reply::kConnectionClose, kFrameError});
  all.push_back({"NonEmptyHeartbeat", Start::kHandshake, RawFrame(amqp::kFrameHeartbeat, 0, "beat"),
                 Reply::kConnectionClose, kFrameError});
  all.push_back({"MethodOnUnopenedChannel", Start::kHandshake,
                 MethodFrame(2, amqp::BasicQos{0, 1, false}), Reply::kConnectionClose,
                 kChannelError});
  all.push_back({"UnknownMethodId", Start::kHandshake, UnknownMethodFrame(1, 60, 999),
                 Reply::kConnectionClose, kNotImplemented});
  all.push_back({"UnknownClassId", Start::kHandshake, UnknownMethodFrame(1, 99, 10),
                 Reply::kConnectionClose, kNotImplemented});
  all.push_back({"UnknownConnectionMethod", Start::kHandshake, UnknownMethodFrame(0, 10, 99),
                 Reply::kConnectionClose, kNotImplemented});
  all.push_back({"BodyWithoutPublish", Start::kHandshake, BodyFrame(1, "stray body"),
                 Reply::kConnectionClose, kUnexpectedFrame});
  all.push_back({"HeaderWithoutPublish", Start::kHandshake,
                 HeaderFrame(1, 4) + BodyFrame(1, "oops"), Reply::kConnectionClose,
                 kUnexpectedFrame});
  all.push_back({"BodyLongerThanHeaderDeclared", Start::kHandshake,
                 PublishFrame(1) + HeaderFrame(1, 5) + BodyFrame(1, "0123456789"),
                 Reply::kConnectionClose, kUnexpectedFrame});
  all.push_back({"MethodBeforeBodyComplete", Start::kHandshake,
                 PublishFrame(1) + HeaderFrame(1, 10) + BodyFrame(1, "01234") +
                     MethodFrame(1, amqp::BasicQos{0, 1, false}),
                 Reply::kConnectionClose, kUnexpectedFrame});
  all.push_back({"MethodInsteadOfContentHeader", Start::kHandshake,
                 PublishFrame(1) + MethodFrame(1, amqp::BasicQos{0, 1, false}),
                 Reply::kConnectionClose, kUnexpectedFrame});

  all.push_back({"DisconnectAfterContentHeader", Start::kHandshake,
                 PublishFrame(1) + HeaderFrame(1, 1000), Reply::kNone});
  all.push_back({"DisconnectHalfwayThroughBody", Start::kHandshake,
                 PublishFrame(1) + HeaderFrame(1, 1000) + BodyFrame(1, std::string(500, 'h')),
                 Reply::kNone});
  all.push_back({"ResetHalfwayThroughBody", Start::kHandshake,
                 PublishFrame(1) + HeaderFrame(1, 1000) + BodyFrame(1, std::string(500, 'r')),
                 Reply::kNone, 0, /*reset=*/true});
  std::string cut_frame =
      PublishFrame(1) + HeaderFrame(1, 1000) + BodyFrame(1, std::string(1000, 'c'));
  cut_frame.resize(cut_frame.size() - 600);
  all.push_back({"DisconnectInsideABodyFrame", Start::kHandshake, cut_frame, Reply::kNone});
  return all;
}

// Plays one misbehaviour against the broker and checks the reply it gets.
AssertionResult Play(uint16_t port, const Misbehaviour& m) {
  RawClient client;
  AssertionResult step = client.Connect(port);
  if (step && m.start == Misbehaviour::Start::kHandshake) step = client.Handshake(m.frame_max);
  if (step) step = client.Send(m.bytes);
  if (!step) return step;
  switch (m.reply) {
    case Misbehaviour::Reply::kProtocolHeaderThenEof: {
      std::string received;
      step = client.ReadUntilEof(&received);
      if (!step) return step;
      if (received != amqp::kProtocolHeader) {
        return AssertionFailure() << "expected the 0-9-1 protocol header then EOF, got "
                                  << ::testing::PrintToString(received);
      }
      return AssertionSuccess();
    }
    case Misbehaviour::Reply::kConnectionClose:
      return client.ExpectConnectionCloseThenEof(m.code);
    case Misbehaviour::Reply::kNone:
      if (m.reset) {
        client.Reset();
      } else {
        client.Close();
      }
      return AssertionSuccess();
  }
  return AssertionFailure() << "unknown reply kind";
}

// The body of the well-behaved publisher's message `i`: distinct and ordered, and every
// 97th spans several frames.
std::string Body(int i) {
  std::string body = "message-" + std::to_string(i);
  if (i % 97 == 0) body.append(300 * 1024, static_cast<char>('a' + i % 26));
  return body;
}

// ---------------------------------------------------------------------------------------
// The tests.

using Robustness = BrokerFixture;

TEST_F(Robustness, MisbehavingClientsDoNotDisturbWellBehavedOnes) {
  constexpr int kMessages = 2000;
  constexpr int kConfirmWindow = 100;
  constexpr int kMisbehavingThreads = 3;
  constexpr int kMaxRounds = 150;

  Client consumer;
  ASSERT_TRUE(ConnectWithChannel(&consumer));
  ASSERT_TRUE(consumer.DeclareQueue(1, kQueue));
  ASSERT_TRUE(consumer.Qos(1, 64));
  ASSERT_TRUE(consumer.Consume(1, kQueue));

  const uint16_t broker_port = port();
  const std::vector<Misbehaviour> misbehaviours = Misbehaviours();
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  std::mutex failures_mutex;
  std::vector<std::string> misbehaviour_failures;
  // Several misbehaving clients at once, each playing every misbehaviour in turn until the
  // well-behaved traffic is done (at least once, at most kMaxRounds times).
  std::vector<std::thread> misbehaving;
  for (int t = 0; t < kMisbehavingThreads; ++t) {
    misbehaving.emplace_back([&] {
      while ((!stop.load() || rounds.load() == 0) && rounds.load() < kMaxRounds) {
        for (const Misbehaviour& m : misbehaviours) {
          AssertionResult played = Play(broker_port, m);
          if (!played) {
            std::lock_guard lock(failures_mutex);
            misbehaviour_failures.push_back(m.name + ": " + played.message());
          }
        }
        rounds.fetch_add(1);
      }
    });
  }

  std::string publisher_failure;
  std::thread publisher([&] {
    Client client;
    AssertionResult step = client.Connect(broker_port);
    if (step) step = client.OpenChannel(1);
    if (step) step = client.ConfirmSelect(1);
    for (int i = 0; step && i < kMessages; ++i) {
      step = client.Publish(1, "", kQueue, Body(i));
      if (step && ((i + 1) % kConfirmWindow == 0 || i + 1 == kMessages)) {
        step = client.WaitForConfirms(1, static_cast<uint64_t>(i + 1));
      }
    }
    if (!step) publisher_failure = step.message();
  });

  // Consume on this thread; failures are recorded, not asserted, until the threads join.
  int received = 0;
  std::vector<std::string> consumer_failures;
  while (received < kMessages) {
    Delivery d;
    AssertionResult next = consumer.NextDelivery(&d);
    if (!next) {
      consumer_failures.push_back("after " + std::to_string(received) +
                                  " messages: " + next.message());
      break;
    }
    const std::string expected = Body(received);
    if (d.body != expected) {
      consumer_failures.push_back("message " + std::to_string(received) + ": got '" +
                                  d.body.substr(0, 40) + "' (" + std::to_string(d.body.size()) +
                                  " bytes), expected '" + expected.substr(0, 40) + "' (" +
                                  std::to_string(expected.size()) + " bytes)");
      if (consumer_failures.size() > 10) break;
    }
    if (d.redelivered) {
      consumer_failures.push_back("message " + std::to_string(received) + " is marked redelivered");
    }
    ++received;
    AssertionResult acked = consumer.Ack(1, d.delivery_tag);
    if (!acked) {
      consumer_failures.push_back(acked.message());
      break;
    }
  }
  publisher.join();
  stop = true;
  for (std::thread& t : misbehaving) t.join();

  EXPECT_EQ(publisher_failure, "");
  EXPECT_EQ(received, kMessages);
  EXPECT_TRUE(consumer_failures.empty()) << ::testing::PrintToString(consumer_failures);
  EXPECT_TRUE(consumer.ExpectNoEvent()) << "a duplicate or partial message arrived";
  EXPECT_GE(rounds.load(), 1);
  RecordProperty("misbehaving_rounds", rounds.load());
  EXPECT_TRUE(misbehaviour_failures.empty())
      << misbehaviour_failures.size() << " failures, the first ones: "
      << ::testing::PrintToString(std::vector<std::string>(
             misbehaviour_failures.begin(),
             misbehaviour_failures.begin() +
                 static_cast<std::ptrdiff_t>(std::min<size_t>(5, misbehaviour_failures.size()))));

  // The broker is still up and serving.
  EXPECT_TRUE(BrokerResponds());
  Client late;
  ASSERT_TRUE(ConnectWithChannel(&late));
  ASSERT_TRUE(late.Publish(1, "", kQueue, "late"));
  Delivery d;
  ASSERT_TRUE(consumer.NextDelivery(&d));
  EXPECT_EQ(d.body, "late");
}

class MalformedInput : public BrokerFixture, public ::testing::WithParamInterface<Misbehaviour> {};

TEST_P(MalformedInput, GetsTheSpecifiedReplyAndNothingReachesTheQueue) {
  Client observer;
  ASSERT_TRUE(ConnectWithChannel(&observer));
  ASSERT_TRUE(observer.DeclareQueue(1, kQueue));

  EXPECT_TRUE(Play(port(), GetParam()));

  // Let the broker notice a vanished client before looking.
  std::this_thread::sleep_for(Millis(50));
  EXPECT_TRUE(BrokerResponds());
  uint32_t count = 99;
  ASSERT_TRUE(observer.MessageCount(1, kQueue, &count));
  EXPECT_EQ(count, 0u);
  // The observer's connection was not disturbed, and new ones are accepted.
  ASSERT_TRUE(observer.Publish(1, "", kQueue, "after"));
  Client late;
  ASSERT_TRUE(ConnectWithChannel(&late));
  Delivery d;
  ASSERT_TRUE(late.Get(1, kQueue, &d));
  EXPECT_EQ(d.body, "after");
}

INSTANTIATE_TEST_SUITE_P(Cases, MalformedInput, ::testing::ValuesIn(Misbehaviours()),
                         [](const ::testing::TestParamInfo<Misbehaviour>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace warren::test
