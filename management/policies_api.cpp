// /api/policies in RabbitMQ 3.10's shapes (rabbit_mgmt_wm_policies, rabbit_mgmt_wm_policy).

#include "management/policies_api.h"

#include <vector>

#include "management/authorization.h"
#include "management/json_response.h"

namespace warren::management {

namespace {

namespace http = boost::beast::http;
using nlohmann::json;

// The field checks RabbitMQ makes before it looks at the definition, each failure a line.
std::string CheckFields(const json& body, server::Policy* policy) {
  std::string why;
  const json& pattern = body["pattern"];
  if (pattern.is_string()) {
    policy->pattern = pattern.get<std::string>();
  } else {
    why += "pattern should be a binary but was " + server::ErlangTerm(pattern) + "\n";
  }
  if (auto it = body.find("apply-to"); it != body.end()) {
    std::optional<server::PolicyApplyTo> apply_to;
    if (it->is_string()) apply_to = server::ParseApplyTo(it->get<std::string>());
    if (apply_to) {
      policy->apply_to = *apply_to;
    } else {
      const std::string shown = it->is_string() ? it->get<std::string>() : server::ErlangTerm(*it);
      why += "apply-to '" + shown + "' unrecognised; should be 'queues', 'exchanges' or 'all'\n";
    }
  }
  if (auto it = body.find("priority"); it != body.end()) {
    // RabbitMQ takes any number; Warren's priorities are integers.
    if (it->is_number_integer()) {
      policy->priority = it->get<int64_t>();
    } else {
      why += "priority should be a number, actually was " + server::ErlangTerm(*it) + "\n";
    }
  }
  return why;
}

Response NotAuthorisedForObject() {
  return ErrorResponse(http::status::unauthorized, "not_authorised",
                       "User not authorised to access object");
}

}  // namespace

nlohmann::ordered_json PolicyToJson(const server::Policy& policy) {
  nlohmann::ordered_json out;
  out["vhost"] = policy.vhost;
  out["name"] = policy.name;
  out["pattern"] = policy.pattern;
  out["apply-to"] = server::ApplyToName(policy.apply_to);
  out["definition"] = nlohmann::ordered_json(policy.definition);
  out["priority"] = policy.priority;
  return out;
}

std::optional<std::string> ParsePolicyBody(std::string_view body, server::Policy* policy) {
  const json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return "not_json";
  std::string missing;
  for (const char* key : {"pattern", "definition"}) {
    if (parsed.contains(key)) continue;
    missing += std::string(missing.empty() ? "" : ",") + "{key_missing," + key + "}";
  }
  if (!missing.empty()) return "[" + missing + "]";
  const std::string why = CheckFields(parsed, policy);
  if (!why.empty()) return "Validation failed\n\n" + why;
  policy->definition = parsed["definition"];
  return std::nullopt;
}

Response ListPoliciesAnswer(const server::Broker& broker, const std::string* vhost) {
  if (vhost != nullptr && broker.FindVhost(*vhost) == nullptr) return NotFound();
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const server::Policy& policy : broker.ListPolicies(vhost != nullptr ? *vhost : "")) {
    list.push_back(PolicyToJson(policy));
  }
  return JsonResponse(http::status::ok, list);
}

Response GetPolicyAnswer(const server::Broker& broker, std::string_view tags,
                         const std::string& vhost, const std::string& name) {
  if (!IsPolicymaker(tags)) return NotAuthorisedForObject();
  if (broker.FindVhost(vhost) == nullptr) return NotFound();
  for (const server::Policy& policy : broker.ListPolicies(vhost)) {
    if (policy.name == name) return JsonResponse(http::status::ok, PolicyToJson(policy));
  }
  return NotFound();
}

Response PutPolicyAnswer(server::Broker& broker, std::string_view tags, server::Policy policy,
                         const std::optional<std::string>& parse_error) {
  if (!IsPolicymaker(tags)) return NotAuthorisedForObject();
  if (parse_error) return ErrorResponse(http::status::bad_request, "bad_request", *parse_error);
  bool created = false;
  const amqp::Status set = broker.SetPolicy(std::move(policy), &created);
  if (set.code() == amqp::ReplyCode::kNotFound) {
    return ErrorResponse(http::status::not_found, "not_found", "vhost_not_found");
  }
  if (!set.ok()) return ErrorResponse(http::status::bad_request, "bad_request", set.text());
  return EmptyResponse(created ? http::status::created : http::status::no_content);
}

Response DeletePolicyAnswer(server::Broker& broker, std::string_view tags, const std::string& vhost,
                            const std::string& name) {
  if (!IsPolicymaker(tags)) return NotAuthorisedForObject();
  if (!broker.DeletePolicy(vhost, name)) return NotFound();
  return EmptyResponse(http::status::no_content);
}

}  // namespace warren::management
