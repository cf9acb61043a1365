// warren-perf's parts (flags, URIs, message bodies, histograms, topology plans) and whole
// runs of RunPerf against a real Warren started in-process.

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "bench/perf/amqp_uri.h"
#include "bench/perf/latency_histogram.h"
#include "bench/perf/message_body.h"
#include "bench/perf/options.h"
#include "bench/perf/perf_run.h"
#include "bench/perf/rate_limiter.h"
#include "bench/perf/topology.h"
#include "tests/server/broker_fixture.h"

namespace warren::perf {
namespace {

amqp::Status Parse(std::vector<std::string> args, Options* out) {
  args.insert(args.begin(), "warren-perf");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return ParseOptions(static_cast<int>(argv.size()), argv.data(), out);
}

TEST(PerfOptions, DefaultsFollowPerfTest) {
  Options o;
  ASSERT_TRUE(Parse({}, &o).ok());
  EXPECT_EQ(o.producers, 1);
  EXPECT_EQ(o.consumers, 1);
  EXPECT_EQ(o.body_size, 16u);
  EXPECT_EQ(o.exchange_type, "direct");
  EXPECT_EQ(o.exchange, "direct");
  EXPECT_EQ(o.uri.host, "127.0.0.1");
  EXPECT_EQ(o.uri.port, 5672);
  EXPECT_EQ(o.uri.vhost, "/");
  EXPECT_EQ(o.confirm_window, 0u);
  EXPECT_DOUBLE_EQ(o.interval_s, 1);
}

TEST(PerfOptions, ParsesPerfTestFlags) {
  Options o;
  const amqp::Status status = Parse({"-h",
                                     "amqp://u:p@localhost:5673/v",
                                     "-x",
                                     "3",
                                     "-y",
                                     "4",
                                     "-s",
                                     "1000",
                                     "-z",
                                     "5",
                                     "-C",
                                     "1000",
                                     "-q",
                                     "200",
                                     "-c",
                                     "50",
                                     "-f",
                                     "persistent",
                                     "-A",
                                     "10",
                                     "-r",
                                     "5000",
                                     "-u",
                                     "q1",
                                     "-t",
                                     "topic",
                                     "-e",
                                     "ex",
                                     "-k",
                                     "key",
                                     "--queues",
                                     "2",
                                     "--connections=7",
                                     "-i",
                                     "0.5",
                                     "--json",
                                     "--drain-timeout",
                                     "3",
                                     "--test-drop-every",
                                     "9"},
                                    &o);
  ASSERT_TRUE(status.ok()) << status.text();
  EXPECT_EQ(o.uri.user, "u");
  EXPECT_EQ(o.uri.password, "p");
  EXPECT_EQ(o.uri.host, "localhost");
  EXPECT_EQ(o.uri.port, 5673);
  EXPECT_EQ(o.uri.vhost, "v");
  EXPECT_EQ(o.producers, 3);
  EXPECT_EQ(o.consumers, 4);
  EXPECT_EQ(o.body_size, 1000u);
  EXPECT_DOUBLE_EQ(o.duration_s, 5);
  EXPECT_EQ(o.count, 1000u);
  EXPECT_EQ(o.prefetch, 200);
  EXPECT_EQ(o.confirm_window, 50u);
  EXPECT_TRUE(o.persistent);
  EXPECT_EQ(o.multi_ack_every, 10u);
  EXPECT_DOUBLE_EQ(o.rate, 5000);
  EXPECT_EQ(o.queue, "q1");
  EXPECT_EQ(o.exchange_type, "topic");
  EXPECT_EQ(o.exchange, "ex");
  EXPECT_EQ(o.routing_key, "key");
  EXPECT_EQ(o.queues, 2);
  EXPECT_EQ(o.idle_connections, 7);
  EXPECT_DOUBLE_EQ(o.interval_s, 0.5);
  EXPECT_TRUE(o.json);
  EXPECT_DOUBLE_EQ(o.drain_timeout_s, 3);
  EXPECT_EQ(o.test_drop_every, 9u);
}

TEST(PerfOptions, LongNamesAndSwitches) {
  Options o;
  ASSERT_TRUE(
      Parse({"--producers", "2", "--autoack", "--fanout", "3", "--backlog", "100"}, &o).ok());
  EXPECT_EQ(o.producers, 2);
  EXPECT_TRUE(o.auto_ack);
  EXPECT_EQ(o.fanout, 3);
  EXPECT_EQ(o.exchange_type, "fanout");  // implied by --fanout
  EXPECT_EQ(o.exchange, "fanout");
  EXPECT_EQ(o.backlog, 100u);
}

TEST(PerfOptions, DurabilityFlags) {
  Options o;
  ASSERT_TRUE(Parse({"-x", "0", "-D", "500", "--keep-queues"}, &o).ok());
  EXPECT_EQ(o.producers, 0);
  EXPECT_EQ(o.consumer_count, 500u);
  EXPECT_TRUE(o.keep_queues);
  ASSERT_TRUE(Parse({"--backlog", "10", "--backlog-pause", "2.5", "--cmessages=0"}, &o).ok());
  EXPECT_DOUBLE_EQ(o.backlog_pause_s, 2.5);
  EXPECT_FALSE(o.keep_queues);
}

TEST(PerfOptions, DefaultExchangeCanBeNamed) {
  Options o;
  ASSERT_TRUE(Parse({"-e", ""}, &o).ok());
  EXPECT_EQ(o.exchange, "");
}

TEST(PerfOptions, RejectsBadFlagsAndCombinations) {
  Options o;
  EXPECT_FALSE(Parse({"-s", "15"}, &o).ok()) << "below the stamp size";
  EXPECT_FALSE(Parse({"--bogus"}, &o).ok());
  EXPECT_FALSE(Parse({"-x"}, &o).ok()) << "missing value";
  EXPECT_FALSE(Parse({"-x", "two"}, &o).ok());
  EXPECT_FALSE(Parse({"-f", "mandatory"}, &o).ok());
  EXPECT_FALSE(Parse({"-a", "-A", "5"}, &o).ok());
  EXPECT_FALSE(Parse({"--queues", "2", "--fanout", "2"}, &o).ok());
  EXPECT_FALSE(Parse({"-t", "headers"}, &o).ok());
  EXPECT_FALSE(Parse({"--fanout", "2", "-t", "direct"}, &o).ok());
  EXPECT_FALSE(Parse({"-h", "http://localhost"}, &o).ok());
  EXPECT_FALSE(Parse({"-z", "-1"}, &o).ok());
  EXPECT_FALSE(Parse({"-D", "10"}, &o).ok()) << "-D with a producer";
  EXPECT_FALSE(Parse({"-x", "0", "-y", "0", "-D", "10"}, &o).ok()) << "-D without consumers";
  EXPECT_FALSE(Parse({"--backlog-pause", "1"}, &o).ok()) << "without --backlog";
  const amqp::Status status = Parse({"-q", "70000"}, &o);
  EXPECT_NE(status.text().find("-q"), std::string::npos) << status.text();
}

TEST(PerfAmqpUri, FollowsTheUriSpec) {
  AmqpUri uri;
  ASSERT_TRUE(ParseAmqpUri("amqp://guest:guest@127.0.0.1:5672/%2F", &uri).ok());
  EXPECT_EQ(uri.vhost, "/");
  ASSERT_TRUE(ParseAmqpUri("amqp://h", &uri).ok());
  EXPECT_EQ(uri.host, "h");
  EXPECT_EQ(uri.port, 5672);
  EXPECT_EQ(uri.vhost, "/");
  ASSERT_TRUE(ParseAmqpUri("amqp://h/", &uri).ok());
  EXPECT_EQ(uri.vhost, "");
  ASSERT_TRUE(ParseAmqpUri("amqp://a%40b:p%3Aw@[::1]:1234/my%20vhost?heartbeat=5", &uri).ok());
  EXPECT_EQ(uri.user, "a@b");
  EXPECT_EQ(uri.password, "p:w");
  EXPECT_EQ(uri.host, "::1");
  EXPECT_EQ(uri.port, 1234);
  EXPECT_EQ(uri.vhost, "my vhost");
  EXPECT_FALSE(ParseAmqpUri("amqp://h:99999/", &uri).ok());
  EXPECT_FALSE(ParseAmqpUri("amqp://h/a/b", &uri).ok());
  EXPECT_FALSE(ParseAmqpUri("amqp://h/%zz", &uri).ok());
}

TEST(PerfMessageBody, StampRoundTrips) {
  char body[kStampSize];
  WriteStamp(Stamp{123456789, 65535, kMaxSequence}, body);
  const Stamp stamp = ReadStamp(body);
  EXPECT_EQ(stamp.timestamp_ns, 123456789u);
  EXPECT_EQ(stamp.producer, 65535);
  EXPECT_EQ(stamp.sequence, kMaxSequence);
}

TEST(PerfMessageBody, PatternIsPerMessageAndCheckedAnywhere) {
  std::string body(1000, '\0');
  FillPattern(3, 77, kStampSize, body.data(), body.size() - kStampSize);
  const char* rest = body.data();
  EXPECT_TRUE(CheckPattern(3, 77, kStampSize, rest, body.size() - kStampSize));
  // Checking in pieces that split words gives the same answer.
  EXPECT_TRUE(CheckPattern(3, 77, kStampSize + 5, rest + 5, 300));
  EXPECT_FALSE(CheckPattern(3, 78, kStampSize, rest, body.size() - kStampSize));
  EXPECT_FALSE(CheckPattern(4, 77, kStampSize, rest, body.size() - kStampSize));
  std::string changed = body;
  changed[500] ^= 1;
  EXPECT_FALSE(CheckPattern(3, 77, kStampSize, changed.data(), changed.size() - kStampSize));
  // Filling at an unaligned offset writes the same bytes.
  std::string piece(100, '\0');
  FillPattern(3, 77, kStampSize + 13, piece.data(), piece.size());
  EXPECT_EQ(piece, body.substr(13, 100));
}

TEST(PerfLatencyHistogram, PercentilesWithinBucketPrecision) {
  LatencyHistogram h;
  EXPECT_EQ(h.Percentile(0.5), 0u);
  for (uint64_t v = 1; v <= 100000; ++v) h.Record(v * 1000);  // 1 us .. 100 ms
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.5)), 50e6, 50e6 * 0.04);
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.99)), 99e6, 99e6 * 0.04);
  EXPECT_LE(h.Percentile(1.0), h.max());
  LatencyHistogram other;
  other.Record(5);
  h.Merge(other);
  EXPECT_EQ(h.count(), 100001u);
  EXPECT_EQ(h.Percentile(0.000001), 5u);
}

