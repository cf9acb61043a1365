// Api: the management HTTP API's router. For each request, on the HTTP server's thread, it
// finds the endpoint (404 for unknown paths, 405 for other methods), reads the Basic
// credentials and any body; then it posts the rest to the broker's loop, which alone
// touches broker state: the login check, the user's tags, and the endpoint's work. The
// answer goes back through the server's Respond.
//
// Endpoints: GET /api/overview, GET /api/whoami, GET /api/policies,
// GET /api/policies/{vhost}, GET|PUT|DELETE /api/policies/{vhost}/{name}.

#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "management/http_server.h"
#include "server/broker.h"

namespace warren::management {

class Api {
 public:
  // An endpoint's work, done on the broker's loop for a user who logged in.
  using Work = std::function<Response(server::Broker&, const server::User&)>;

  // `broker` must outlive the Api and every request posted to its loop.
  explicit Api(server::Broker* broker) : broker_(broker) {}

  // An HttpServer Handler.
  void Handle(Request request, bool from_loopback, Respond respond);

 private:
  struct Route;
  // The route that answers `path` (the decoded segments), with its work for `request`'s
  // method, or nullopt if there is none.
  static std::optional<Route> FindRoute(const std::vector<std::string>& path,
                                        const Request& request);
  // The work of GET, PUT (whose body it parses) or DELETE /api/policies/{vhost}/{name};
  // empty for other methods.
  static Work PolicyRoute(const std::string& vhost, const std::string& name,
                          const Request& request);

  server::Broker* broker_;
};

// The path of a request target, split at '/' and percent-decoded, without the query string.
// nullopt if a %-escape is malformed.
std::optional<std::vector<std::string>> SplitPath(std::string_view target);

}  // namespace warren::management
