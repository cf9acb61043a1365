// QueuedMessage: a queue's entry for one message, ready or delivered and unacknowledged.

#pragma once

#include <cstdint>

#include "server/message.h"

namespace warren::server {

struct QueuedMessage {
  MessageRef message;           // null while paged out
  uint64_t seq = 0;             // position in the queue's arrival order
  uint64_t body_id = 0;         // stored: the body's key in the store
  int64_t expires_at = 0;       // ms since the epoch when it expires (TTL); 0: never
  uint32_t size = 0;            // body bytes
  uint16_t delivery_count = 0;  // times it was delivered and came back (x-delivery-count)
  uint8_t priority = 0;         // its level in a priority queue (0 elsewhere)
  // Flags as bits, so that a queued message is 40 bytes.
  bool redelivered : 1 = false;
  bool stored : 1 = false;            // has an entry in the store's index
  bool shared : 1 = false;            // stored, and the body is shared with other queues
  bool paged : 1 = false;             // a copy is in the store's paged area
  bool delivered_stored : 1 = false;  // stored, and its entry says it was delivered
};
static_assert(sizeof(QueuedMessage) == 40);

}  // namespace warren::server
