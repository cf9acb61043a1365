// Tests for storage/keys.*: the byte order of the index and body keys (RocksDB's bytewise
// comparator must sort them as the numbers they encode), index entries, message records,
// field tables as hex, the identity carried by the meta keys, and the delayed family's keys
// (exchange, due time, sequence) and their per-exchange range.

#include "storage/keys.h"

#include <gtest/gtest.h>
#include <rocksdb/comparator.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "amqp/encoder.h"

namespace warren::storage {
namespace {

using namespace std::string_literals;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// RocksDB's default order, the one the index family is iterated in.
bool Before(const std::string& a, const std::string& b) {
  return rocksdb::BytewiseComparator()->Compare(a, b) < 0;
}

// A record as RocksStore writes one: the header, then the body.
std::string Record(const server::Message& message) {
  std::string record;
  EncodeMessageHeader(message, &record);
  record.append(message.body());
  return record;
}

// Decodes `record`, keeping the message alive in the returned ref (nullptr on failure).
server::MessageRef Decode(std::string_view record) {
  return server::MessageRef(DecodeMessage(record));
}

TEST(Keys, BigEndian64RoundTripsAndIsMostSignificantByteFirst) {
  std::string out;
  AppendBigEndian64(&out, 0x0102030405060708ull);
  EXPECT_EQ(out, "\x01\x02\x03\x04\x05\x06\x07\x08"s);
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256}, uint64_t{1} << 32,
                     uint64_t{1} << 63, kMax}) {
    std::string s;
    AppendBigEndian64(&s, v);
    ASSERT_EQ(s.size(), 8u);
    EXPECT_EQ(ReadBigEndian64(s), v);
  }
}

TEST(Keys, QueueSeqKeyIsQueueIdThenSequenceBigEndian) {
  EXPECT_EQ(QueueSeqKey(0x0102030405060708ull, 0x1112131415161718ull),
            "\x01\x02\x03\x04\x05\x06\x07\x08\x11\x12\x13\x14\x15\x16\x17\x18"s);
  EXPECT_EQ(ReadBigEndian64(QueueSeqKey(7, 9)), 7u);
  EXPECT_EQ(ReadBigEndian64(QueueSeqKey(7, 9).substr(8)), 9u);
}

TEST(Keys, QueueSeqKeysSortByQueueThenSequence) {
  // In numeric order, crossing byte boundaries where a little-endian or text encoding
  // would sort wrongly.
  const std::vector<uint64_t> values = {0,
                                        1,
                                        2,
                                        9,
                                        10,
                                        255,
                                        256,
                                        257,
                                        65535,
                                        65536,
                                        (uint64_t{1} << 32) - 1,
                                        uint64_t{1} << 32,
                                        (uint64_t{1} << 32) + 1,
                                        (uint64_t{1} << 63) - 1,
                                        uint64_t{1} << 63,
                                        kMax - 1,
                                        kMax};
  std::vector<std::string> keys;
  for (uint64_t queue : values) {
    for (uint64_t seq : values) keys.push_back(QueueSeqKey(queue, seq));
  }
  for (size_t i = 1; i < keys.size(); ++i) {
    EXPECT_TRUE(Before(keys[i - 1], keys[i])) << "key " << i - 1 << " !< key " << i;
  }
  // And sorting shuffled keys gives back numeric order.
  std::vector<std::string> shuffled = keys;
  std::reverse(shuffled.begin(), shuffled.end());
  std::rotate(shuffled.begin(), shuffled.begin() + shuffled.size() / 3, shuffled.end());
  std::sort(shuffled.begin(), shuffled.end(), Before);
  EXPECT_EQ(shuffled, keys);
}

TEST(Keys, QueueEndKeyBoundsEveryKeyOfTheQueueAndNoOther) {
  for (uint64_t queue : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256},
                         (uint64_t{1} << 32) - 1, uint64_t{1} << 32}) {
    const std::string end = QueueEndKey(queue);
    for (uint64_t seq : {uint64_t{0}, uint64_t{255}, uint64_t{256}, uint64_t{1} << 32, kMax}) {
      EXPECT_TRUE(Before(QueueSeqKey(queue, seq), end)) << queue << "/" << seq;
      EXPECT_FALSE(Before(QueueSeqKey(queue + 1, seq), end)) << queue + 1 << "/" << seq;
    }
    if (queue > 0) {
      EXPECT_TRUE(Before(QueueSeqKey(queue - 1, kMax), QueueSeqKey(queue, 0)));
    }
    // The next queue starts exactly at the bound.
    EXPECT_EQ(end, QueueSeqKey(queue + 1, 0));
  }
}