TEST(PerfRateLimiter, GrantsTheRateWithoutBursts) {
  const auto t0 = RateLimiter::Clock::now();
  RateLimiter limiter(1000, t0);
  EXPECT_EQ(limiter.Take(100, t0), 1u);
  EXPECT_EQ(limiter.Take(100, t0), 0u);
  EXPECT_GT(limiter.Delay(t0).count(), 0);
  EXPECT_EQ(limiter.Take(100, t0 + std::chrono::milliseconds(5)), 5u);
  // After a long stall, at most 10 ms worth.
  EXPECT_EQ(limiter.Take(1000, t0 + std::chrono::seconds(10)), 10u);
  RateLimiter unlimited(0, t0);
  EXPECT_EQ(unlimited.Take(12345, t0), 12345u);
}

TEST(PerfTopology, DefaultGivesEachConsumerItsOwnQueueOfEveryMessage) {
  Options o;
  ASSERT_TRUE(Parse({"-x", "2", "-y", "3"}, &o).ok());
  const Topology t = PlanTopology(o, "id");
  ASSERT_EQ(t.queues.size(), 3u);
  EXPECT_EQ(t.queues[0].name, "");  // server-named
  EXPECT_EQ(t.producers[0].routing_key, t.queues[2].binding_key);
  EXPECT_EQ(t.consumers, (std::vector<std::vector<int>>{{0}, {1}, {2}}));
}

