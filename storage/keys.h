// Keys and values of Warren's RocksDB database.
//
// Column families:
//   meta       durable entities, JSON values; the key's first byte says the kind:
//                'v' vhost, 'u' user, 'p' permission, 'e' exchange, 'q' queue, 'b' binding,
//                'n' id counter, 'o' policy,
//              followed by the entity's identity, each part length-prefixed.
//   index      (queue id, sequence), both 8-byte big-endian, so that a queue is one
//              contiguous range in arrival order -> EncodeEntry's value (13 bytes, or 24 with
//              priority, expiry and delivery count).
//   bodies     body id, 8-byte big-endian -> EncodeMessage's record.
//   paged      (queue id, sequence) -> EncodeMessage's record, for messages paged out of
//              memory that are not stored otherwise; emptied at every start-up.
//   delayed    (vhost, exchange) length-prefixed, then (due time, sequence) 8-byte
//              big-endian, so that an exchange is one contiguous range in due order ->
//              EncodeMessage's record, for messages held by durable delayed exchanges.
//              Created when missing (data directories from before delayed exchanges).

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "amqp/table.h"
#include "server/message.h"
#include "server/store.h"

namespace warren::storage {

// Appends `v` as 8 big-endian bytes; reads them back from the first 8 bytes of `s`.
void AppendBigEndian64(std::string* out, uint64_t v);
uint64_t ReadBigEndian64(std::string_view s);

// The 16-byte key of a queue's message: the index and paged families use it.
std::string QueueSeqKey(uint64_t queue_id, uint64_t seq);
// The first key past every key of `queue_id` (queue_id + 1, seq 0).
std::string QueueEndKey(uint64_t queue_id);
std::string BodyKey(uint64_t body_id);

// A key part written by the key functions below: a 2-byte big-endian length, then the
// bytes. Reads the part at *pos and advances *pos past it; empty (and *pos past the end)
// if the key is too short.
std::string_view ReadKeyPart(std::string_view key, size_t* pos);

// delayed keys. Every key of one exchange is in [DelayedExchangeKey, DelayedExchangeEndKey).
std::string DelayedKey(std::string_view vhost, std::string_view exchange, int64_t due,
                       uint64_t seq);
std::string DelayedExchangeKey(std::string_view vhost, std::string_view exchange);
std::string DelayedExchangeEndKey(std::string_view vhost, std::string_view exchange);
// Fills out's vhost, exchange, due and seq from a delayed key; false if it is malformed.
bool DecodeDelayedKey(std::string_view key, server::StoredDelayed* out);

// meta keys.
std::string VhostKey(std::string_view vhost);
std::string UserKey(std::string_view user);
std::string PermissionKey(std::string_view vhost, std::string_view user);
std::string ExchangeKey(std::string_view vhost, std::string_view name);
std::string PolicyKey(std::string_view vhost, std::string_view name);
std::string QueueKey(std::string_view vhost, std::string_view name);
std::string BindingKey(const server::StoredBinding& binding);
// An id counter ("body", "queue"): the next id to hand out.
std::string CounterKey(std::string_view name);

// An index entry's value: body id, body size, flags (delivered, shared).
std::string EncodeEntry(const server::StoredEntry& entry);
// Fails (nullopt) on a value of the wrong size.
std::optional<server::StoredEntry> DecodeEntry(uint64_t seq, std::string_view value);

// A message record: flags, exchange, routing key, raw properties, body.
void EncodeMessageHeader(const server::Message& message, std::string* out);
// Builds a message from a record; nullptr if the record is malformed.
server::Message* DecodeMessage(std::string_view record);

// A field table as hex of its AMQP wire encoding (JSON values keep tables this way, so
// every field type survives exactly), and back; false on malformed input.
std::string TableToHex(const amqp::FieldTable& table);
bool TableFromHex(std::string_view hex, amqp::FieldTable* table);

}  // namespace warren::storage
