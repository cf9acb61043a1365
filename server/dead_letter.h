// Dead-lettering: how a message that dies in a queue (rejected, expired, dropped by a
// length limit, or redelivered too often) is rewritten before it is republished to the
// queue's dead-letter exchange, exactly as RabbitMQ 3.10's rabbit_dead_letter does it:
// the x-death header, the x-first-death-* headers, the routing keys, and the cycle rule.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "amqp/table.h"
#include "server/message.h"

namespace warren::server {

enum class DeathReason { kRejected, kExpired, kMaxLen, kDeliveryLimit };

// "rejected", "expired", "maxlen", "delivery_limit": the x-death reason.
std::string_view DeathReasonName(DeathReason reason);

// One death of a message, as its x-death entry records it.
struct Death {
  DeathReason reason = DeathReason::kRejected;
  std::string queue;                               // the queue it died in
  std::string exchange;                            // the exchange it was last published to
  std::vector<std::string> routing_keys;           // its routing key, then its CC keys
  std::optional<std::string> original_expiration;  // its expiration property, if it had one
  uint64_t time = 0;                               // seconds since the epoch
};

// Records `death` in message headers: a new x-death entry in front (count 1) or, if one for
// the same queue and reason exists, that entry's count incremented and the entry moved to
// the front; the x-first-death-reason/-queue/-exchange headers on the first death only.
// The headers end up sorted by name, as RabbitMQ leaves them.
void RecordDeath(amqp::FieldTable* headers, const Death& death);

// A dead-lettered message and the routing keys to publish it with.
struct DeadLettered {
  MessageRef message;
  std::vector<std::string> routing_keys;
};

// Rewrites `message`, which died in `queue` for `reason`, for republishing to exchange
// `dead_letter_exchange`: x-death recorded, the expiration property removed, and routed
// with `dead_letter_routing_key` if set (then the CC header is removed too), else with the
// message's own routing key and CC keys. `now` is seconds since the epoch.
DeadLettered MakeDeadLetter(const Message& message, DeathReason reason, std::string_view queue,
                            std::string_view dead_letter_exchange,
                            const std::optional<std::string>& dead_letter_routing_key,
                            uint64_t now);

// True if republishing a dead-lettered message (whose headers are `headers`, its x-death
// already recorded) into queue `target` would close a cycle without any rejection in it,
// in which case RabbitMQ drops the message for that queue. Deaths by rejection never cycle.
bool IsDeathCycle(const amqp::FieldTable& headers, DeathReason reason, std::string_view target);

}  // namespace warren::server