TEST(Keys, BodyKeysSortByBodyId) {
  const std::vector<uint64_t> ids = {1, 255, 256, 65536, uint64_t{1} << 32, kMax};
  for (size_t i = 1; i < ids.size(); ++i) {
    EXPECT_TRUE(Before(BodyKey(ids[i - 1]), BodyKey(ids[i]))) << ids[i - 1] << " " << ids[i];
    EXPECT_EQ(ReadBigEndian64(BodyKey(ids[i])), ids[i]);
  }
  EXPECT_EQ(BodyKey(0x0102).size(), 8u);
}

TEST(Keys, EntryRoundTripsEveryField) {
  for (bool delivered : {false, true}) {
    for (bool shared : {false, true}) {
      for (uint64_t body_id : {uint64_t{1}, uint64_t{256}, uint64_t{1} << 32, kMax}) {
        for (uint32_t size : {0u, 1u, 65536u, std::numeric_limits<uint32_t>::max()}) {
          server::StoredEntry entry{123, body_id, size, delivered, shared};
          const std::string value = EncodeEntry(entry);
          auto decoded = DecodeEntry(456, value);
          ASSERT_TRUE(decoded.has_value());
          EXPECT_EQ(decoded->seq, 456u);  // the sequence comes from the key
          EXPECT_EQ(decoded->body_id, body_id);
          EXPECT_EQ(decoded->size, size);
          EXPECT_EQ(decoded->delivered, delivered);
          EXPECT_EQ(decoded->shared, shared);
        }
      }
    }
  }
}

// The on-disk format: body id (8 bytes), size (4), flags (1), all big-endian.
TEST(Keys, EntryValueIsBodyIdThenSizeThenFlags) {
  EXPECT_EQ(EncodeEntry(server::StoredEntry{9, 0x0102030405060708ull, 0x0a0b0c0d, true, true}),
            "\x01\x02\x03\x04\x05\x06\x07\x08\x0a\x0b\x0c\x0d\x03"s);
  EXPECT_EQ(EncodeEntry(server::StoredEntry{9, 1, 2, false, true}).back(), '\x02');
  EXPECT_EQ(EncodeEntry(server::StoredEntry{9, 1, 2, true, false}).back(), '\x01');
  EXPECT_EQ(EncodeEntry(server::StoredEntry{9, 1, 2, false, false}).back(), '\x00');
}

TEST(Keys, EntryOfTheWrongSizeIsRejected) {
  const std::string value = EncodeEntry(server::StoredEntry{1, 2, 3, true, true});
  EXPECT_TRUE(DecodeEntry(1, value).has_value());
  EXPECT_FALSE(DecodeEntry(1, "").has_value());
  EXPECT_FALSE(DecodeEntry(1, value.substr(0, value.size() - 1)).has_value());
  EXPECT_FALSE(DecodeEntry(1, value + "x").has_value());
  EXPECT_FALSE(DecodeEntry(1, value + value).has_value());
}

TEST(Keys, MessageRecordRoundTripsEveryPart) {
  // Raw properties with NULs and high bytes must come back byte for byte.
  const std::string properties = "\x98\x00\x0a\x00\x00\x00\x00\x02\xff"s;
  const std::string body = "binary\x00\xff\x01 body"s;
  for (bool persistent : {false, true}) {
    auto original = server::MessageRef(
        server::Message::Create("amq.topic", "a.b.c", properties, body, persistent));
    server::MessageRef decoded = Decode(Record(*original));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->exchange(), "amq.topic");
    EXPECT_EQ(decoded->routing_key(), "a.b.c");
    EXPECT_EQ(decoded->properties(), properties);
    EXPECT_EQ(decoded->body(), body);
    EXPECT_EQ(decoded->persistent(), persistent);
  }
}

TEST(Keys, MessageRecordWithEmptyPartsRoundTrips) {
  auto original = server::MessageRef(server::Message::Create("", "", "", std::string_view(), true));
  server::MessageRef decoded = Decode(Record(*original));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->exchange(), "");
  EXPECT_EQ(decoded->routing_key(), "");
  EXPECT_EQ(decoded->properties(), "");
  EXPECT_EQ(decoded->body(), "");
  EXPECT_TRUE(decoded->persistent());
}

TEST(Keys, MessageRecordWithLongNamesAndLargeBodyRoundTrips) {
  const std::string exchange(255, 'e');
  const std::string routing_key(255, 'r');
  std::string body(4 << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 131 + (i >> 12));
  auto original =
      server::MessageRef(server::Message::Create(exchange, routing_key, "\x80\x00"s, body, false));
  server::MessageRef decoded = Decode(Record(*original));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->exchange(), exchange);
  EXPECT_EQ(decoded->routing_key(), routing_key);
  EXPECT_EQ(decoded->properties(), "\x80\x00"s);
  EXPECT_TRUE(decoded->body() == body);  // no 4 MiB diff on failure
  EXPECT_FALSE(decoded->persistent());
}

