// JSON answers in the management plugin's shapes.

#include "management/json_response.h"

namespace warren::management {

namespace http = boost::beast::http;

Response JsonResponse(http::status status, const nlohmann::ordered_json& body) {
  Response response(status, 11);
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-cache");
  // Names in the broker are bytes; one that is not UTF-8 must not make dump() throw.
  response.body() = body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return response;
}

Response ErrorResponse(http::status status, std::string_view error, std::string_view reason) {
  nlohmann::ordered_json body;
  body["error"] = error;
  body["reason"] = EscapeHtml(reason);
  return JsonResponse(status, body);
}

Response NotFound() {
  return ErrorResponse(http::status::not_found, "Object Not Found", "Not Found");
}

Response EmptyResponse(http::status status) { return Response(status, 11); }

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace warren::management
