// Policy: a named rule of a virtual host that sets queue and exchange features (TTLs, limits,
// dead-lettering, alternate exchange ...) for every queue or exchange whose name matches its
// pattern, as RabbitMQ's policies do. Of the policies that match an entity, the one with the
// highest priority applies. A queue's own x- arguments take precedence over its policy as
// RabbitMQ decides it (see ApplyPolicy in queue_settings.h).

#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "amqp/status.h"

namespace warren::server {

enum class PolicyApplyTo { kAll, kQueues, kExchanges };

// "all", "queues", "exchanges"; nullopt for anything else.
std::optional<PolicyApplyTo> ParseApplyTo(std::string_view name);
std::string_view ApplyToName(PolicyApplyTo apply_to);

struct Policy {
  std::string vhost;
  std::string name;
  std::string pattern;  // a regular expression, matched anywhere in the entity's name
  PolicyApplyTo apply_to = PolicyApplyTo::kAll;
  int64_t priority = 0;
  nlohmann::json definition = nlohmann::json::object();  // key -> value, e.g. "message-ttl"

  bool operator==(const Policy&) const = default;
};

// A JSON value as RabbitMQ's texts print the Erlang term it decodes to: strings as binaries
// (<<"text">>), numbers and booleans plainly.
std::string ErlangTerm(const nlohmann::json& value);

// Checks a policy as RabbitMQ 3.10 does before accepting it: a pattern that compiles, and a
// definition whose keys are ones Warren applies with values of the right type and range
// (max-priority, for instance, is refused as RabbitMQ refuses it). Fails with 406
// PRECONDITION_FAILED and a text in RabbitMQ's words ("Validation failed\n\n...").
amqp::Status ValidatePolicy(const Policy& policy);

// The policies of one virtual host, with their patterns compiled.
class PolicySet {
 public:
  // Adds or replaces the policy with `policy.name`; it must have been validated. Returns
  // true if it is new.
  bool Put(Policy policy);
  // Removes a policy; false if there was none by that name.
  bool Remove(std::string_view name);
  const Policy* Find(std::string_view name) const;
  // The policy that applies to a queue (`queue` true) or exchange named `name`: the
  // matching one with the highest priority (ties: the first by name), or nullptr.
  const Policy* For(bool queue, std::string_view name) const;
  // Every policy, by name.
  std::vector<const Policy*> All() const;
  bool empty() const { return entries_.empty(); }

 private:
  // The compiled pattern (defined in policy.cpp, so that only it includes <regex>).
  struct Pattern;
  struct Entry {
    Policy policy;
    std::shared_ptr<const Pattern> pattern;
  };
  std::vector<Entry> entries_;  // sorted by name
};

}  // namespace warren::server