TEST(Keys, MalformedMessageRecordsDecodeToNull) {
  auto original = server::MessageRef(server::Message::Create("ex", "rk", "props", "body", true));
  std::string header;
  EncodeMessageHeader(*original, &header);
  // Any cut inside the header is malformed (a cut in the body is just a shorter body).
  for (size_t n = 0; n < header.size(); ++n) {
    EXPECT_EQ(DecodeMessage(header.substr(0, n)), nullptr) << "cut at " << n;
  }
  // A length prefix that claims more bytes than the record has.
  EXPECT_EQ(DecodeMessage("\x01\x05"
                          "ab"s),
            nullptr);
  EXPECT_EQ(DecodeMessage("\x00\x00\x00\x00\x00\x00\x10"
                          "short"s),
            nullptr);
  // The whole header with no body is a message with an empty body.
  server::MessageRef empty = Decode(header);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->body(), "");
}

TEST(Keys, TableHexRoundTripsSeveralFieldTypes) {
  amqp::FieldTable nested{{"inner", int32_t{-7}}, {"flag", true}};
  amqp::FieldTable table{
      {"x-max-length", int32_t{1000}},
      {"x-message-ttl", int64_t{-1}},
      {"x-queue-mode", "lazy"},
      {"bool", false},
      {"octet", uint8_t{255}},
      {"short", int16_t{-2}},
      {"double", 2.5},
      {"decimal", amqp::Decimal{2, 12345}},
      {"timestamp", amqp::Timestamp{1700000000}},
      {"void", amqp::Void{}},
      {"bytes", amqp::ByteArray{"\x00\xff"s}},
      {"array", amqp::FieldArray{int32_t{1}, "two", nested}},
      {"table", nested},
      {"dup", "first"},
      {"dup", "second"},  // duplicates and order survive
  };
  const std::string hex = TableToHex(table);
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
  amqp::FieldTable back;
  ASSERT_TRUE(TableFromHex(hex, &back));
  EXPECT_EQ(back, table);
  EXPECT_EQ(TableToHex(back), hex);
}

TEST(Keys, EmptyTableIsItsFourByteSizeInHex) {
  EXPECT_EQ(TableToHex(amqp::FieldTable()), "00000000");
  amqp::FieldTable back{{"stale", "entry"}};
  ASSERT_TRUE(TableFromHex("00000000", &back));
  EXPECT_TRUE(back.empty());
}

TEST(Keys, TableFromHexRejectsMalformedInput) {
  const std::string hex = TableToHex(amqp::FieldTable{{"k", "v"}});
  amqp::FieldTable table;
  ASSERT_TRUE(TableFromHex(hex, &table));
  EXPECT_FALSE(TableFromHex(hex.substr(0, hex.size() - 1), &table)) << "odd length";
  EXPECT_FALSE(TableFromHex(hex.substr(0, hex.size() - 2), &table)) << "truncated table";
  EXPECT_FALSE(TableFromHex(hex + "00", &table)) << "trailing bytes";
  std::string bad_digit = hex;
  bad_digit[3] = 'g';
  EXPECT_FALSE(TableFromHex(bad_digit, &table)) << "not a hex digit";
  EXPECT_FALSE(TableFromHex("0000000", &table));
  EXPECT_FALSE(TableFromHex("", &table)) << "no size";
  EXPECT_FALSE(TableFromHex("zz000000", &table));
  // A well-formed size over an entry with an unknown type tag.
  EXPECT_FALSE(
      TableFromHex("00000004"
                   "016b"
                   "5a00",
                   &table));
}

server::StoredBinding Binding(amqp::FieldTable arguments) {
  return server::StoredBinding{"/", "amq.headers", "q", false, "rk", std::move(arguments)};
}

TEST(Keys, BindingKeysDifferByArguments) {
  const std::string plain = BindingKey(Binding({}));
  const std::string any = BindingKey(Binding({{"x-match", "any"}, {"a", int32_t{1}}}));
  const std::string all = BindingKey(Binding({{"x-match", "all"}, {"a", int32_t{1}}}));
  const std::string typed = BindingKey(Binding({{"x-match", "any"}, {"a", int64_t{1}}}));
  EXPECT_NE(plain, any);
  EXPECT_NE(any, all);
  EXPECT_NE(any, typed) << "the same number with another type is another binding";
  EXPECT_EQ(any, BindingKey(Binding({{"x-match", "any"}, {"a", int32_t{1}}})));
  EXPECT_EQ(plain[0], 'b');
}

