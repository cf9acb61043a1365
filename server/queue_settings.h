// QueueSettings: what a queue's x- arguments ask of it (TTLs, limits, dead-lettering,
// priorities, delivery limit), validated the way RabbitMQ 3.10 validates queue.declare.

#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "amqp/status.h"
#include "amqp/table.h"

namespace warren::server {

// What a queue does with a message that would take it over x-max-length(-bytes).
enum class Overflow {
  kDropHead,          // drop (dead-letter) the oldest ready messages
  kRejectPublish,     // refuse the new message (basic.nack under confirms)
  kRejectPublishDlx,  // refuse it and dead-letter it
};

struct QueueSettings {
  std::optional<int64_t> message_ttl;  // x-message-ttl, ms
  std::optional<int64_t> expires;      // x-expires, ms unused before the queue is deleted
  std::optional<std::string> dead_letter_exchange;
  std::optional<std::string> dead_letter_routing_key;
  std::optional<int64_t> max_length;        // ready messages
  std::optional<int64_t> max_length_bytes;  // body bytes of ready messages
  Overflow overflow = Overflow::kDropHead;
  uint8_t max_priority = 0;               // 0: not a priority queue
  std::optional<int64_t> delivery_limit;  // x-delivery-limit: returns before dead-lettering
  bool single_active_consumer = false;

  bool operator==(const QueueSettings&) const = default;
};

// The longest TTL or expiry RabbitMQ accepts (its timers' limit), in ms.
inline constexpr int64_t kMaxExpiry = 4294967295;

// Checks queue.declare's arguments as RabbitMQ does and reads them into *out. `queue` is
// the queue's description for error texts ("queue 'q' in vhost '/'"). Fails with 406
// PRECONDITION_FAILED and RabbitMQ's text, e.g. "invalid arg 'x-message-ttl' for queue 'q'
// in vhost '/': {value_negative,-1}". Unknown arguments are ignored, as RabbitMQ does.
amqp::Status ParseQueueArguments(const amqp::FieldTable& arguments, std::string_view queue,
                                 QueueSettings* out);

// The settings of a queue declared with `arguments` (read into `declared`) under a policy
// whose definition is `definition` (validated: see ValidatePolicy), combined as RabbitMQ
// 3.10 does: for expires, message-ttl, max-length, max-length-bytes and delivery-limit the
// lower of the two values; for dead-letter-exchange, dead-letter-routing-key and overflow
// the queue's argument if it has one.
QueueSettings WithPolicy(const amqp::FieldTable& arguments, const QueueSettings& declared,
                         const nlohmann::json& definition);

// Reads a per-message `expiration` property (a decimal string of milliseconds). Returns
// nullopt when it is not one RabbitMQ would accept (see ValidateExpiration).
std::optional<int64_t> ParseExpiration(std::string_view expiration);

// Checks a publish's expiration property as RabbitMQ does: 406 PRECONDITION_FAILED
// "invalid expiration '...': ..." when it is not a non-negative integer within kMaxExpiry.
amqp::Status ValidateExpiration(std::string_view expiration);

}  // namespace warren::server
