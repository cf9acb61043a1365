// Producer: one publishing connection on its own thread.
//
// It publishes to its route's exchange and routing key, in batches: a publish (method,
// content header and body frames) is copied from a template built once and stamped in
// place (see message_body.h), and up to 64 KiB of publishes go out in one send(). Between
// sends it reads without blocking, for confirms and connection.blocked. With confirms it
// remembers when each unconfirmed message was published, to record how long its confirm
// took. It stops at its message limit or when told to, waits (bounded) for outstanding
// confirms, and closes its channel before its connection.

#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "amqp/status.h"
#include "bench/perf/connection.h"
#include "bench/perf/latency_histogram.h"
#include "bench/perf/options.h"
#include "bench/perf/run_control.h"
#include "bench/perf/sequence_set.h"

namespace warren::perf {

class Producer {
 public:
  // Bytes of publishes gathered into one send().
  static constexpr size_t kBatchBytes = 64 * 1024;

  // A limit that is never reached.
  static constexpr uint64_t kNoLimit = UINT64_MAX;

  // Publishes to `exchange` with `routing_key`; `limit` messages at most (kNoLimit).
  // `options` must outlive the Producer.
  Producer(int id, const Options& options, std::string exchange, std::string routing_key,
           uint64_t limit);

  // The thread body: connects, reports ready(), waits for control->go, publishes until
  // the limit or control->stop_publishing, then closes. `control` must outlive the call.
  void Run(RunControl* control);

  // Safe from any thread while Run runs.
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }
  uint64_t confirmed() const { return confirmed_count_.load(std::memory_order_relaxed); }
  // When the last batch was fully written (steady clock), or zero before any; at the end,
  // when the broker answered channel.close, having handled every publish.
  Clock::time_point last_send() const {
    return Clock::time_point(Clock::duration(last_send_.load(std::memory_order_relaxed)));
  }

  // After Run has returned:
  const amqp::Status& status() const { return status_; }
  // CPU time the thread used, in nanoseconds.
  uint64_t cpu_ns() const { return cpu_ns_; }
  // The sequence numbers the broker confirmed with basic.ack.
  const SequenceSet& acked() const { return acked_; }
  uint64_t nacked() const { return nacked_; }
  // Publish-to-confirm times (basic.ack or basic.nack), with -c.
  const LatencyHistogram& confirm_latency() const { return confirm_latency_; }

 private:
  amqp::Status Setup();
  amqp::Status Publish(RunControl* control);
  // Closes the channel, waiting for channel.close-ok: the broker has then handled every
  // publish before it. (RabbitMQ drops publishes still inside the broker when
  // connection.close follows them at once.)
  amqp::Status CloseChannel();
  // How many messages may go out now: at most `batch_max`, none while output is pending
  // or the connection is blocked, and within the message limit and the confirm window.
  uint64_t Room(uint64_t batch_max) const;
  // Builds the publish template and the positions of its body bytes.
  void BuildTemplate();
  // Appends `n` stamped publishes to the connection's output.
  void AppendBatch(uint64_t n);
  // Handles every complete frame read so far; `now_ns` is when they arrived.
  amqp::Status HandleFrames(uint64_t now_ns);
  // Records basic.ack (ack) or basic.nack for delivery tag `tag`, arrived at `now_ns`.
  amqp::Status Settle(uint64_t tag, bool multiple, bool ack, uint64_t now_ns);
  void Mark(uint64_t sequence, bool ack, uint64_t now_ns);
  uint64_t outstanding() const { return next_sequence_ - settled_.count(); }

  // Where the template's body bytes lie: template offset, body offset, length.
  struct BodySegment {
    size_t at;
    size_t body_offset;
    size_t length;
  };

  const int id_;
  const Options& options_;
  const std::string exchange_;
  const std::string routing_key_;
  const uint64_t limit_;
  const bool confirms_;

  std::unique_ptr<Connection> connection_;
  std::string template_;
  std::vector<BodySegment> segments_;

  uint64_t next_sequence_ = 0;   // the next message's sequence number
  uint64_t batch_messages_ = 0;  // messages in the output not yet fully sent
  uint64_t sent_total_ = 0;
  SequenceSet settled_;  // acked or nacked
  SequenceSet acked_;
  uint64_t lowest_unsettled_ = 0;
  uint64_t nacked_ = 0;
  // With confirms: when messages lowest_unsettled_, lowest_unsettled_ + 1, ... were
  // published (NowNs), up to the last one published.
  std::deque<uint64_t> publish_ns_;
  LatencyHistogram confirm_latency_;
  amqp::Status status_;
  uint64_t cpu_ns_ = 0;

  std::atomic<bool> ready_{false};
  std::atomic<bool> finished_{false};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> confirmed_count_{0};
  std::atomic<Clock::rep> last_send_{0};
};

}  // namespace warren::perf
