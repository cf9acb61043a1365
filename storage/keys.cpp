// Keys and values of Warren's RocksDB database: encoding and decoding.

#include "storage/keys.h"

#include "amqp/decoder.h"
#include "amqp/encoder.h"

namespace warren::storage {

namespace {

constexpr uint8_t kEntryDelivered = 1;
constexpr uint8_t kEntryShared = 2;
constexpr size_t kEntrySize = 8 + 4 + 1;
// With the queue features' fields: priority, expiry (ms since the epoch), delivery count.
constexpr size_t kLongEntrySize = kEntrySize + 1 + 8 + 2;

constexpr uint8_t kRecordPersistent = 1;

// A key part: 2-byte big-endian length, then the bytes.
void AppendPart(std::string* out, std::string_view part) {
  out->push_back(static_cast<char>((part.size() >> 8) & 0xff));
  out->push_back(static_cast<char>(part.size() & 0xff));
  out->append(part);
}

std::string NamedKey(char kind, std::string_view first, std::string_view second) {
  std::string key(1, kind);
  AppendPart(&key, first);
  AppendPart(&key, second);
  return key;
}

}  // namespace

void AppendBigEndian64(std::string* out, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(buf, 8);
}

uint64_t ReadBigEndian64(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

std::string QueueSeqKey(uint64_t queue_id, uint64_t seq) {
  std::string key;
  key.reserve(16);
  AppendBigEndian64(&key, queue_id);
  AppendBigEndian64(&key, seq);
  return key;
}

std::string QueueEndKey(uint64_t queue_id) { return QueueSeqKey(queue_id + 1, 0); }

std::string BodyKey(uint64_t body_id) {
  std::string key;
  AppendBigEndian64(&key, body_id);
  return key;
}

std::string_view ReadKeyPart(std::string_view key, size_t* pos) {
  if (*pos + 2 > key.size()) {
    *pos = key.size() + 1;
    return {};
  }
  const size_t n = static_cast<uint8_t>(key[*pos]) << 8 | static_cast<uint8_t>(key[*pos + 1]);
  *pos += 2;
  if (*pos + n > key.size()) {
    *pos = key.size() + 1;
    return {};
  }
  const std::string_view part = key.substr(*pos, n);
  *pos += n;
  return part;
}

std::string DelayedExchangeKey(std::string_view vhost, std::string_view exchange) {
  std::string key;
  AppendPart(&key, vhost);
  AppendPart(&key, exchange);
  return key;
}

std::string DelayedExchangeEndKey(std::string_view vhost, std::string_view exchange) {
  // Past every (due, seq) suffix: 16 bytes can be at most 16 times 0xff.
  return DelayedExchangeKey(vhost, exchange) + std::string(17, '\xff');
}

std::string DelayedKey(std::string_view vhost, std::string_view exchange, int64_t due,
                       uint64_t seq) {
  std::string key = DelayedExchangeKey(vhost, exchange);
  AppendBigEndian64(&key, static_cast<uint64_t>(due));
  AppendBigEndian64(&key, seq);
  return key;
}

bool DecodeDelayedKey(std::string_view key, server::StoredDelayed* out) {
  size_t pos = 0;
  const std::string_view vhost = ReadKeyPart(key, &pos);
  const std::string_view exchange = ReadKeyPart(key, &pos);
  if (pos + 16 != key.size()) return false;
  out->vhost = vhost;
  out->exchange = exchange;
  out->due = static_cast<int64_t>(ReadBigEndian64(key.substr(pos)));
  out->seq = ReadBigEndian64(key.substr(pos + 8));
  return true;
}

std::string VhostKey(std::string_view vhost) {
  std::string key(1, 'v');
  AppendPart(&key, vhost);
  return key;
}

std::string UserKey(std::string_view user) {
  std::string key(1, 'u');
  AppendPart(&key, user);
  return key;
}

std::string PermissionKey(std::string_view vhost, std::string_view user) {
  return NamedKey('p', vhost, user);
}

std::string ExchangeKey(std::string_view vhost, std::string_view name) {
  return NamedKey('e', vhost, name);
}

std::string PolicyKey(std::string_view vhost, std::string_view name) {
  return NamedKey('o', vhost, name);
}

std::string QueueKey(std::string_view vhost, std::string_view name) {
  return NamedKey('q', vhost, name);
}

std::string BindingKey(const server::StoredBinding& binding) {
  std::string key = NamedKey('b', binding.vhost, binding.source);
  key.push_back(binding.to_exchange ? 'e' : 'q');
  AppendPart(&key, binding.destination);
  AppendPart(&key, binding.routing_key);
  // The arguments are part of a binding's identity; their wire form keeps them exact.
  std::string args;
  amqp::Encoder enc(&args);
  amqp::EncodeFieldTable(enc, binding.arguments);
  key.append(args);
  return key;
}

std::string CounterKey(std::string_view name) {
  std::string key(1, 'n');
  AppendPart(&key, name);
  return key;
}

std::string EncodeEntry(const server::StoredEntry& entry) {
  std::string value;
  value.reserve(kEntrySize);
  AppendBigEndian64(&value, entry.body_id);
  amqp::Encoder enc(&value);
  enc.Long(entry.size);
  enc.Octet(static_cast<uint8_t>((entry.delivered ? kEntryDelivered : 0) |
                                 (entry.shared ? kEntryShared : 0)));
  // Most messages have none of these: they keep the short form.
  if (entry.priority != 0 || entry.expires_at != 0 || entry.delivery_count != 0) {
    enc.Octet(entry.priority);
    enc.LongLong(static_cast<uint64_t>(entry.expires_at));
    enc.Short(entry.delivery_count);
  }
  return value;
}

std::optional<server::StoredEntry> DecodeEntry(uint64_t seq, std::string_view value) {
  if (value.size() != kEntrySize && value.size() != kLongEntrySize) return std::nullopt;
  amqp::Decoder dec(value);
  server::StoredEntry entry;
  entry.seq = seq;
  entry.body_id = dec.LongLong();
  entry.size = dec.Long();
  const uint8_t flags = dec.Octet();
  entry.delivered = (flags & kEntryDelivered) != 0;
  entry.shared = (flags & kEntryShared) != 0;
  if (value.size() == kLongEntrySize) {
    entry.priority = dec.Octet();
    entry.expires_at = static_cast<int64_t>(dec.LongLong());
    entry.delivery_count = dec.Short();
  }
  return entry;
}

void EncodeMessageHeader(const server::Message& message, std::string* out) {
  amqp::Encoder enc(out);
  enc.Octet(message.persistent() ? kRecordPersistent : 0);
  enc.ShortString(message.exchange());
  enc.ShortString(message.routing_key());
  enc.LongString(message.properties());
}

server::Message* DecodeMessage(std::string_view record) {
  amqp::Decoder dec(record);
  const uint8_t flags = dec.Octet();
  const std::string_view exchange = dec.ShortString();
  const std::string_view routing_key = dec.ShortString();
  const std::string_view properties = dec.LongString();
  if (!dec.ok()) return nullptr;
  const std::string_view body = record.substr(dec.position());
  return server::Message::Create(exchange, routing_key, properties, body,
                                 (flags & kRecordPersistent) != 0);
}

std::string TableToHex(const amqp::FieldTable& table) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string wire;
  amqp::Encoder enc(&wire);
  amqp::EncodeFieldTable(enc, table);
  std::string hex;
  hex.reserve(wire.size() * 2);
  for (unsigned char c : wire) {
    hex.push_back(kDigits[c >> 4]);
    hex.push_back(kDigits[c & 15]);
  }
  return hex;
}

bool TableFromHex(std::string_view hex, amqp::FieldTable* table) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return false;
  std::string wire;
  wire.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    wire.push_back(static_cast<char>(hi << 4 | lo));
  }
  amqp::Decoder dec(wire);
  amqp::DecodeFieldTable(dec, table);
  return dec.ok() && dec.at_end();
}

}  // namespace warren::storage
