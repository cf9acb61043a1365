// One warren-perf run: setup, threads, progress, drain, verification (see perf_run.h).

#include "bench/perf/perf_run.h"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <thread>
#include <utility>

#include "bench/perf/connection.h"
#include "bench/perf/consumer.h"
#include "bench/perf/latency_histogram.h"
#include "bench/perf/producer.h"
#include "bench/perf/run_control.h"
#include "bench/perf/topology.h"

namespace warren::perf {

namespace {

// How often the coordinator looks at its threads' counters.
constexpr std::chrono::milliseconds kTick{10};
// How long producers and consumers may take to connect and subscribe.
constexpr std::chrono::seconds kStartTimeout{kRpcTimeout + std::chrono::seconds(5)};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

Clock::duration ToDuration(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

double Rate(uint64_t count, Clock::time_point from, Clock::time_point to) {
  const double s = Seconds(to - from);
  return s > 0 ? static_cast<double>(count) / s : 0;
}

std::string RunId() {
  const uint64_t mix = static_cast<uint64_t>(getpid()) << 32 ^
                       static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, mix);
  return buf;
}

// Bits 0..n-1 of a word holding sequences 64*word..: those below `limit`.
uint64_t MaskBelow(uint64_t word, uint64_t limit) {
  const uint64_t first = word * 64;
  if (limit <= first) return 0;
  if (limit - first >= 64) return ~uint64_t{0};
  return (uint64_t{1} << (limit - first)) - 1;
}

class PerfRun {
 public:
  PerfRun(const Options& options, std::ostream* progress, const std::atomic<bool>* interrupted)
      : options_(options),
        progress_(progress),
        interrupted_(interrupted),
        control_(options.producers) {}

  Result Execute();

 private:
  bool SetUp();
  void CreateWorkers();
  bool StartConsumers();
  bool StartProducers();
  // Waits until the producers are done: -z elapsed, -C reached, an error or an interrupt.
  void AwaitPublishing();
  // With --backlog-pause: waits that long (reporting progress) before consuming.
  void PauseBeforeConsuming();
  // Waits until every expected message arrived or none has for --drain-timeout.
  void AwaitDrain();
  void StopAndJoin();
  void Verify();
  void TearDown();
  void Summarise(Clock::time_point end);

  // Records failures of finished threads once; true if there are any.
  bool CheckFailures();
  bool interrupted() const { return interrupted_ != nullptr && interrupted_->load(); }
  void Report(Clock::time_point now, bool force);
  // "event=NAME time=S" on the progress stream.
  void ReportEvent(const char* name);
  uint64_t TotalSent() const;
  uint64_t TotalConfirmed() const;
  uint64_t TotalReceived() const;
  uint64_t TotalDistinct() const;
  // When the broker had taken in the last publish, and when the last delivery arrived.
  Clock::time_point LastSend() const;
  Clock::time_point LastReceive() const;
  // Messages the consumers must receive, from what the producers sent (or had confirmed).
  uint64_t Expected() const;

  const Options& options_;
  std::ostream* progress_;
  const std::atomic<bool>* interrupted_;
  Result result_;

  Topology topology_;
  std::unique_ptr<Connection> setup_;
  std::vector<std::unique_ptr<Connection>> idle_;
  RunControl control_;
  std::vector<std::unique_ptr<Producer>> producers_;
  std::vector<std::unique_ptr<Consumer>> consumers_;
  std::vector<std::thread> producer_threads_;
  std::vector<std::thread> consumer_threads_;
  std::vector<bool> producer_failure_seen_;
  std::vector<bool> consumer_failure_seen_;

  Clock::time_point start_;          // producers told to go
  Clock::time_point consume_start_;  // consumers running (start_, or later with --backlog)

