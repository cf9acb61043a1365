// Policy: validation in RabbitMQ 3.10's words (rabbit_policies, rabbit_policy) and the choice
// of the policy that applies to a name.

#include "server/policy.h"

// GCC 12 reports -Wmaybe-uninitialized inside std::regex's own code in optimised sanitizer
// builds (a known false positive); only this file compiles std::regex. Clang has no such
// warning (and would refuse to hear of it).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <regex>

namespace warren::server {

namespace {

using amqp::ReplyCode;
using amqp::Status;
using nlohmann::json;

bool IsInteger(const json& value) { return value.is_number_integer(); }

bool NonNegative(const json& value, int64_t min = 0) {
  return IsInteger(value) && value.get<int64_t>() >= min;
}

bool OneOf(const json& value, std::initializer_list<std::string_view> known) {
  if (!value.is_string()) return false;
  const std::string& s = value.get_ref<const std::string&>();
  return std::find(known.begin(), known.end(), s) != known.end();
}

// One definition key's check: empty if fine, else what RabbitMQ says about it.
std::optional<std::string> CheckKey(const std::string& key, const json& value) {
  auto bad = [&](std::string_view what) {
    return std::optional<std::string>(ErlangTerm(value) + " is not a valid " + std::string(what));
  };
  if (key == "message-ttl") return NonNegative(value) ? std::nullopt : bad("message TTL");
  if (key == "expires") return NonNegative(value, 1) ? std::nullopt : bad("queue expiry");
  if (key == "max-length") return NonNegative(value) ? std::nullopt : bad("maximum length");
  if (key == "max-length-bytes") {
    return NonNegative(value) ? std::nullopt : bad("maximum length in bytes");
  }
  if (key == "delivery-limit") return NonNegative(value) ? std::nullopt : bad("delivery limit");
  if (key == "alternate-exchange") {
    return value.is_string() ? std::nullopt : bad("alternate exchange name");
  }
  if (key == "dead-letter-exchange") {
    return value.is_string() ? std::nullopt : bad("dead letter exchange name");
  }
  if (key == "dead-letter-routing-key") {
    return value.is_string() ? std::nullopt : bad("dead letter routing key");
  }
  if (key == "overflow") {
    return OneOf(value, {"drop-head", "reject-publish", "reject-publish-dlx"})
               ? std::nullopt
               : bad("overflow value");
  }
  if (key == "queue-mode") {
    return OneOf(value, {"default", "lazy"}) ? std::nullopt : bad("queue-mode value");
  }
  return std::nullopt;
}

constexpr std::string_view kKnownKeys[] = {
    "message-ttl",
    "expires",
    "max-length",
    "max-length-bytes",
    "delivery-limit",
    "alternate-exchange",
    "dead-letter-exchange",
    "dead-letter-routing-key",
    "overflow",
    "queue-mode",
};

Status ValidationFailed(const std::string& why) {
  return Status::Error(ReplyCode::kPreconditionFailed, "Validation failed\n\n" + why + "\n");
}

}  // namespace

std::string ErlangTerm(const json& value) {
  if (!value.is_string()) return value.dump(-1, ' ', false, json::error_handler_t::replace);
  // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict) on "..." + std::string.
  std::string term("<<\"");
  term.append(value.get_ref<const std::string&>());
  term.append("\">>");
  return term;
}

std::optional<PolicyApplyTo> ParseApplyTo(std::string_view name) {
  if (name == "all") return PolicyApplyTo::kAll;
  if (name == "queues") return PolicyApplyTo::kQueues;
  if (name == "exchanges") return PolicyApplyTo::kExchanges;
  return std::nullopt;
}

std::string_view ApplyToName(PolicyApplyTo apply_to) {
  switch (apply_to) {
    case PolicyApplyTo::kAll:
      return "all";
    case PolicyApplyTo::kQueues:
      return "queues";
    case PolicyApplyTo::kExchanges:
      return "exchanges";
  }
  return "all";
}

Status ValidatePolicy(const Policy& policy) {
  try {
    std::regex compiled(policy.pattern);
  } catch (const std::regex_error&) {
    return ValidationFailed(ErlangTerm(policy.pattern) + " is not a valid regular expression");
  }
  if (!policy.definition.is_object() || policy.definition.empty()) {
    return ValidationFailed("no policy provided");
  }
  // Unknown keys first, all of them, as RabbitMQ lists them.
  std::string unknown;
  for (const auto& [key, value] : policy.definition.items()) {
    if (std::find(std::begin(kKnownKeys), std::end(kKnownKeys), key) != std::end(kKnownKeys)) {
      continue;
    }
    if (!unknown.empty()) unknown.push_back(',');
    unknown.push_back('{');
    unknown.append(ErlangTerm(json(key)));
    unknown.push_back(',');
    unknown.append(ErlangTerm(value));
    unknown.push_back('}');
  }
  if (!unknown.empty())
    return ValidationFailed("[" + unknown + "] are not recognised policy settings");
  for (const auto& [key, value] : policy.definition.items()) {
    if (auto why = CheckKey(key, value)) return ValidationFailed(*why);
  }
  return Status::Ok();
}

struct PolicySet::Pattern {
  std::regex regex;
};

bool PolicySet::Put(Policy policy) {
  Entry entry{std::move(policy), nullptr};
  // Validated: it compiles.
  entry.pattern = std::make_shared<const Pattern>(Pattern{std::regex(entry.policy.pattern)});
  auto it =
      std::lower_bound(entries_.begin(), entries_.end(), entry.policy.name,
                       [](const Entry& e, const std::string& n) { return e.policy.name < n; });
  if (it != entries_.end() && it->policy.name == entry.policy.name) {
    *it = std::move(entry);
    return false;
  }
  entries_.insert(it, std::move(entry));
  return true;
}

bool PolicySet::Remove(std::string_view name) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.policy.name == name; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

const Policy* PolicySet::Find(std::string_view name) const {
  for (const Entry& e : entries_) {
    if (e.policy.name == name) return &e.policy;
  }
  return nullptr;
}

const Policy* PolicySet::For(bool queue, std::string_view name) const {
  const Policy* best = nullptr;
  for (const Entry& e : entries_) {
    const PolicyApplyTo to = e.policy.apply_to;
    if (to != PolicyApplyTo::kAll && (to == PolicyApplyTo::kQueues) != queue) continue;
    if (best != nullptr && e.policy.priority <= best->priority) continue;
    if (!std::regex_search(name.begin(), name.end(), e.pattern->regex)) continue;
    best = &e.policy;
  }
  return best;
}

std::vector<const Policy*> PolicySet::All() const {
  std::vector<const Policy*> out;
  for (const Entry& e : entries_) out.push_back(&e.policy);
  return out;
}

}  // namespace warren::server
