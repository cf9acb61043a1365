// AmqpUri: the broker address a load generator is pointed at, written as an AMQP URI
// (amqp://user:pass@host:port/vhost), the form RabbitMQ's clients and PerfTest take.

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "amqp/status.h"

namespace warren::perf {

struct AmqpUri {
  std::string user = "guest";
  std::string password = "guest";
  std::string host = "127.0.0.1";
  uint16_t port = 5672;
  std::string vhost = "/";
};

// Parses `text` as RabbitMQ's URI spec describes it: the scheme must be "amqp"; user,
// password and vhost are percent-decoded; a missing path means vhost "/", an empty one
// (".../") the vhost "", "%2F" the vhost "/". A query string is ignored. Host may be an
// IPv6 literal in brackets. Fails with 502 SYNTAX_ERROR and a message naming the problem.
amqp::Status ParseAmqpUri(std::string_view text, AmqpUri* out);

}  // namespace warren::perf
