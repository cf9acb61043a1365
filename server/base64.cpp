// Base64 through OpenSSL's block encoder.

#include "server/base64.h"

#include <openssl/evp.h>

namespace warren::server {

std::string Base64Encode(std::string_view bytes) {
  std::string encoded(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  encoded.resize(static_cast<size_t>(n));
  return encoded;
}

}  // namespace warren::server
