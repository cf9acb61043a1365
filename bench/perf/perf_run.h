// RunPerf: one warren-perf run from start to verdict. It declares the topology, starts
// the consumers and producers (each on its own connection and thread), reports progress
// every interval, stops publishing after -z or -C, waits (bounded) for the messages still
// in flight, checks that every message routed to a queue arrived there exactly once with
// its bytes intact, deletes its queues (unless --keep-queues) and returns the counts.
// Without producers and with -D N, the consumers instead take N messages each that an
// earlier run left in the queues, and fewer than N count as lost.

#pragma once

#include <atomic>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "bench/perf/options.h"

namespace warren::perf {

struct Result {
  uint64_t sent = 0;         // messages fully written to the sockets
  uint64_t received = 0;     // deliveries counted by consumers (duplicates included)
  uint64_t confirmed = 0;    // basic.ack'ed by the broker (with -c)
  uint64_t nacked = 0;       // basic.nack'ed (with -c)
  uint64_t lost = 0;         // routed (and, with -c, confirmed) but never received
  uint64_t duplicates = 0;   // received more than once from the same queue
  uint64_t corrupt = 0;      // wrong bytes, size or stamp
  uint64_t misrouted = 0;    // received from a queue the message was not routed to
  uint64_t redelivered = 0;  // deliveries flagged redelivered
  uint64_t dropped = 0;      // discarded by --test-drop-every
  double send_rate = 0;      // messages per second until the broker had taken them all in
  double recv_rate = 0;      // messages per second over the consuming time
  double latency_p50_us = 0;
  double latency_p99_us = 0;
  double latency_p999_us = 0;
  double latency_max_us = 0;
  // Publish to basic.ack/nack, with -c.
  double confirm_p50_us = 0;
  double confirm_p99_us = 0;
  double confirm_p999_us = 0;
  double confirm_max_us = 0;
  double elapsed_s = 0;
  // warren-perf's own CPU per message: producer threads per message sent, consumer threads
  // per message received.
  double producer_cpu_ns_per_msg = 0;
  double consumer_cpu_ns_per_msg = 0;

  bool backlog = false;  // --backlog: the fields below are set
  uint64_t backlog_published = 0;
  double publish_rate = 0;
  double drain_rate = 0;

  std::vector<std::string> errors;    // protocol and connection errors, setup failures
  std::vector<std::string> warnings;  // things worth saying that do not fail the run

  // No errors, nothing lost, corrupt or misrouted.
  bool ok() const { return errors.empty() && lost == 0 && corrupt == 0 && misrouted == 0; }
};

// Runs `options`. Progress lines ("time=S sent_rate=X recv_rate=X confirmed_rate=X") go to
// *progress if it is not null. Setting *interrupted (if given) stops publishing early;
// the run then drains and reports as usual.
Result RunPerf(const Options& options, std::ostream* progress,
               const std::atomic<bool>* interrupted = nullptr);

// The summary: one line of key=value pairs ("sent=N received=N confirmed=N send_rate=X
// recv_rate=X latency_p50_us=X p99_us=X p999_us=X lost=N ... confirm_p50_us=X ..."), or one
// JSON object with the
// same keys. With --backlog a second line "backlog_published=N publish_rate=X
// drain_rate=X" follows (in JSON, more keys). Ends with a newline.
std::string FormatSummary(const Result& result, bool json);

}  // namespace warren::perf
