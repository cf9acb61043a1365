// Password hashes in RabbitMQ's rabbit_password_hashing_sha256 form:
// base64(salt + sha256(salt + password)) with a 4-byte random salt, so that stored users
// (and, later, definitions exports) carry no plain passwords and match RabbitMQ's.

#pragma once

#include <string>
#include <string_view>

namespace warren::server {

// A new salted hash of `password`.
std::string HashPassword(std::string_view password);
// Whether `password` matches `hash` (false for a malformed hash).
bool CheckPassword(std::string_view hash, std::string_view password);

}  // namespace warren::server
