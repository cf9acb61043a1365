// Options: what one warren-perf run does, as PerfTest's command-line flags spell it.
//
// The flags follow RabbitMQ's PerfTest (-h URI, -x producers, -y consumers, -s size, ...)
// so that a run reads the same against either tool; UsageText() lists them all.

#pragma once

#include <cstdint>
#include <string>

#include "amqp/status.h"
#include "bench/perf/amqp_uri.h"

namespace warren::perf {

// The smallest body: the stamp every message carries (see message_body.h).
inline constexpr uint32_t kMinBodySize = 16;

struct Options {
  std::string uri_text = "amqp://guest:guest@127.0.0.1:5672/%2F";  // -h
  AmqpUri uri;                                                     // parsed from uri_text

  int producers = 1;             // -x
  int consumers = 1;             // -y
  uint32_t body_size = 16;       // -s, bytes, at least kMinBodySize
  double duration_s = 0;         // -z, 0: until -C is reached (or forever without it)
  uint64_t count = 0;            // -C, messages per producer, 0: unlimited
  uint64_t consumer_count = 0;   // -D, messages per consumer (only with -x 0), 0: unlimited
  uint16_t prefetch = 0;         // -q, basic.qos per consumer, 0: none
  uint32_t confirm_window = 0;   // -c, outstanding publisher confirms, 0: no confirms
  bool persistent = false;       // -f persistent: delivery-mode 2 and durable queues
  bool auto_ack = false;         // -a
  uint32_t multi_ack_every = 0;  // -A, 0: ack each message on its own
  double rate = 0;               // -r, messages per second per producer, 0: unlimited

  std::string queue;             // -u, empty: a server-named queue per consumer
  std::string exchange_type;     // -t, empty: "fanout" with --fanout, else "direct"
  std::string exchange;          // -e, empty: the exchange type's name, as PerfTest
  bool exchange_set = false;     // -e was given (it may name the default exchange "")
  std::string routing_key;       // -k, empty: generated per run
  int queues = 0;                // --queues N
  int fanout = 0;                // --fanout N
  int idle_connections = 0;      // --connections N
  uint64_t backlog = 0;          // --backlog N, messages in all
  double backlog_pause_s = 0;    // --backlog-pause: idle time between publishing and consuming
  bool keep_queues = false;      // --keep-queues: leave the declared queues at the end
  double interval_s = 1;         // -i
  bool json = false;             // --json: the summary as one JSON object
  double drain_timeout_s = 10;   // --drain-timeout: bound on waiting for stragglers
  uint64_t test_drop_every = 0;  // --test-drop-every N (tests: consumers lose messages)
  bool help = false;             // --help
};

// Parses argv (argv[0] is the program name) into *out, starting from the defaults above.
// Accepts "-x 3", "--producers 3" and "--producers=3". Fails with 502 SYNTAX_ERROR and a
// message naming the flag for unknown flags, missing or malformed values, and
// combinations that cannot work (e.g. --queues with --fanout, -a with -A, -D with
// producers).
amqp::Status ParseOptions(int argc, const char* const* argv, Options* out);

// The flags and their meaning, for --help and usage errors.
const char* UsageText();

}  // namespace warren::perf
