// AMQP URI parsing (see amqp_uri.h).

#include "bench/perf/amqp_uri.h"

#include <charconv>

namespace warren::perf {

namespace {

amqp::Status SyntaxError(std::string_view uri, std::string what) {
  return amqp::Status::Error(amqp::ReplyCode::kSyntaxError,
                             "bad AMQP URI '" + std::string(uri) + "': " + what);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `in` into *out; false on a malformed escape.
bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = HexValue(in[i + 1]);
    const int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

}  // namespace

amqp::Status ParseAmqpUri(std::string_view text, AmqpUri* out) {
  constexpr std::string_view kScheme = "amqp://";
  if (text.substr(0, kScheme.size()) != kScheme) {
    return SyntaxError(text, "the scheme must be amqp://");
  }
  AmqpUri uri;
  std::string_view rest = text.substr(kScheme.size());
  if (const size_t query = rest.find('?'); query != std::string_view::npos) {
    rest = rest.substr(0, query);
  }
  std::string_view authority = rest;
  std::string_view path;
  bool has_path = false;
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
    has_path = true;
  }
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    if (!PercentDecode(userinfo.substr(0, colon), &uri.user)) {
      return SyntaxError(text, "bad escape in the user");
    }
    if (colon != std::string_view::npos &&
        !PercentDecode(userinfo.substr(colon + 1), &uri.password)) {
      return SyntaxError(text, "bad escape in the password");
    }
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return SyntaxError(text, "unterminated IPv6 host");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') return SyntaxError(text, "junk after the host");
    if (!after.empty()) port = after.substr(1);
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (!host.empty()) uri.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return SyntaxError(text, "bad port '" + std::string(port) + "'");
    }
    uri.port = static_cast<uint16_t>(value);
  }
  if (has_path) {
    if (path.find('/') != std::string_view::npos) {
      return SyntaxError(text, "a '/' in the vhost must be written %2F");
    }
    if (!PercentDecode(path, &uri.vhost)) return SyntaxError(text, "bad escape in the vhost");
  }
  *out = std::move(uri);
  return amqp::Status::Ok();
}

}  // namespace warren::perf