TEST(Keys, BindingKeysDifferByDestinationKindAndRoutingKey) {
  server::StoredBinding to_queue = Binding({});
  server::StoredBinding to_exchange = to_queue;
  to_exchange.to_exchange = true;
  server::StoredBinding other_key = to_queue;
  other_key.routing_key = "rk2";
  EXPECT_NE(BindingKey(to_queue), BindingKey(to_exchange));
  EXPECT_NE(BindingKey(to_queue), BindingKey(other_key));
}

TEST(Keys, MetaKeyPartsAreLengthPrefixedSoBoundariesCannotCollide) {
  EXPECT_NE(ExchangeKey("ab", "c"), ExchangeKey("a", "bc"));
  EXPECT_NE(QueueKey("ab", "c"), QueueKey("a", "bc"));
  EXPECT_NE(PermissionKey("ab", "c"), PermissionKey("a", "bc"));
  server::StoredBinding a = Binding({});
  server::StoredBinding b = a;
  a.destination = "qr";
  a.routing_key = "k";
  b.destination = "q";
  b.routing_key = "rk";
  EXPECT_NE(BindingKey(a), BindingKey(b));
  // Each kind has its own first byte.
  EXPECT_EQ(VhostKey("x")[0], 'v');
  EXPECT_EQ(UserKey("x")[0], 'u');
  EXPECT_EQ(PermissionKey("x", "y")[0], 'p');
  EXPECT_EQ(ExchangeKey("x", "y")[0], 'e');
  EXPECT_EQ(QueueKey("x", "y")[0], 'q');
  EXPECT_NE(ExchangeKey("x", "y"), QueueKey("x", "y"));
}

TEST(Keys, DelayedKeysSortByExchangeThenDueThenSequence) {
  const std::vector<std::string> keys = {
      DelayedKey("/", "x", 0, 0),
      DelayedKey("/", "x", 0, kMax),
      DelayedKey("/", "x", 255, 1),
      DelayedKey("/", "x", 256, 0),
      DelayedKey("/", "x", int64_t{1} << 40, 0),
      DelayedKey("/", "x", std::numeric_limits<int64_t>::max(), kMax),
      DelayedKey("/", "xa", 0, 0),
  };
  for (size_t i = 1; i < keys.size(); ++i) EXPECT_TRUE(Before(keys[i - 1], keys[i])) << i;
}

TEST(Keys, DelayedExchangeRangeBoundsEveryKeyOfTheExchangeAndNoOther) {
  const std::string begin = DelayedExchangeKey("/", "x");
  const std::string end = DelayedExchangeEndKey("/", "x");
  for (int64_t due : {int64_t{0}, int64_t{1} << 40, std::numeric_limits<int64_t>::max()}) {
    for (uint64_t seq : {uint64_t{0}, kMax}) {
      const std::string key = DelayedKey("/", "x", due, seq);
      EXPECT_FALSE(Before(key, begin));
      EXPECT_TRUE(Before(key, end));
    }
  }
  // Other exchanges and vhosts, even with a shared prefix, are outside.
  for (const std::string& other :
       {DelayedKey("/", "xy", 0, 0), DelayedKey("/", "x\xff", 0, 0),
        DelayedKey("/", "", kMax >> 1, 0), DelayedKey("/x", "", 0, 0), DelayedKey("", "x", 0, 0)}) {
    EXPECT_TRUE(Before(other, begin) || !Before(other, end)) << other;
  }
}

TEST(Keys, DelayedKeyRoundTripsAndRejectsMalformedKeys) {
  server::StoredDelayed d;
  ASSERT_TRUE(DecodeDelayedKey(DelayedKey("vh", "ex", 1234567890123, 42), &d));
  EXPECT_EQ(d.vhost, "vh");
  EXPECT_EQ(d.exchange, "ex");
  EXPECT_EQ(d.due, 1234567890123);
  EXPECT_EQ(d.seq, 42u);
  const std::string key = DelayedKey("vh", "ex", 1, 2);
  EXPECT_FALSE(DecodeDelayedKey(key.substr(0, key.size() - 1), &d));
  EXPECT_FALSE(DecodeDelayedKey(key + "z", &d));
  EXPECT_FALSE(DecodeDelayedKey("", &d));
  EXPECT_FALSE(DecodeDelayedKey("\xff\xff", &d));
}

}  // namespace
}  // namespace warren::storage
