// QueueSettings: RabbitMQ 3.10's queue.declare argument checks (rabbit_amqqueue:declare_args)
// and the reading of the values they accept.

#include "server/queue_settings.h"

#include <algorithm>
#include <charconv>
#include <type_traits>
#include <variant>

namespace warren::server {

namespace {

using amqp::FieldValue;
using amqp::ReplyCode;
using amqp::Status;

const std::string* StringOf(const FieldValue& value) { return std::get_if<std::string>(&value); }

// A failed check, as RabbitMQ prints the Erlang term that describes it.
struct Invalid {
  std::string term;
};

std::string Quoted(std::string_view s) {
  // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict) on "..." + std::string.
  std::string quoted(1, '"');
  quoted.append(s);
  quoted.push_back('"');
  return quoted;
}

std::optional<Invalid> NotInteger(const FieldValue& value) {
  return Invalid{Quoted("expected integer, got " + std::string(amqp::FieldTypeName(value)))};
}

std::optional<Invalid> UnacceptableType(const FieldValue& value) {
  return Invalid{"{unacceptable_type," + std::string(amqp::FieldTypeName(value)) + "}"};
}

// rabbit_misc:check_expiry.
std::optional<Invalid> CheckExpiry(int64_t n) {
  if (n > kMaxExpiry) return Invalid{"{value_too_large," + std::to_string(n) + "}"};
  if (n < 0) return Invalid{"{value_negative," + std::to_string(n) + "}"};
  return std::nullopt;
}

std::optional<Invalid> CheckNonNegative(const FieldValue& value, std::optional<int64_t>* out) {
  const auto n = amqp::IntegerValue(value);
  if (!n) return NotInteger(value);
  if (*n < 0) return Invalid{"{value_negative," + std::to_string(*n) + "}"};
  *out = *n;
  return std::nullopt;
}

std::optional<Invalid> CheckOneOf(const FieldValue& value,
                                  std::initializer_list<std::string_view> known,
                                  const std::string& unknown, const std::string** out) {
  const std::string* s = StringOf(value);
  if (s == nullptr) return UnacceptableType(value);
  for (std::string_view k : known) {
    if (*s == k) {
      *out = s;
      return std::nullopt;
    }
  }
  return Invalid{unknown};
}

// Checks one argument RabbitMQ knows and reads it into *out.
std::optional<Invalid> CheckArgument(std::string_view name, const FieldValue& value,
                                     const amqp::FieldTable& all, QueueSettings* out) {
  if (name == "x-expires" || name == "x-message-ttl") {
    const auto n = amqp::IntegerValue(value);
    if (!n) return NotInteger(value);
    if (name == "x-expires" && *n == 0) return Invalid{"{value_zero,0}"};
    if (auto bad = CheckExpiry(*n)) return bad;
    (name == "x-expires" ? out->expires : out->message_ttl) = *n;
    return std::nullopt;
  }
  if (name == "x-dead-letter-exchange") {
    const std::string* s = StringOf(value);
    if (s == nullptr) return UnacceptableType(value);
    out->dead_letter_exchange = *s;
    return std::nullopt;
  }
  if (name == "x-dead-letter-routing-key") {
    const std::string* s = StringOf(value);
    if (s == nullptr) return UnacceptableType(value);
    if (all.Find("x-dead-letter-exchange") == nullptr) {
      return Invalid{"routing_key_but_no_dlx_defined"};
    }
    out->dead_letter_routing_key = *s;
    return std::nullopt;
  }
  if (name == "x-max-length") return CheckNonNegative(value, &out->max_length);
  if (name == "x-max-length-bytes") return CheckNonNegative(value, &out->max_length_bytes);
  if (name == "x-delivery-limit") {
    // RabbitMQ checks nothing here (quorum queues read it as they can); a negative limit
    // acts as 0, any other type as no limit.
    if (const auto n = amqp::IntegerValue(value)) out->delivery_limit = std::max<int64_t>(*n, 0);
    return std::nullopt;
  }
  if (name == "x-max-priority") {
    std::optional<int64_t> n;
    if (auto bad = CheckNonNegative(value, &n)) return bad;
    if (*n > 255) return Invalid{"{max_value_exceeded," + std::to_string(*n) + "}"};
    out->max_priority = static_cast<uint8_t>(*n);
    return std::nullopt;
  }
  if (name == "x-overflow") {
    const std::string* s = nullptr;
    if (auto bad = CheckOneOf(value, {"drop-head", "reject-publish", "reject-publish-dlx"},
                              "invalid_overflow", &s)) {
      return bad;
    }
    out->overflow = *s == "drop-head"        ? Overflow::kDropHead
                    : *s == "reject-publish" ? Overflow::kRejectPublish
                                             : Overflow::kRejectPublishDlx;
    return std::nullopt;
  }
  if (name == "x-queue-mode") {
    const std::string* s = StringOf(value);
    const std::string text = s != nullptr ? "unsupported queue mode '" + *s + "'" : "";
    return CheckOneOf(value, {"default", "lazy"}, Quoted(text), &s);
  }
  if (name == "x-single-active-consumer") {
    const bool* b = std::get_if<bool>(&value);
    if (b == nullptr) return UnacceptableType(value);
    out->single_active_consumer = *b;
    return std::nullopt;
  }
  return std::nullopt;
}

// The arguments CheckArgument knows, in the order RabbitMQ checks them (the first failure is
// the one reported).
constexpr std::string_view kCheckedArguments[] = {
    "x-expires",
    "x-message-ttl",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-max-length",
    "x-max-length-bytes",
    "x-max-priority",
    "x-overflow",
    "x-queue-mode",
    "x-single-active-consumer",
    "x-delivery-limit",
};

}  // namespace

Status ParseQueueArguments(const amqp::FieldTable& arguments, std::string_view queue,
                           QueueSettings* out) {
  QueueSettings settings;
  for (std::string_view name : kCheckedArguments) {
    const FieldValue* value = arguments.Find(name);
    if (value == nullptr) continue;
    if (auto bad = CheckArgument(name, *value, arguments, &settings)) {
      return Status::Error(
          ReplyCode::kPreconditionFailed,
          "invalid arg '" + std::string(name) + "' for " + std::string(queue) + ": " + bad->term);
    }
  }
  *out = std::move(settings);
  return Status::Ok();
}

namespace {

// res_min: the lower of the argument and the policy's value, whichever exist.
void LowerOf(std::optional<int64_t>* setting, const nlohmann::json& definition, const char* key) {
  auto it = definition.find(key);
  if (it == definition.end() || !it->is_number_integer()) return;
  const int64_t policy = it->get<int64_t>();
  *setting = *setting ? std::min(**setting, policy) : policy;
}

// res_arg: the policy's value unless the queue has the argument.
void ArgumentOr(std::optional<std::string>* setting, const nlohmann::json& definition,
                const char* key) {
  auto it = definition.find(key);
  if (*setting || it == definition.end() || !it->is_string()) return;
  *setting = it->get<std::string>();
}

}  // namespace

QueueSettings WithPolicy(const amqp::FieldTable& arguments, const QueueSettings& declared,
                         const nlohmann::json& definition) {
  QueueSettings s = declared;
  LowerOf(&s.expires, definition, "expires");
  LowerOf(&s.message_ttl, definition, "message-ttl");
  LowerOf(&s.max_length, definition, "max-length");
  LowerOf(&s.max_length_bytes, definition, "max-length-bytes");
  LowerOf(&s.delivery_limit, definition, "delivery-limit");
  ArgumentOr(&s.dead_letter_exchange, definition, "dead-letter-exchange");
  ArgumentOr(&s.dead_letter_routing_key, definition, "dead-letter-routing-key");
  auto overflow = definition.find("overflow");
  if (arguments.Find("x-overflow") == nullptr && overflow != definition.end() &&
      overflow->is_string()) {
    const std::string& o = overflow->get_ref<const std::string&>();
    s.overflow = o == "reject-publish"       ? Overflow::kRejectPublish
                 : o == "reject-publish-dlx" ? Overflow::kRejectPublishDlx
                                             : Overflow::kDropHead;
  }
  return s;
}

namespace {

// Erlang's string:to_integer on the whole string: an optional sign and digits.
struct ParsedInteger {
  bool ok = false;
  int64_t value = 0;
  std::string_view rest;
};

ParsedInteger ToInteger(std::string_view s) {
  ParsedInteger r;
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  const size_t digits = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == digits) return r;
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(s.data() + digits, s.data() + i, magnitude);
  (void)end;
  // Beyond int64: certainly too large a TTL; keep it out of range either way.
  if (ec != std::errc() || magnitude > static_cast<uint64_t>(INT64_MAX)) {
    magnitude = static_cast<uint64_t>(INT64_MAX);
  }
  r.ok = true;
  r.value = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
  r.rest = s.substr(i);
  return r;
}

}  // namespace

std::optional<int64_t> ParseExpiration(std::string_view expiration) {
  const ParsedInteger n = ToInteger(expiration);
  if (!n.ok || !n.rest.empty() || CheckExpiry(n.value)) return std::nullopt;
  return n.value;
}

Status ValidateExpiration(std::string_view expiration) {
  const ParsedInteger n = ToInteger(expiration);
  std::string why;
  if (!n.ok) {
    why = "no_integer";
  } else if (!n.rest.empty()) {
    why = "{leftover_string," + Quoted(n.rest) + "}";
  } else if (auto bad = CheckExpiry(n.value)) {
    why = bad->term;
  } else {
    return Status::Ok();
  }
  return Status::Error(ReplyCode::kPreconditionFailed,
                       "invalid expiration '" + std::string(expiration) + "': " + why);
}

}  // namespace warren::server
