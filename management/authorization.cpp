// HTTP Basic credentials and RabbitMQ's management user tags.

#include "management/authorization.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>

#include "server/base64.h"

namespace warren::management {

namespace {

bool HasAnyTag(std::string_view tags, std::initializer_list<std::string_view> wanted) {
  const std::vector<std::string> have = UserTags(tags);
  return std::any_of(have.begin(), have.end(), [&](const std::string& tag) {
    return std::find(wanted.begin(), wanted.end(), tag) != wanted.end();
  });
}

}  // namespace

Credentials ParseBasicCredentials(std::string_view header, std::string* user,
                                  std::string* password) {
  constexpr std::string_view kScheme = "Basic ";
  if (header.size() < kScheme.size()) return Credentials::kOther;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    // The scheme name is case-insensitive (RFC 7235).
    if (std::tolower(static_cast<unsigned char>(header[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i]))) {
      return Credentials::kOther;
    }
  }
  std::string_view encoded = header.substr(kScheme.size());
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  std::string decoded;
  if (!server::Base64Decode(encoded, &decoded)) return Credentials::kMalformed;
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return Credentials::kMalformed;
  *user = decoded.substr(0, colon);
  *password = decoded.substr(colon + 1);
  return Credentials::kBasic;
}

std::vector<std::string> UserTags(std::string_view tags) {
  std::vector<std::string> out;
  std::string tag;
  for (char c : tags) {
    if (c == ',' || c == ' ') {
      if (!tag.empty()) out.push_back(std::move(tag));
      tag.clear();
    } else {
      tag += c;
    }
  }
  if (!tag.empty()) out.push_back(std::move(tag));
  return out;
}

bool IsManagementUser(std::string_view tags) {
  return HasAnyTag(tags, {"management", "policymaker", "monitoring", "administrator"});
}

bool IsPolicymaker(std::string_view tags) {
  return HasAnyTag(tags, {"policymaker", "administrator"});
}

}  // namespace warren::management
