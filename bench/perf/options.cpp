// Command-line parsing for warren-perf (see options.h).

#include "bench/perf/options.h"

#include <charconv>
#include <cmath>
#include <functional>
#include <string_view>

namespace warren::perf {

namespace {

amqp::Status UsageError(std::string text) {
  return amqp::Status::Error(amqp::ReplyCode::kSyntaxError, std::move(text));
}

template <class T>
bool ParseInteger(std::string_view text, T min, T max, T* out) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return false;
  }
  *out = value;
  return true;
}

bool ParseSeconds(std::string_view text, double* out) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < 0) {
    return false;
  }
  *out = value;
  return true;
}

// One flag: its short and long spellings, whether it takes a value, and what it sets.
struct Flag {
  std::string_view short_name;  // "-x", or empty
  std::string_view long_name;   // "--producers"
  bool takes_value;
  // Applies the value (empty for switches); false if the value is malformed.
  std::function<bool(std::string_view, Options*)> apply;
  std::string expected = "";  // what a good value looks like, for the error message
};

template <class T>
Flag IntegerFlag(std::string_view s, std::string_view l, T Options::*member, T min, T max) {
  return {s, l, true,
          [member, min, max](std::string_view v, Options* o) {
            return ParseInteger(v, min, max, &(o->*member));
          },
          "an integer from " + std::to_string(min) + " to " + std::to_string(max)};
}

Flag SecondsFlag(std::string_view s, std::string_view l, double Options::*member) {
  return {s, l, true,
          [member](std::string_view v, Options* o) { return ParseSeconds(v, &(o->*member)); },
          "a number, at least 0"};
}

Flag StringFlag(std::string_view s, std::string_view l, std::string Options::*member) {
  return {s, l, true, [member](std::string_view v, Options* o) {
            o->*member = std::string(v);
            return true;
          }};
}

Flag SwitchFlag(std::string_view s, std::string_view l, bool Options::*member) {
  return {s, l, false, [member](std::string_view, Options* o) {
            o->*member = true;
            return true;
          }};
}

const std::vector<Flag>& Flags() {
  static const std::vector<Flag> flags = {
      StringFlag("-h", "--uri", &Options::uri_text),
      IntegerFlag("-x", "--producers", &Options::producers, 0, 65535),
      IntegerFlag("-y", "--consumers", &Options::consumers, 0, 65535),
      IntegerFlag("-s", "--size", &Options::body_size, kMinBodySize, uint32_t{128} << 20),
      SecondsFlag("-z", "--time", &Options::duration_s),
      IntegerFlag("-C", "--pmessages", &Options::count, uint64_t{0}, uint64_t{1} << 47),
      IntegerFlag("-D", "--cmessages", &Options::consumer_count, uint64_t{0}, uint64_t{1} << 47),
      IntegerFlag("-q", "--qos", &Options::prefetch, uint16_t{0}, uint16_t{65535}),
      IntegerFlag("-c", "--confirm", &Options::confirm_window, uint32_t{0}, uint32_t{1} << 30),
      {"-f", "--flag", true,
       [](std::string_view v, Options* o) {
         if (v != "persistent") return false;
         o->persistent = true;
         return true;
       },
       "persistent"},
      SwitchFlag("-a", "--autoack", &Options::auto_ack),
      IntegerFlag("-A", "--multi-ack-every", &Options::multi_ack_every, uint32_t{0},
                  uint32_t{1} << 30),
      SecondsFlag("-r", "--rate", &Options::rate),
      StringFlag("-u", "--queue", &Options::queue),
      StringFlag("-t", "--type", &Options::exchange_type),
      {"-e", "--exchange", true,
       [](std::string_view v, Options* o) {
         o->exchange = std::string(v);
         o->exchange_set = true;
         return true;
       }},
      StringFlag("-k", "--routing-key", &Options::routing_key),
      IntegerFlag("", "--queues", &Options::queues, 1, 65535),
      IntegerFlag("", "--fanout", &Options::fanout, 1, 65535),
      IntegerFlag("", "--connections", &Options::idle_connections, 0, 1000000),
      IntegerFlag("", "--backlog", &Options::backlog, uint64_t{1}, uint64_t{1} << 47),
      SecondsFlag("", "--backlog-pause", &Options::backlog_pause_s),
      SwitchFlag("", "--keep-queues", &Options::keep_queues),
      SecondsFlag("-i", "--interval", &Options::interval_s),
      SwitchFlag("", "--json", &Options::json),
      SecondsFlag("", "--drain-timeout", &Options::drain_timeout_s),
      IntegerFlag("", "--test-drop-every", &Options::test_drop_every, uint64_t{1}, UINT64_MAX),
      SwitchFlag("-?", "--help", &Options::help),
  };
  return flags;
}

// Checks combinations of flags and fills in defaults that depend on others.
amqp::Status Finish(Options* o) {
  if (o->help) return amqp::Status::Ok();
  if (o->queues > 0 && o->fanout > 0) return UsageError("--queues and --fanout exclude each other");
  if (o->auto_ack && o->multi_ack_every > 0) return UsageError("-a and -A exclude each other");
  if (o->interval_s <= 0) return UsageError("-i must be above 0 seconds");
  if (o->consumer_count > 0 && o->producers > 0) {
    return UsageError("-D is for runs that consume what the queues hold: it needs -x 0");
  }
  if (o->consumer_count > 0 && o->consumers == 0) return UsageError("-D needs consumers (-y)");
  if (o->backlog_pause_s > 0 && o->backlog == 0)
    return UsageError("--backlog-pause needs --backlog");
  if (o->exchange_type.empty()) o->exchange_type = o->fanout > 0 ? "fanout" : "direct";
  if (o->exchange_type != "direct" && o->exchange_type != "fanout" && o->exchange_type != "topic") {
    return UsageError("-t must be direct, fanout or topic, not '" + o->exchange_type + "'");
  }
  if (o->fanout > 0 && o->exchange_type != "fanout") return UsageError("--fanout needs -t fanout");
  if (!o->exchange_set) o->exchange = o->exchange_type;
  if (o->exchange.empty() && o->fanout > 0) {
    return UsageError("--fanout needs an exchange, not the default exchange");
  }
  return ParseAmqpUri(o->uri_text, &o->uri);
}

}  // namespace