TEST(PerfTopology, QueuesSpreadRoundRobin) {
  Options o;
  ASSERT_TRUE(Parse({"-x", "3", "-y", "2", "--queues", "4", "-u", "q"}, &o).ok());
  const Topology t = PlanTopology(o, "id");
  ASSERT_EQ(t.queues.size(), 4u);
  EXPECT_EQ(t.queues[3].name, "q-3");
  EXPECT_EQ(t.producers[2].routing_key, t.queues[2].binding_key);
  EXPECT_NE(t.queues[0].binding_key, t.queues[1].binding_key);
  EXPECT_EQ(t.consumers, (std::vector<std::vector<int>>{{0, 2}, {1, 3}}));
}

TEST(PerfTopology, SharedQueue) {
  Options o;
  ASSERT_TRUE(Parse({"-y", "3", "-u", "shared"}, &o).ok());
  const Topology t = PlanTopology(o, "id");
  ASSERT_EQ(t.queues.size(), 1u);
  EXPECT_EQ(t.queues[0].name, "shared");
  EXPECT_EQ(t.consumers, (std::vector<std::vector<int>>{{0}, {0}, {0}}));
}

// Whole runs against Warren in-process.
class PerfRunTest : public test::BrokerFixture {
 protected:
  Result Run(std::vector<std::string> args) {
    args.insert(args.begin(),
                {"-h", "amqp://guest:guest@127.0.0.1:" + std::to_string(port()) + "/%2F"});
    Options options;
    const amqp::Status parsed = Parse(args, &options);
    EXPECT_TRUE(parsed.ok()) << parsed.text();
    std::ostringstream progress;
    Result result = RunPerf(options, &progress);
    progress_ = progress.str();
    for (const std::string& e : result.errors) ADD_FAILURE_AT(__FILE__, __LINE__) << "run: " << e;
    return result;
  }

