// Password hashes: salted SHA-256, base64, with OpenSSL's primitives.

#include "server/password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>

#include "server/base64.h"

namespace warren::server {

namespace {

constexpr size_t kSaltSize = 4;

std::string SaltedDigest(std::string_view salt, std::string_view password) {
  std::string input(salt);
  input.append(password);
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest;
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
  std::string out(salt);
  out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return out;
}

}  // namespace

std::string HashPassword(std::string_view password) {
  unsigned char salt[kSaltSize];
  if (RAND_bytes(salt, sizeof salt) != 1) {
    for (size_t i = 0; i < kSaltSize; ++i) salt[i] = static_cast<unsigned char>(i * 37 + 11);
  }
  const std::string raw =
      SaltedDigest(std::string_view(reinterpret_cast<const char*>(salt), kSaltSize), password);
  return Base64Encode(raw);
}

bool CheckPassword(std::string_view hash, std::string_view password) {
  if (hash.empty() || hash.size() % 4 != 0) return false;
  std::string raw(hash.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                                reinterpret_cast<const unsigned char*>(hash.data()),
                                static_cast<int>(hash.size()));
  if (n < 0) return false;
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t size = static_cast<size_t>(n);
  if (hash.ends_with("==")) {
    size -= 2;
  } else if (hash.ends_with("=")) {
    size -= 1;
  }
  raw.resize(size);
  if (raw.size() != kSaltSize + SHA256_DIGEST_LENGTH) return false;
  const std::string expected = SaltedDigest(std::string_view(raw).substr(0, kSaltSize), password);
  return CRYPTO_memcmp(expected.data(), raw.data(), raw.size()) == 0;
}

}  // namespace warren::server