amqp::Status ParseOptions(int argc, const char* const* argv, Options* out) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view inline_value;
    bool has_inline_value = false;
    if (arg.substr(0, 2) == "--") {
      if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
        inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_inline_value = true;
      }
    }
    const Flag* flag = nullptr;
    for (const Flag& f : Flags()) {
      if (arg == f.long_name || (!f.short_name.empty() && arg == f.short_name)) flag = &f;
    }
    if (flag == nullptr) return UsageError("unknown option '" + std::string(arg) + "'");
    std::string_view value;
    if (flag->takes_value) {
      if (has_inline_value) {
        value = inline_value;
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return UsageError("option '" + std::string(arg) + "' needs a value");
      }
    } else if (has_inline_value) {
      return UsageError("option '" + std::string(arg) + "' takes no value");
    }
    if (!flag->apply(value, &options)) {
      std::string text = "bad value '" + std::string(value) + "' for " + std::string(arg);
      if (!flag->expected.empty()) text += " (expected " + flag->expected + ")";
      return UsageError(text);
    }
  }
  amqp::Status finished = Finish(&options);
  if (!finished.ok()) return finished;
  *out = std::move(options);
  return amqp::Status::Ok();
}

const char* UsageText() {
  return R"(usage: warren-perf [options]
A load generator for AMQP 0-9-1 brokers with RabbitMQ PerfTest's flags.

  -h, --uri URI            broker (default amqp://guest:guest@127.0.0.1:5672/%2F)
  -x, --producers N        producers, each on its own connection and thread (default 1)
  -y, --consumers N        consumers, each on its own connection and thread (default 1)
  -s, --size BYTES         message body size, at least 16: the stamp of timestamp, producer
                           and sequence number; the rest is a pattern consumers verify
                           (default 16)
  -z, --time SECONDS       publish for this long, then drain and stop
  -C, --pmessages N        messages per producer, then drain and stop
  -D, --cmessages N        with -x 0: each consumer takes N messages that are already in its
                           queues (published by an earlier run), checks them and stops; fewer
                           than N before --drain-timeout are reported as lost
  -q, --qos N              basic.qos prefetch per consumer (default 0: none)
  -c, --confirm N          publisher confirms with at most N outstanding (default 0: none)
  -f, --flag persistent    delivery-mode 2, and the queues the tool declares are durable
  -a, --autoack            consume with no-ack
  -A, --multi-ack-every N  ack with multiple=true every N messages (default: each message)
  -r, --rate N             messages per second per producer (default 0: unlimited)
  -u, --queue NAME         one queue (or with --queues/--fanout the prefix of their names),
                           declared by the tool, shared by all consumers
  -t, --type TYPE          exchange type: direct, fanout or topic (default direct)
  -e, --exchange NAME      exchange (default: the type's name, e.g. "direct"); "" is the
                           default exchange, amq.* exchanges are used without declaring
  -k, --routing-key KEY    routing key (default: generated per run)
      --queues N           N queues; producers and consumers spread round robin over them
      --fanout N           a fanout exchange bound to N queues; every message reaches each
      --connections N      N extra idle connections with one open channel each
      --backlog N          publish N messages with no consumer, then consume them; prints
                           backlog_published=N publish_rate=X drain_rate=X
      --backlog-pause S    with --backlog, wait S seconds between the last confirm and
                           starting the consumers (to measure the broker at rest)
      --keep-queues        do not delete the queues the run declared (to restart the broker
                           with their messages, or consume them with -x 0 -D N later)
  -i, --interval SECONDS   progress report interval (default 1)
      --json               print the summary as one JSON object
      --drain-timeout S    once publishing stops, how long to wait for the next expected
                           message (or outstanding confirm) before counting the rest as
                           lost (default 10)
      --test-drop-every N  (tests) consumers discard every Nth message, which must be
                           reported as lost
  -?, --help               this text

Progress goes to stderr, one line per interval:
  time=S sent_rate=X recv_rate=X confirmed_rate=X
and with --backlog one line when publishing has ended and one when consuming starts:
  event=published time=S
  event=consuming time=S
The summary goes to stdout as one line:
  sent=N received=N confirmed=N send_rate=X recv_rate=X latency_p50_us=X p99_us=X
  p999_us=X lost=N duplicates=N corrupt=N misrouted=N redelivered=N nacked=N dropped=N
  latency_max_us=X elapsed_s=X producer_cpu_ns_per_msg=X consumer_cpu_ns_per_msg=X
  confirm_p50_us=X confirm_p99_us=X confirm_p999_us=X confirm_max_us=X
(latency: publish to delivery, from the timestamp in the body; confirm: publish to the
broker's basic.ack, with -c)
and with --backlog a second line: backlog_published=N publish_rate=X drain_rate=X
(rates in messages per second; --json prints the same keys as one object).
Exit status: 0 on success; 1 on lost or corrupt messages or a protocol error; 2 on bad usage.
)";
}

}  // namespace warren::perf
