// Consumer: one consuming connection on its own thread, draining one or more queues.
//
// It reads large chunks and handles every frame in them: each delivery's body is checked
// byte for byte against its stamp (see message_body.h), its sequence number recorded per
// (queue, producer) to find losses and duplicates, and its latency recorded. Acks are
// gathered and sent once per chunk (each message, or multiple=true every -A messages;
// pending ones also when the stream goes quiet).
//
// With -D N it takes N deliveries and leaves the rest unacknowledged (the broker requeues
// them when the connection closes). In a run without producers (-x 0) the messages come
// from an earlier run: their producers and sequence numbers cannot be checked against
// what was published, but their bytes and duplicates still are.

#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "amqp/content.h"
#include "amqp/status.h"
#include "bench/perf/connection.h"
#include "bench/perf/latency_histogram.h"
#include "bench/perf/message_body.h"
#include "bench/perf/options.h"
#include "bench/perf/run_control.h"
#include "bench/perf/sequence_set.h"

namespace warren::perf {

class Consumer {
 public:
  // Drains `queues` (names), receiving from `producers` producers (0: from an earlier
  // run's, whichever they are). `options` must outlive the Consumer.
  Consumer(int id, const Options& options, std::vector<std::string> queues, int producers);

  // The thread body: connects, subscribes, reports ready() once every basic.consume-ok
  // has arrived, consumes until control->stop_consuming, then closes.
  void Run(RunControl* control);

  // Safe from any thread while Run runs.
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  // Deliveries counted (not dropped by --test-drop-every), duplicates included.
  uint64_t received() const { return received_count_.load(std::memory_order_relaxed); }
  // Distinct intact messages received.
  uint64_t distinct() const { return distinct_count_.load(std::memory_order_relaxed); }
  // When the last delivery arrived (steady clock), or zero before any.
  Clock::time_point last_receive() const {
    return Clock::time_point(Clock::duration(last_receive_.load(std::memory_order_relaxed)));
  }

  // After Run has returned:
  const amqp::Status& status() const { return status_; }
  // CPU time the thread used, in nanoseconds.
  uint64_t cpu_ns() const { return cpu_ns_; }
  // Sequence numbers from `producer` received from queue number `slot` (an index into
  // the constructor's `queues`).
  const SequenceSet& seen(size_t slot, int producer) const {
    return seen_[slot][static_cast<size_t>(producer)];
  }
  const LatencyHistogram& latency() const { return latency_; }
  uint64_t duplicates() const { return duplicates_; }
  uint64_t corrupt() const { return corrupt_; }
  uint64_t redelivered() const { return redelivered_; }
  uint64_t dropped() const { return dropped_; }

 private:
  // The delivery whose content is being read.
  struct Delivery {
    size_t slot = 0;
    uint64_t delivery_tag = 0;
    bool redelivered = false;
    uint64_t offset = 0;  // body bytes read so far
    char stamp_bytes[kStampSize];
    Stamp stamp;
    bool bad = false;  // wrong size or bytes
  };

  amqp::Status Setup();
  amqp::Status Consume(RunControl* control);
  // Handles every complete frame read so far; `now_ns` is when they arrived.
  amqp::Status HandleFrames(RunControl* control, uint64_t now_ns);
  amqp::Status OnDeliver(std::string_view arguments);
  void OnBody(std::string_view payload);
  // The delivery's content is complete: verify, count and ack it.
  void Finish(RunControl* control, uint64_t now_ns);
  void AppendAck(uint64_t tag, bool multiple);

  const int id_;
  const Options& options_;
  const std::vector<std::string> queues_;
  const int producers_;
  const uint64_t limit_;  // deliveries to take (-D), UINT64_MAX without a limit

  std::unique_ptr<Connection> connection_;
  amqp::ContentAssembler assembler_;
  Delivery delivery_;
  std::string ack_frame_;  // basic.ack with tag 0, the template AppendAck patches
  size_t consume_oks_ = 0;
  uint64_t deliveries_ = 0;  // all basic.delivers completed, dropped ones included
  uint64_t unacked_ = 0;     // delivered since the last ack (with -A)
  uint64_t last_tag_ = 0;    // the latest delivery tag (with -A)
  uint64_t received_total_ = 0;
  uint64_t distinct_total_ = 0;

  // [slot][producer]; with producers_ == 0, grown to the producer ids that arrive.
  std::vector<std::vector<SequenceSet>> seen_;
  LatencyHistogram latency_;
  uint64_t duplicates_ = 0;
  uint64_t corrupt_ = 0;
  uint64_t redelivered_ = 0;
  uint64_t dropped_ = 0;
  amqp::Status status_;
  uint64_t cpu_ns_ = 0;

  std::atomic<bool> ready_{false};
  std::atomic<bool> finished_{false};
  std::atomic<uint64_t> received_count_{0};
  std::atomic<uint64_t> distinct_count_{0};
  std::atomic<Clock::rep> last_receive_{0};
};

}  // namespace warren::perf
