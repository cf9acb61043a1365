// The shapes of the management API's answers, as RabbitMQ's management plugin writes them:
// JSON bodies, errors as {"error": ..., "reason": ...} with the reason HTML-escaped.

#pragma once

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "management/http_server.h"

namespace warren::management {

// `status` with `body` as application/json.
Response JsonResponse(boost::beast::http::status status, const nlohmann::ordered_json& body);
// {"error": error, "reason": reason}, reason with &, < and > escaped as RabbitMQ does.
Response ErrorResponse(boost::beast::http::status status, std::string_view error,
                       std::string_view reason);
// 404 {"error":"Object Not Found","reason":"Not Found"}: unknown path, vhost or object.
Response NotFound();
// `status` with no body (201 Created, 204 No Content, 401 without credentials ...).
Response EmptyResponse(boost::beast::http::status status);

// `text` with &, < and > replaced by their HTML entities (quotes are kept).
std::string EscapeHtml(std::string_view text);

}  // namespace warren::management
