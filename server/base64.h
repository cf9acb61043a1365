// Base64 (RFC 4648, with padding): how RabbitMQ writes password hashes and direct reply-to
// addresses.

#pragma once

#include <string>
#include <string_view>

namespace warren::server {

// `bytes` in base64, padded with '=' to a multiple of four characters.
std::string Base64Encode(std::string_view bytes);

}  // namespace warren::server
