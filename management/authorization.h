// Who may use the management API, by RabbitMQ's rules: HTTP Basic credentials checked
// against the broker's users, and user tags that grant access (management, policymaker,
// monitoring, administrator).

#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace warren::management {

enum class Credentials {
  kBasic,      // user and password found
  kOther,      // another scheme (RabbitMQ answers 401)
  kMalformed,  // "Basic" with bad base64 or no colon (RabbitMQ answers 400)
};

// Splits an Authorization header of the form "Basic base64(user:password)" into *user and
// *password.
Credentials ParseBasicCredentials(std::string_view header, std::string* user,
                                  std::string* password);

// A user's tags, from the comma- or space-separated form Warren keeps them in.
std::vector<std::string> UserTags(std::string_view tags);

// The tag (of the comma- or space-separated `tags`) that lets a user log in to the
// management API at all: any of management, policymaker, monitoring, administrator.
bool IsManagementUser(std::string_view tags);
// The tag that lets a user read one policy and create, change or delete policies:
// policymaker or administrator.
bool IsPolicymaker(std::string_view tags);

}  // namespace warren::management