  // Progress: the counters at the last report.
  Clock::time_point last_report_;
  uint64_t last_sent_ = 0;
  uint64_t last_received_ = 0;
  uint64_t last_confirmed_ = 0;
};

Result PerfRun::Execute() {
  topology_ = PlanTopology(options_, RunId());
  if (SetUp()) {
    CreateWorkers();
    bool started = true;
    if (options_.backlog == 0) started = StartConsumers();
    if (started) started = StartProducers();
    if (started) {
      AwaitPublishing();
      if (options_.backlog > 0 && !CheckFailures()) {
        result_.backlog = true;
        result_.backlog_published = TotalSent();
        result_.publish_rate = Rate(TotalSent(), start_, LastSend());
        ReportEvent("published");
        PauseBeforeConsuming();
        ReportEvent("consuming");
        started = StartConsumers();
      }
      if (started) AwaitDrain();
    }
  }
  const Clock::time_point end = Clock::now();
  StopAndJoin();
  CheckFailures();
  Verify();
  Summarise(end);
  TearDown();
  return std::move(result_);
}

bool PerfRun::SetUp() {
  amqp::Status status = Connection::Open(options_.uri, "warren-perf setup", &setup_);
  if (status.ok()) status = setup_->OpenChannel(1);
  std::string warning;
  if (status.ok()) status = DeclareTopology(*setup_, &topology_, &warning);
  if (!warning.empty()) result_.warnings.push_back(warning);
  if (!status.ok()) {
    result_.errors.push_back("setup: " + status.text());
    return false;
  }
  for (int i = 0; i < options_.idle_connections; ++i) {
    std::unique_ptr<Connection> idle;
    status = Connection::Open(options_.uri, "warren-perf idle " + std::to_string(i), &idle);
    if (status.ok()) status = idle->OpenChannel(1);
    if (!status.ok()) {
      result_.errors.push_back("idle connection " + std::to_string(i) + ": " + status.text());
      return false;
    }
    idle_.push_back(std::move(idle));
  }
  return true;
}

void PerfRun::CreateWorkers() {
  const int producers = options_.producers;
  for (int p = 0; p < producers; ++p) {
    uint64_t limit = options_.count > 0 ? options_.count : Producer::kNoLimit;
    if (options_.backlog > 0) {
      const uint64_t n = static_cast<uint64_t>(producers);
      limit = options_.backlog / n + (static_cast<uint64_t>(p) < options_.backlog % n ? 1 : 0);
    }
    producers_.push_back(std::make_unique<Producer>(p, options_, topology_.exchange,
                                                    topology_.producers[p].routing_key, limit));
  }
  for (size_t c = 0; c < topology_.consumers.size(); ++c) {
    std::vector<std::string> queues;
    for (int q : topology_.consumers[c]) queues.push_back(topology_.queues[q].name);
    consumers_.push_back(
        std::make_unique<Consumer>(static_cast<int>(c), options_, std::move(queues), producers));
  }
  producer_failure_seen_.assign(producers_.size(), false);
  consumer_failure_seen_.assign(consumers_.size(), false);
}

bool PerfRun::StartConsumers() {
  consume_start_ = Clock::now();  // deliveries may arrive before every consumer is ready
  for (auto& c : consumers_) {
    consumer_threads_.emplace_back([consumer = c.get(), this] { consumer->Run(&control_); });
  }
  const Clock::time_point deadline = Clock::now() + kStartTimeout;
  for (;;) {
    if (CheckFailures()) return false;
    if (std::all_of(consumers_.begin(), consumers_.end(),
                    [](const auto& c) { return c->ready(); })) {
      return true;
    }
    if (Clock::now() >= deadline) {
      result_.errors.push_back("consumers did not subscribe in time");
      return false;
    }
    std::this_thread::sleep_for(kTick);
  }
}

bool PerfRun::StartProducers() {
  for (auto& p : producers_) {
    producer_threads_.emplace_back([producer = p.get(), this] { producer->Run(&control_); });
  }
  const Clock::time_point deadline = Clock::now() + kStartTimeout;
  while (!std::all_of(producers_.begin(), producers_.end(),
                      [](const auto& p) { return p->ready(); })) {
    if (Clock::now() >= deadline) {
      result_.errors.push_back("producers did not connect in time");
      return false;
    }
    std::this_thread::sleep_for(kTick);
  }
  if (CheckFailures()) return false;
  start_ = Clock::now();
  // Consumers idle until the producers go; without producers they started consuming at once.
  if (options_.backlog == 0 && !producers_.empty()) consume_start_ = start_;
  last_report_ = start_;
  control_.go.store(true);
  control_.go.notify_all();
  return true;
}

void PerfRun::AwaitPublishing() {
  const bool timed = options_.duration_s > 0;
  const Clock::time_point deadline = start_ + ToDuration(options_.duration_s);
  for (;;) {
    std::this_thread::sleep_for(kTick);
    const Clock::time_point now = Clock::now();
    Report(now, false);
    if (CheckFailures() || interrupted() || (timed && now >= deadline)) {
      control_.stop_publishing.store(true);
    }
    if (std::all_of(producers_.begin(), producers_.end(),
                    [](const auto& p) { return p->finished(); })) {
      break;
    }
  }
  for (std::thread& t : producer_threads_) t.join();
  producer_threads_.clear();
}

void PerfRun::PauseBeforeConsuming() {
  const Clock::time_point until = Clock::now() + ToDuration(options_.backlog_pause_s);
  while (Clock::now() < until && !interrupted()) {
    std::this_thread::sleep_for(kTick);
    Report(Clock::now(), false);
  }
}

void PerfRun::AwaitDrain() {
  if (consumers_.empty()) return;
  const uint64_t expected = Expected();
  const Clock::duration quiet = ToDuration(options_.drain_timeout_s);
  Clock::time_point last_progress = Clock::now();
  uint64_t last_distinct = TotalDistinct();
  while (TotalDistinct() < expected && !CheckFailures()) {
    std::this_thread::sleep_for(kTick);
    const Clock::time_point now = Clock::now();
    Report(now, false);
    const uint64_t distinct = TotalDistinct();
    if (distinct != last_distinct) {
      last_distinct = distinct;
      last_progress = now;
    } else if (now - last_progress >= quiet) {
      break;
    }
  }
  // A last, partial interval shows where the run ended.
  Report(Clock::now(), true);
}

void PerfRun::StopAndJoin() {
  control_.stop_publishing.store(true);
  control_.stop_consuming.store(true);
  control_.go.store(true);
  control_.go.notify_all();
  for (std::thread& t : producer_threads_) t.join();
  for (std::thread& t : consumer_threads_) t.join();
  producer_threads_.clear();
  consumer_threads_.clear();
}

bool PerfRun::CheckFailures() {
  const auto check = [this](const auto& workers, std::vector<bool>* seen, const char* kind) {
    for (size_t i = 0; i < workers.size(); ++i) {
      if ((*seen)[i] || !workers[i]->finished() || workers[i]->status().ok()) continue;
      (*seen)[i] = true;
      result_.errors.push_back(std::string(kind) + " " + std::to_string(i) + ": " +
                               workers[i]->status().text());
    }
  };
  check(producers_, &producer_failure_seen_, "producer");
  check(consumers_, &consumer_failure_seen_, "consumer");
  return !result_.errors.empty();
}

uint64_t PerfRun::TotalSent() const {
  uint64_t n = 0;
  for (const auto& p : producers_) n += p->sent();
  return n;
}

uint64_t PerfRun::TotalConfirmed() const {
  uint64_t n = 0;
  for (const auto& p : producers_) n += p->confirmed();
  return n;
}

uint64_t PerfRun::TotalReceived() const {
  uint64_t n = 0;
  for (const auto& c : consumers_) n += c->received();
  return n;
}

uint64_t PerfRun::TotalDistinct() const {
  uint64_t n = 0;
  for (const auto& c : consumers_) n += c->distinct();
  return n;
}

Clock::time_point PerfRun::LastSend() const {
  Clock::time_point last = start_;
  for (const auto& p : producers_) last = std::max(last, p->last_send());
  return last;
}

Clock::time_point PerfRun::LastReceive() const {
  Clock::time_point last = consume_start_;
  for (const auto& c : consumers_) last = std::max(last, c->last_receive());
  return last;
}

uint64_t PerfRun::Expected() const {
  if (producers_.empty()) return options_.consumer_count * consumers_.size();
  uint64_t n = 0;
  for (size_t p = 0; p < producers_.size(); ++p) {
    const uint64_t must =
        options_.confirm_window > 0 ? producers_[p]->confirmed() : producers_[p]->sent();
    n += must * topology_.producers[p].queues.size();
  }
  return n;
}

void PerfRun::Report(Clock::time_point now, bool force) {
  if (progress_ == nullptr) return;
  const double interval = Seconds(now - last_report_);
  // Forced reports skip intervals too short to give a meaningful rate.
  if (interval < options_.interval_s * (force ? 0.1 : 1.0)) return;
  const uint64_t sent = TotalSent();
  const uint64_t received = TotalReceived();
  const uint64_t confirmed = TotalConfirmed();
  char line[200];
  std::snprintf(line, sizeof(line), "time=%.1f sent_rate=%.0f recv_rate=%.0f confirmed_rate=%.0f\n",
                Seconds(now - start_), static_cast<double>(sent - last_sent_) / interval,
                static_cast<double>(received - last_received_) / interval,
                static_cast<double>(confirmed - last_confirmed_) / interval);
  *progress_ << line << std::flush;
  last_report_ = now;
  last_sent_ = sent;
  last_received_ = received;
  last_confirmed_ = confirmed;
}

void PerfRun::ReportEvent(const char* name) {
  if (progress_ == nullptr) return;
  char line[80];
  std::snprintf(line, sizeof(line), "event=%s time=%.3f\n", name, Seconds(Clock::now() - start_));
  *progress_ << line << std::flush;
}

void PerfRun::Verify() {
  if (producers_.empty()) {
    // Messages of an earlier run: each consumer must have had its -D.
    for (const auto& c : consumers_) {
      if (c->distinct() < options_.consumer_count) {
        result_.lost += options_.consumer_count - c->distinct();
      }
    }
    return;
  }
  for (size_t p = 0; p < producers_.size(); ++p) {
    const Producer& producer = *producers_[p];
    const uint64_t sent = producer.sent();
    const std::vector<int>& routed = topology_.producers[p].queues;
    for (size_t q = 0; q < topology_.queues.size(); ++q) {
      const bool reaches =
          std::find(routed.begin(), routed.end(), static_cast<int>(q)) != routed.end();
      // The consumers draining queue q, each with the slot it knows q by.
      std::vector<const SequenceSet*> sets;
      uint64_t words = (sent + 63) / 64;
      for (size_t c = 0; c < consumers_.size(); ++c) {
        const std::vector<int>& drains = topology_.consumers[c];
        for (size_t slot = 0; slot < drains.size(); ++slot) {
          if (drains[slot] != static_cast<int>(q)) continue;
          sets.push_back(&consumers_[c]->seen(slot, static_cast<int>(p)));
          words = std::max(words, sets.back()->word_count());
        }
      }
      if (sets.empty()) continue;  // a queue without consumers is not checked
      for (uint64_t w = 0; w < words; ++w) {
        uint64_t received = 0;
        for (const SequenceSet* set : sets) {
          const uint64_t bits = set->Word(w);
          result_.duplicates += static_cast<uint64_t>(__builtin_popcountll(received & bits));
          received |= bits;
        }
        const uint64_t valid = MaskBelow(w, sent);
        if (!reaches) {
          result_.misrouted += static_cast<uint64_t>(__builtin_popcountll(received));
          continue;
        }
        const uint64_t must =
            options_.confirm_window > 0 ? producer.acked().Word(w) & valid : valid;
        result_.lost += static_cast<uint64_t>(__builtin_popcountll(must & ~received));
      }
    }
  }
}

void PerfRun::Summarise(Clock::time_point end) {
  LatencyHistogram latency;
  LatencyHistogram confirm_latency;
  uint64_t producer_cpu = 0;
  uint64_t consumer_cpu = 0;
  for (const auto& p : producers_) {
    confirm_latency.Merge(p->confirm_latency());
    producer_cpu += p->cpu_ns();
    result_.sent += p->sent();
    result_.confirmed += p->confirmed();
    result_.nacked += p->nacked();
  }
  for (const auto& c : consumers_) {
    consumer_cpu += c->cpu_ns();
    result_.received += c->received();
    result_.duplicates += c->duplicates();
    result_.corrupt += c->corrupt();
    result_.redelivered += c->redelivered();
    result_.dropped += c->dropped();
    latency.Merge(c->latency());
  }
  result_.send_rate = Rate(result_.sent, start_, LastSend());
  result_.recv_rate = Rate(result_.received, consume_start_, LastReceive());
  result_.latency_p50_us = static_cast<double>(latency.Percentile(0.5)) / 1000;
  result_.latency_p99_us = static_cast<double>(latency.Percentile(0.99)) / 1000;
  result_.latency_p999_us = static_cast<double>(latency.Percentile(0.999)) / 1000;
  result_.latency_max_us = static_cast<double>(latency.max()) / 1000;
  result_.confirm_p50_us = static_cast<double>(confirm_latency.Percentile(0.5)) / 1000;
  result_.confirm_p99_us = static_cast<double>(confirm_latency.Percentile(0.99)) / 1000;
  result_.confirm_p999_us = static_cast<double>(confirm_latency.Percentile(0.999)) / 1000;
  result_.confirm_max_us = static_cast<double>(confirm_latency.max()) / 1000;
  result_.elapsed_s = start_ == Clock::time_point{} ? 0 : Seconds(end - start_);
  if (result_.sent > 0) {
    result_.producer_cpu_ns_per_msg =
        static_cast<double>(producer_cpu) / static_cast<double>(result_.sent);
  }
  if (result_.received > 0) {
    result_.consumer_cpu_ns_per_msg =
        static_cast<double>(consumer_cpu) / static_cast<double>(result_.received);
  }
  if (result_.backlog) result_.drain_rate = result_.recv_rate;
}

void PerfRun::TearDown() {
  if (setup_ && options_.keep_queues) {
    setup_->Close();
  } else if (setup_) {
    const amqp::Status status = DeleteQueues(*setup_, topology_);
    if (!status.ok()) result_.warnings.push_back("deleting queues: " + status.text());
    setup_->Close();
  }
  for (auto& idle : idle_) idle->Close();
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out->append(buf);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

}  // namespace

Result RunPerf(const Options& options, std::ostream* progress,
               const std::atomic<bool>* interrupted) {
  return PerfRun(options, progress, interrupted).Execute();
}

std::string FormatSummary(const Result& r, bool json) {
  struct Field {
    const char* name;
    double value;
    int decimals;
  };
  const auto u = [](uint64_t v) { return static_cast<double>(v); };
  std::vector<Field> fields = {
      {"sent", u(r.sent), 0},
      {"received", u(r.received), 0},
      {"confirmed", u(r.confirmed), 0},
      {"send_rate", r.send_rate, 0},
      {"recv_rate", r.recv_rate, 0},
      {"latency_p50_us", r.latency_p50_us, 1},
      {"p99_us", r.latency_p99_us, 1},
      {"p999_us", r.latency_p999_us, 1},
      {"lost", u(r.lost), 0},
      {"duplicates", u(r.duplicates), 0},
      {"corrupt", u(r.corrupt), 0},
      {"misrouted", u(r.misrouted), 0},
      {"redelivered", u(r.redelivered), 0},
      {"nacked", u(r.nacked), 0},
      {"dropped", u(r.dropped), 0},
      {"latency_max_us", r.latency_max_us, 1},
      {"elapsed_s", r.elapsed_s, 2},
      {"producer_cpu_ns_per_msg", r.producer_cpu_ns_per_msg, 0},
      {"consumer_cpu_ns_per_msg", r.consumer_cpu_ns_per_msg, 0},
      {"confirm_p50_us", r.confirm_p50_us, 1},
      {"confirm_p99_us", r.confirm_p99_us, 1},
      {"confirm_p999_us", r.confirm_p999_us, 1},
      {"confirm_max_us", r.confirm_max_us, 1},
  };
  std::vector<Field> backlog = {
      {"backlog_published", u(r.backlog_published), 0},
      {"publish_rate", r.publish_rate, 0},
      {"drain_rate", r.drain_rate, 0},
  };
  std::string out;
  char buf[64];
  const auto append = [&](const Field& f, const char* separator) {
    out += separator;
    out += json ? "\"" : "";
    out += f.name;
    out += json ? "\":" : "=";
    std::snprintf(buf, sizeof(buf), "%.*f", f.decimals, f.value);
    out += buf;
  };
  if (json) {
    out += "{";
    const char* separator = "";
    for (const Field& f : fields) append(f, std::exchange(separator, ","));
    if (r.backlog) {
      for (const Field& f : backlog) append(f, ",");
    }
    out += r.ok() ? ",\"ok\":true,\"errors\":[" : ",\"ok\":false,\"errors\":[";
    for (size_t i = 0; i < r.errors.size(); ++i) {
      if (i > 0) out += ",";
      AppendJsonString(&out, r.errors[i]);
    }
    out += "]}\n";
    return out;
  }
  const char* separator = "";
  for (const Field& f : fields) append(f, std::exchange(separator, " "));
  out += "\n";
  if (r.backlog) {
    separator = "";
    for (const Field& f : backlog) append(f, std::exchange(separator, " "));
    out += "\n";
  }
  return out;
}

}  // namespace warren::perf