  uint32_t MessagesIn(std::string_view queue) {
    test::Client client;
    uint32_t count = 0;
    EXPECT_TRUE(ConnectWithChannel(&client));
    EXPECT_TRUE(client.MessageCount(1, queue, &count)) << queue;
    return count;
  }

  std::string progress_;  // the last run's progress stream
};

TEST_F(PerfRunTest, CountsAreExactWithConfirms) {
  const Result r = Run({"-x", "2", "-y", "1", "-C", "20000", "-c", "100"});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.sent, 40000u);
  EXPECT_EQ(r.received, 40000u);
  EXPECT_EQ(r.confirmed, 40000u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.duplicates, 0u);
  EXPECT_EQ(r.corrupt, 0u);
  EXPECT_GT(r.latency_p50_us, 0);
  EXPECT_LE(r.latency_p50_us, r.latency_p99_us);
}

TEST_F(PerfRunTest, ConfirmLatencyIsMeasured) {
  const Result r = Run({"-C", "20000", "-c", "100", "-s", "1024", "-f", "persistent"});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.confirmed, 20000u);
  EXPECT_GT(r.confirm_p50_us, 0);
  EXPECT_LE(r.confirm_p50_us, r.confirm_p99_us);
  EXPECT_LE(r.confirm_p99_us, r.confirm_p999_us);
  EXPECT_LE(r.confirm_p999_us, r.confirm_max_us * 1.04);
  EXPECT_NE(FormatSummary(r, false).find(" confirm_p50_us="), std::string::npos);
}

TEST_F(PerfRunTest, NoConfirmLatencyWithoutConfirms) {
  const Result r = Run({"-C", "1000"});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.confirm_p50_us, 0);
  EXPECT_EQ(r.confirm_max_us, 0);
}

