// The management API's router: endpoint and method on the HTTP thread, login and work on
// the broker's loop.

#include "management/api.h"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/host_name.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <optional>
#include <utility>

#include "management/authorization.h"
#include "management/json_response.h"
#include "management/policies_api.h"

namespace warren::management {

namespace http = boost::beast::http;

// The version of RabbitMQ whose management API this one follows.
constexpr std::string_view kRabbitmqVersion = "3.10.8";

struct Api::Route {
  std::string_view allow;  // the Allow header of a 405 or OPTIONS answer
  Work answer;             // empty if the request's method is not one of `allow`
};

namespace {

bool IsGet(const Request& request) {
  return request.method() == http::verb::get || request.method() == http::verb::head;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Response Overview() {
  nlohmann::ordered_json body;
  body["management_version"] = kRabbitmqVersion;
  body["rates_mode"] = "none";
  body["product_version"] = WARREN_VERSION;
  body["product_name"] = "Warren";
  body["rabbitmq_version"] = kRabbitmqVersion;
  // One node, named as RabbitMQ names its own (rabbit@host): rabbitmqadmin shows these.
  const std::string node = "warren@" + boost::asio::ip::host_name();
  body["cluster_name"] = node;
  body["node"] = node;
  return JsonResponse(http::status::ok, body);
}

Response WhoAmI(const server::User& user) {
  nlohmann::ordered_json body;
  body["name"] = user.name;
  body["tags"] = UserTags(user.tags);
  return JsonResponse(http::status::ok, body);
}

// Adds the Basic challenge that RabbitMQ sends with every 401 for a failed login.
Response Challenge(Response response) {
  response.set(http::field::www_authenticate, "Basic realm=\"RabbitMQ Management\"");
  return response;
}

Response LoginFailed() {
  return Challenge(ErrorResponse(http::status::unauthorized, "not_authorized", "Login failed"));
}

// Checks the login and the user's management tag, then does the route's work (on the
// broker's loop).
Response Answer(server::Broker& broker, const std::string& user, const std::string& password,
                bool from_loopback, const Api::Work& answer) {
  std::string why;
  const server::User* found = broker.Authenticate(user, password, from_loopback, &why);
  if (found == nullptr) {
    spdlog::warn("management: login refused: {}", why);
    return LoginFailed();
  }
  if (!IsManagementUser(found->tags)) {
    return ErrorResponse(http::status::unauthorized, "not_authorised", "Not management user");
  }
  return answer(broker, *found);
}

}  // namespace

std::optional<std::vector<std::string>> SplitPath(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::vector<std::string> segments;
  std::string segment;
  for (size_t i = 0; i <= target.size(); ++i) {
    if (i == target.size() || target[i] == '/') {
      // "/api/x/" is "/api/x", as RabbitMQ routes it.
      if (i != 0 && !(i == target.size() && segment.empty())) segments.push_back(segment);
      segment.clear();
    } else if (target[i] == '%') {
      const int high = i + 2 < target.size() ? HexDigit(target[i + 1]) : -1;
      const int low = high >= 0 ? HexDigit(target[i + 2]) : -1;
      if (low < 0) return std::nullopt;
      segment += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      segment += target[i];
    }
  }
  return segments;
}

std::optional<Api::Route> Api::FindRoute(const std::vector<std::string>& path,
                                         const Request& request) {
  constexpr std::string_view kGetOnly = "HEAD, GET, OPTIONS";
  const size_t n = path.size();
  if (n < 2 || path[0] != "api") return std::nullopt;
  Route route{kGetOnly, nullptr};
  if (n == 2 && path[1] == "overview") {
    if (IsGet(request))
      route.answer = [](server::Broker&, const server::User&) { return Overview(); };
  } else if (n == 2 && path[1] == "whoami") {
    if (IsGet(request))
      route.answer = [](server::Broker&, const server::User& u) { return WhoAmI(u); };
  } else if (path[1] == "policies" && n <= 3) {
    std::optional<std::string> vhost;
    if (n == 3) vhost = path[2];
    if (IsGet(request)) {
      route.answer = [vhost](server::Broker& broker, const server::User&) {
        return ListPoliciesAnswer(broker, vhost ? &*vhost : nullptr);
      };
    }
  } else if (path[1] == "policies" && n == 4) {
    route.allow = "HEAD, GET, PUT, DELETE, OPTIONS";
    route.answer = PolicyRoute(path[2], path[3], request);
  } else {
    return std::nullopt;
  }
  return route;
}

Api::Work Api::PolicyRoute(const std::string& vhost, const std::string& name,
                           const Request& request) {
  if (IsGet(request)) {
    return [vhost, name](server::Broker& broker, const server::User& user) {
      return GetPolicyAnswer(broker, user.tags, vhost, name);
    };
  }
  if (request.method() == http::verb::delete_) {
    return [vhost, name](server::Broker& broker, const server::User& user) {
      return DeletePolicyAnswer(broker, user.tags, vhost, name);
    };
  }
  if (request.method() != http::verb::put) return nullptr;
  // The body is parsed here, on the HTTP thread, so that the broker's loop does not.
  server::Policy policy;
  policy.vhost = vhost;
  policy.name = name;
  std::optional<std::string> parse_error = ParsePolicyBody(request.body(), &policy);
  return
      [policy = std::move(policy), parse_error](server::Broker& broker, const server::User& user) {
        return PutPolicyAnswer(broker, user.tags, policy, parse_error);
      };
}

void Api::Handle(Request request, bool from_loopback, Respond respond) {
  const std::optional<std::vector<std::string>> path = SplitPath(request.target());
  if (!path) return respond(EmptyResponse(http::status::bad_request));
  std::optional<Route> route = FindRoute(*path, request);
  if (!route) return respond(NotFound());
  if (request.method() == http::verb::options || !route->answer) {
    Response allowed =
        EmptyResponse(request.method() == http::verb::options ? http::status::ok
                                                              : http::status::method_not_allowed);
    allowed.set(http::field::allow, route->allow);
    return respond(allowed);
  }
  const auto authorization = request.find(http::field::authorization);
  if (authorization == request.end()) {
    return respond(Challenge(EmptyResponse(http::status::unauthorized)));
  }
  std::string user;
  std::string password;
  switch (ParseBasicCredentials(authorization->value(), &user, &password)) {
    case Credentials::kBasic:
      break;
    case Credentials::kOther:
      return respond(LoginFailed());
    case Credentials::kMalformed:
      return respond(EmptyResponse(http::status::bad_request));
  }
  boost::asio::post(
      broker_->io(),
      [broker = broker_, user = std::move(user), password = std::move(password), from_loopback,
       answer = std::move(route->answer), respond = std::move(respond)] {
        respond(Answer(*broker, user, password, from_loopback, answer));
      });
}

}  // namespace warren::management
