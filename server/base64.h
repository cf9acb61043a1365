// Base64 (RFC 4648, with padding): how RabbitMQ writes password hashes and direct reply-to
// addresses.

#pragma once

#include <string>
#include <string_view>

namespace warren::server {

// `bytes` in base64, padded with '=' to a multiple of four characters.
std::string Base64Encode(std::string_view bytes);

// Decodes padded base64 into *bytes. Returns false (leaving *bytes unspecified) if `text` is
// not base64: a length that is not a multiple of four, or a character outside the alphabet.
bool Base64Decode(std::string_view text, std::string* bytes);

}  // namespace warren::server