TEST_F(PerfRunTest, KeptQueuesAreConsumedByALaterRun) {
  // Two producers fill a queue each and leave them; nobody consumes.
  const std::vector<std::string> queues = {"--queues", "2", "-u", "perf-kept",
                                           "-e",       "",  "-f", "persistent"};
  std::vector<std::string> fill = {"-x", "2",   "-y", "0",   "-C",           "3000",
                                   "-c", "100", "-s", "200", "--keep-queues"};
  fill.insert(fill.end(), queues.begin(), queues.end());
  const Result filled = Run(fill);
  EXPECT_TRUE(filled.ok());
  EXPECT_EQ(filled.confirmed, 6000u);
  EXPECT_EQ(filled.received, 0u);
  EXPECT_EQ(MessagesIn("perf-kept-0"), 3000u);
  EXPECT_EQ(MessagesIn("perf-kept-1"), 3000u);

  // A consume-only run takes 2,000 from each, checks them and leaves the rest.
  std::vector<std::string> take = {"-x", "0",  "-y", "2",  "-D",  "2000",         "-q",
                                   "64", "-A", "10", "-s", "200", "--keep-queues"};
  take.insert(take.end(), queues.begin(), queues.end());
  const Result taken = Run(take);
  EXPECT_TRUE(taken.ok());
  EXPECT_EQ(taken.received, 4000u);
  EXPECT_EQ(taken.lost, 0u);
  EXPECT_EQ(taken.corrupt, 0u);
  EXPECT_EQ(taken.duplicates, 0u);
  EXPECT_GT(taken.recv_rate, 0);
  EXPECT_EQ(MessagesIn("perf-kept-0"), 1000u);
  EXPECT_EQ(MessagesIn("perf-kept-1"), 1000u);

  // Asking for more than is left counts the shortfall as lost; the queues go at the end.
  std::vector<std::string> more = {
      "-x", "0", "-y", "2", "-D", "1500", "-q", "64", "-s", "200", "--drain-timeout", "0.5"};
  more.insert(more.end(), queues.begin(), queues.end());
  const Result short_run = Run(more);
  EXPECT_FALSE(short_run.ok());
  EXPECT_EQ(short_run.received, 2000u);
  EXPECT_EQ(short_run.lost, 1000u);
  EXPECT_EQ(short_run.corrupt, 0u);
  test::Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  uint32_t count = 0;
  EXPECT_FALSE(client.MessageCount(1, "perf-kept-0", &count));
}

TEST_F(PerfRunTest, ConsumeOnlyRunFindsCorruptBodies) {
  // Bodies of another size than -s are corrupt; not being intact messages, they are lost too.
  ASSERT_TRUE(
      Run({"-x", "1", "-y", "0", "-u", "perf-sized", "-C", "100", "-s", "100", "--keep-queues"})
          .ok());
  const Result r = Run({"-x", "0", "-y", "1", "-u", "perf-sized", "-D", "100", "-s", "101",
                        "--drain-timeout", "0.5"});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.received, 100u);
  EXPECT_EQ(r.corrupt, 100u);
  EXPECT_EQ(r.lost, 100u);
}

TEST_F(PerfRunTest, CountsAreExactWithMultiAckAndPrefetch) {
  const Result r = Run({"-x", "1", "-y", "2", "-u", "perf-shared", "-C", "20000", "-q", "64", "-A",
                        "10", "-s", "300"});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.sent, 20000u);
  EXPECT_EQ(r.received, 20000u);
  EXPECT_EQ(r.lost, 0u);
}

TEST_F(PerfRunTest, LargeBodiesSpanFramesAndVerify) {
  // 300 KB bodies take three frames at the default 128 KiB frame_max.
  const Result r = Run({"-C", "200", "-s", "300000", "-c", "10"});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.received, 200u);
  EXPECT_EQ(r.corrupt, 0u);
}

TEST_F(PerfRunTest, FanoutDeliversToEveryQueue) {
  const Result r = Run({"-x", "2", "-y", "2", "--fanout", "3", "-C", "5000", "-a"});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.sent, 10000u);
  EXPECT_EQ(r.received, 3 * r.sent);
  EXPECT_EQ(r.lost, 0u);
}

TEST_F(PerfRunTest, QueuesSpreadProducersAndConsumers) {
  const Result r = Run({"-x", "3", "-y", "2", "--queues", "4", "-C", "5000", "-c", "50"});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.received, 15000u);
  EXPECT_EQ(r.misrouted, 0u);
}

