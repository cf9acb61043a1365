// The management API's policy endpoints (RabbitMQ 3.10's /api/policies): the JSON form of a
// policy, and the answers to GET, PUT and DELETE. The answers read and change broker state,
// so call them on the broker's loop; parsing a request body does not need it.

#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "management/http_server.h"
#include "server/broker.h"
#include "server/policy.h"

namespace warren::management {

// {"vhost", "name", "pattern", "apply-to", "definition", "priority"}, in RabbitMQ's order.
nlohmann::ordered_json PolicyToJson(const server::Policy& policy);

// Reads the body of PUT /api/policies/{vhost}/{name} ({"pattern": ..., "definition": {...},
// "priority": N, "apply-to": ...}) into *policy's pattern, definition, priority and
// apply_to. Returns the reason of RabbitMQ's 400 answer if the body is not a policy (not
// JSON, a key missing, a field of the wrong type), else nullopt; the definition itself is
// left to ValidatePolicy.
std::optional<std::string> ParsePolicyBody(std::string_view body, server::Policy* policy);

// GET /api/policies (vhost nullptr) and /api/policies/{vhost}: 200 and a JSON array, or 404
// if the vhost does not exist.
Response ListPoliciesAnswer(const server::Broker& broker, const std::string* vhost);

// GET /api/policies/{vhost}/{name} for a user with `tags`: 200 and the policy; 401 unless
// the user is a policymaker; 404 if there is no such vhost or policy.
Response GetPolicyAnswer(const server::Broker& broker, std::string_view tags,
                         const std::string& vhost, const std::string& name);

// PUT: `policy` as ParsePolicyBody read it (with its vhost and name), `parse_error` what it
// returned. 201 when created, 204 when replaced; 400 with the reason if the body or the
// policy is invalid; 401 unless the user is a policymaker; 404 if the vhost does not exist.
Response PutPolicyAnswer(server::Broker& broker, std::string_view tags, server::Policy policy,
                         const std::optional<std::string>& parse_error);

// DELETE: 204, or 404 if there was no such policy; 401 unless the user is a policymaker.
Response DeletePolicyAnswer(server::Broker& broker, std::string_view tags, const std::string& vhost,
                            const std::string& name);

}  // namespace warren::management