TEST_F(PerfRunTest, DefaultExchangeRoutesByQueueName) {
  // Each producer publishes to one consumer's queue, named by the broker.
  const Result r = Run({"-e", "", "-x", "2", "-y", "2", "-C", "2000"});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.received, 4000u);
  EXPECT_EQ(r.misrouted, 0u);
}

TEST_F(PerfRunTest, DroppedMessagesAreReportedAsLost) {
  const Result r = Run({"-C", "10000", "--test-drop-every", "100", "--drain-timeout", "0.5"});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.dropped, 100u);
  EXPECT_EQ(r.lost, 100u);
  EXPECT_EQ(r.received, 9900u);
}

TEST_F(PerfRunTest, BacklogPublishesThenDrains) {
  const Result r = Run({"-x", "2", "--backlog", "20001", "-c", "500"});
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.backlog);
  EXPECT_EQ(r.backlog_published, 20001u);
  EXPECT_EQ(r.received, 20001u);
  EXPECT_GT(r.publish_rate, 0);
  EXPECT_GT(r.drain_rate, 0);
  const std::string summary = FormatSummary(r, false);
  EXPECT_NE(summary.find("\nbacklog_published=20001 publish_rate="), std::string::npos) << summary;
}

TEST_F(PerfRunTest, BacklogPausesBeforeConsuming) {
  const Result r = Run({"--backlog", "1000", "-c", "100", "--backlog-pause", "0.3", "-i", "0.1"});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.received, 1000u);
  const size_t published = progress_.find("event=published time=");
  const size_t consuming = progress_.find("event=consuming time=");
  ASSERT_NE(published, std::string::npos) << progress_;
  ASSERT_NE(consuming, std::string::npos) << progress_;
  const double from = std::stod(progress_.substr(published + 21));
  const double to = std::stod(progress_.substr(consuming + 21));
  EXPECT_GE(to - from, 0.3) << progress_;
}

TEST_F(PerfRunTest, DurationAndRateLimit) {
  const Result r = Run({"-z", "1", "-r", "2000", "-y", "1", "--connections", "5"});
  EXPECT_TRUE(r.ok());
  EXPECT_NEAR(static_cast<double>(r.sent), 2000, 200);
  EXPECT_EQ(r.received, r.sent);
}

TEST_F(PerfRunTest, QueuesAreDeletedAfterTheRun) {
  ASSERT_TRUE(Run({"-u", "perf-temporary", "-C", "100"}).ok());
  test::Client client;
  ASSERT_TRUE(ConnectWithChannel(&client));
  uint32_t count = 0;
  EXPECT_FALSE(client.MessageCount(1, "perf-temporary", &count));
}

TEST_F(PerfRunTest, BrokerErrorsFailTheRun) {
  Options options;
  ASSERT_TRUE(Parse({"-h", "amqp://guest:guest@127.0.0.1:" + std::to_string(port()) + "/%2F", "-e",
                     "amq.missing", "-C", "10"},
                    &options)
                  .ok());
  const Result r = RunPerf(options, nullptr);
  EXPECT_FALSE(r.ok());
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors[0].find("404"), std::string::npos) << r.errors[0];
}

TEST(PerfSummary, KeyValueLineHasTheDocumentedFields) {
  Result r;
  r.sent = 10;
  r.received = 10;
  r.confirmed = 10;
  r.send_rate = 1234.4;
  r.latency_p50_us = 12.34;
  const std::string line = FormatSummary(r, false);
  EXPECT_EQ(line.rfind("sent=10 received=10 confirmed=10 send_rate=1234 recv_rate=0 "
                       "latency_p50_us=12.3 p99_us=0.0 p999_us=0.0 lost=0 ",
                       0),
            0u)
      << line;
  EXPECT_EQ(line.back(), '\n');
  const std::string json = FormatSummary(r, true);
  EXPECT_NE(json.find("\"sent\":10,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"ok\":true"), std::string::npos) << json;
}

}  // namespace
}  // namespace warren::perf
