// Tests for amqp/generated/methods.*: every method of the protocol round-trips with every
// argument set, method lookup by ids, exact argument bytes (bit packing above all) and
// the decoder's errors for unknown, truncated and overlong method frames.

#include "amqp/generated/methods.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "amqp/decoder.h"
#include "amqp/encoder.h"
#include "amqp/frame.h"
#include "amqp/table.h"

namespace warren::amqp {
namespace {

using namespace std::string_literals;

// Calls f(std::type_identity<M>{}) for every alternative M of Method.
template <class F, size_t... I>
void ForEachMethodType(F&& f, std::index_sequence<I...>) {
  (f(std::type_identity<std::variant_alternative_t<I, Method>>{}), ...);
}
template <class F>
void ForEachMethodType(F&& f) {
  ForEachMethodType(f, std::make_index_sequence<std::variant_size_v<Method>>{});
}

// How ArgumentFiller sets bit arguments, so that each bit position is seen both set and
// clear next to neighbours in the other state.
enum class BitPattern { kAlternateFromTrue, kAlternateFromFalse, kAllTrue };

// A visitor for M::VisitArguments that gives every argument a value different from its
// default (bits excepted, which follow the BitPattern). Integers use their high bytes and
// differ from one argument to the next, so swapped or mis-sized fields are caught.
class ArgumentFiller {
 public:
  // *strings must outlive the method filled: string arguments view it.
  ArgumentFiller(BitPattern bits, std::deque<std::string>* strings)
      : bits_(bits), strings_(strings) {}

  void operator()(std::string_view, bool& v) {
    const int k = bit_++;
    v = bits_ == BitPattern::kAllTrue || (k % 2 == 0) == (bits_ == BitPattern::kAlternateFromTrue);
  }
  void operator()(std::string_view, uint8_t& v) { v = static_cast<uint8_t>(0xA1 + Next()); }
  void operator()(std::string_view, uint16_t& v) { v = static_cast<uint16_t>(0xB2C3 + Next()); }
  void operator()(std::string_view, uint32_t& v) { v = 0xD4E5F607u + Next(); }
  void operator()(std::string_view, uint64_t& v) {
    v = 0x8102030405060708u + (uint64_t{Next()} << 40);
  }
  void operator()(std::string_view name, std::string_view& v) {
    // Embedded NUL and non-ASCII bytes must pass through untouched.
    strings_->push_back(std::string(name) + "#" + std::to_string(Next()) + "\x00\xc3\xa9"s);
    v = strings_->back();
  }
  void operator()(std::string_view name, FieldTable& v) {
    const uint32_t k = Next();
    v = FieldTable{{"x-arg", std::string(name)},
                   {"x-int", -static_cast<int32_t>(k) - 1000},
                   {"x-long", int64_t{0x7102030405060708} + k},
                   {"x-flag", true},
                   {"x-nested", FieldTable{{"list", FieldArray{uint8_t{1}, "two", Void{}}}}}};
  }

 private:
  uint32_t Next() { return counter_++; }

  BitPattern bits_;
  std::deque<std::string>* strings_;
  uint32_t counter_ = 1;
  int bit_ = 0;
};

template <class M>
M Filled(BitPattern bits, std::deque<std::string>* strings) {
  M m;
  M::VisitArguments(m, ArgumentFiller(bits, strings));
  return m;
}

template <class M>
int ArgumentCount() {
  int n = 0;
  M m;
  M::VisitArguments(m, [&](std::string_view, const auto&) { ++n; });
  return n;
}

// Names of the arguments of `m` that hold their type's default value; bits only if
// `include_bits`.
template <class M>
std::vector<std::string> DefaultArguments(const M& m, bool include_bits) {
  std::vector<std::string> names;
  M::VisitArguments(m, [&](std::string_view name, const auto& v) {
    using T = std::decay_t<decltype(v)>;
    if (std::is_same_v<T, bool> && !include_bits) return;
    if (v == T{}) names.emplace_back(name);
  });
  return names;
}

std::string EncodePayload(const Method& method, bool* ok = nullptr) {
  std::string out;
  Encoder enc(&out);
  EncodeMethod(enc, method);
  if (ok != nullptr) *ok = enc.ok();
  return out;
}

template <class M>
void ExpectRoundTrip(const M& original) {
  std::string payload;
  Encoder enc(&payload);
  EncodeMethod(enc, original);
  ASSERT_TRUE(enc.ok());
  ASSERT_GE(payload.size(), 4u);
  EXPECT_EQ(
      payload.substr(0, 4),
      std::string({static_cast<char>(M::kClassId >> 8), static_cast<char>(M::kClassId & 0xff),
                   static_cast<char>(M::kMethodId >> 8), static_cast<char>(M::kMethodId & 0xff)}));
  // The variant overload writes the same bytes as the typed one.
  EXPECT_EQ(EncodePayload(Method(original)), payload);

  Method decoded;
  const Status status = DecodeMethod(payload, &decoded);
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_TRUE(std::holds_alternative<M>(decoded)) << "decoded as " << InfoOf(decoded).name;
  EXPECT_TRUE(std::get<M>(decoded) == original);
  EXPECT_EQ(EncodePayload(decoded), payload);
}

void ExpectAllMethodsRoundTrip(BitPattern bits) {
  std::deque<std::string> strings;
  ForEachMethodType([&]<class M>(std::type_identity<M>) {
    SCOPED_TRACE(M::kName);
    const M original = Filled<M>(bits, &strings);
    if (ArgumentCount<M>() > 0 && bits != BitPattern::kAlternateFromFalse) {
      EXPECT_FALSE(original == M{}) << "no argument was set";
    }
    for (const std::string& name : DefaultArguments(original, bits == BitPattern::kAllTrue)) {
      ADD_FAILURE() << "argument " << name << " was left at its default";
    }
    ExpectRoundTrip(original);
  });
}

TEST(Methods, EveryMethodRoundTripsWithBitsAlternatingFromTrue) {
  ExpectAllMethodsRoundTrip(BitPattern::kAlternateFromTrue);
}

TEST(Methods, EveryMethodRoundTripsWithBitsAlternatingFromFalse) {
  ExpectAllMethodsRoundTrip(BitPattern::kAlternateFromFalse);
}

TEST(Methods, EveryMethodRoundTripsWithAllBitsTrue) {
  ExpectAllMethodsRoundTrip(BitPattern::kAllTrue);
}

TEST(Methods, EveryMethodRoundTripsWithDefaultArguments) {
  ForEachMethodType([&]<class M>(std::type_identity<M>) {
    SCOPED_TRACE(M::kName);
    ExpectRoundTrip(M{});
  });
}

TEST(Methods, DecodingOverwritesEveryArgument) {
  // Decoding into a variant that already holds the same method with other values must
  // not leave any of them behind.
  std::deque<std::string> strings;
  ForEachMethodType([&]<class M>(std::type_identity<M>) {
    SCOPED_TRACE(M::kName);
    const M zero{};
    const std::string payload = EncodePayload(Method(zero));
    Method decoded = Filled<M>(BitPattern::kAllTrue, &strings);
    ASSERT_TRUE(DecodeMethod(payload, &decoded).ok());
    ASSERT_TRUE(std::holds_alternative<M>(decoded));
    EXPECT_TRUE(std::get<M>(decoded) == zero);
  });
}

TEST(Methods, EveryTruncationOfEveryMethodIsAFrameError) {
  std::deque<std::string> strings;
  ForEachMethodType([&]<class M>(std::type_identity<M>) {
    SCOPED_TRACE(M::kName);
    const std::string payload = EncodePayload(Method(Filled<M>(BitPattern::kAllTrue, &strings)));
    for (size_t n = 0; n < payload.size(); ++n) {
      Method decoded;
      const Status status = DecodeMethod(std::string_view(payload).substr(0, n), &decoded);
      EXPECT_EQ(status.code(), ReplyCode::kFrameError) << "prefix of " << n << " bytes";
    }
  });
}

TEST(Methods, TrailingBytesAfterTheArgumentsAreAFrameError) {
  std::deque<std::string> strings;
  ForEachMethodType([&]<class M>(std::type_identity<M>) {
    SCOPED_TRACE(M::kName);
    const std::string payload = EncodePayload(Method(Filled<M>(BitPattern::kAllTrue, &strings)));
    for (const std::string& extra : {"\x00"s, "x"s, "\xce\xce\xce\xce"s}) {
      Method decoded;
      const Status status = DecodeMethod(payload + extra, &decoded);
      EXPECT_EQ(status.code(), ReplyCode::kFrameError);
      EXPECT_FALSE(status.text().empty());
    }
  });
}

TEST(Methods, PayloadShorterThanTheIdsIsAFrameError) {
  for (const std::string& payload : {""s, "\x00"s, "\x00\x3c"s, "\x00\x3c\x00"s}) {
    Method decoded;
    EXPECT_EQ(DecodeMethod(payload, &decoded).code(), ReplyCode::kFrameError)
        << payload.size() << " bytes";
  }
}

TEST(Methods, UnknownIdsAreNotImplemented) {
  const std::vector<std::string> payloads = {
      "\x00\x1e\x00\x0a"s,              // access.request (30, 10): removed in 0-9-1
      "\x00\x3c\x00\x29"s,              // (60, 41): between publish and return
      "\x00\x28\x00\x32"s,              // (40, 50): exchange.unbind-ok is 51
      "\x00\x00\x00\x00"s,              // (0, 0)
      "\xff\xff\xff\xff"s,              // (65535, 65535)
      "\x00\x0a\x00\x0c\x00\x00\x00"s,  // (10, 12), with argument bytes
  };
  for (const std::string& payload : payloads) {
    Method decoded;
    const Status status = DecodeMethod(payload, &decoded);
    EXPECT_EQ(status.code(), ReplyCode::kNotImplemented);
    EXPECT_FALSE(status.text().empty());
  }
}

TEST(Methods, EveryMethodIdIsDistinct) {
  std::set<uint32_t> ids;
  ForEachMethodType([&]<class M>(std::type_identity<M>) {
    EXPECT_TRUE(ids.insert(static_cast<uint32_t>(M::kId)).second) << M::kName;
    EXPECT_EQ(M::kId, MakeMethodId(M::kClassId, M::kMethodId)) << M::kName;
  });
  EXPECT_EQ(ids.size(), std::variant_size_v<Method>);
}

TEST(MethodInfo, EveryMethodIsFoundByItsIds) {
  ForEachMethodType([&]<class M>(std::type_identity<M>) {
    SCOPED_TRACE(M::kName);
    const MethodInfo* info = FindMethodInfo(M::kClassId, M::kMethodId);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->id, M::kId);
    EXPECT_EQ(info->name, M::kName);
    EXPECT_EQ(info->synchronous, M::kSynchronous);
    EXPECT_EQ(info->has_content, M::kHasContent);
    EXPECT_EQ(&InfoOf(Method(M{})), info);
  });
}

TEST(MethodInfo, KnownIdsHaveTheSpecsProperties) {
  const MethodInfo* publish = FindMethodInfo(60, 40);
  ASSERT_NE(publish, nullptr);
  EXPECT_EQ(publish->name, "basic.publish");
  EXPECT_TRUE(publish->has_content);
  EXPECT_FALSE(publish->synchronous);

  const MethodInfo* blocked = FindMethodInfo(10, 60);
  ASSERT_NE(blocked, nullptr);
  EXPECT_EQ(blocked->name, "connection.blocked");
  EXPECT_FALSE(blocked->has_content);

  const MethodInfo* update_secret = FindMethodInfo(10, 70);
  ASSERT_NE(update_secret, nullptr);
  EXPECT_EQ(update_secret->name, "connection.update-secret");
  const MethodInfo* update_secret_ok = FindMethodInfo(10, 71);
  ASSERT_NE(update_secret_ok, nullptr);
  EXPECT_EQ(update_secret_ok->name, "connection.update-secret-ok");

  const MethodInfo* confirm_select = FindMethodInfo(85, 10);
  ASSERT_NE(confirm_select, nullptr);
  EXPECT_EQ(confirm_select->name, "confirm.select");
  EXPECT_EQ(confirm_select->id, MethodId::kConfirmSelect);

  const std::vector<std::pair<uint16_t, uint16_t>> with_content = {{60, 50}, {60, 60}, {60, 71}};
  for (const auto& [class_id, method_id] : with_content) {
    const MethodInfo* info = FindMethodInfo(class_id, method_id);
    ASSERT_NE(info, nullptr);
    EXPECT_TRUE(info->has_content) << info->name;
  }
  const MethodInfo* get_empty = FindMethodInfo(60, 72);
  ASSERT_NE(get_empty, nullptr);
  EXPECT_FALSE(get_empty->has_content);
}

TEST(MethodInfo, UnknownIdsAreNotFound) {
  EXPECT_EQ(FindMethodInfo(0, 0), nullptr);
  EXPECT_EQ(FindMethodInfo(10, 12), nullptr);
  EXPECT_EQ(FindMethodInfo(30, 10), nullptr);
  EXPECT_EQ(FindMethodInfo(40, 50), nullptr);
  EXPECT_EQ(FindMethodInfo(60, 41), nullptr);
  EXPECT_EQ(FindMethodInfo(85, 12), nullptr);
  EXPECT_EQ(FindMethodInfo(90, 40), nullptr);
  EXPECT_EQ(FindMethodInfo(10, 10 + (60 << 8)), nullptr);
  EXPECT_EQ(FindMethodInfo(0xffff, 0xffff), nullptr);
}

TEST(Methods, BasicPublishEncodesToExactBytes) {
  BasicPublish publish;
  publish.exchange = "ex";
  publish.routing_key = "rk";
  publish.mandatory = true;
  EXPECT_EQ(EncodePayload(publish),
            "\x00\x3c\x00\x28\x00\x00\x02"
            "ex\x02"
            "rk\x01"s);
  publish.mandatory = false;
  publish.immediate = true;
  EXPECT_EQ(EncodePayload(publish),
            "\x00\x3c\x00\x28\x00\x00\x02"
            "ex\x02"
            "rk\x02"s);
  publish.mandatory = true;
  EXPECT_EQ(EncodePayload(publish),
            "\x00\x3c\x00\x28\x00\x00\x02"
            "ex\x02"
            "rk\x03"s);
}

TEST(Methods, QueueDeclarePacksItsBitsIntoOneOctet) {
  QueueDeclare declare;
  declare.queue = "q";
  declare.durable = true;
  declare.auto_delete = true;
  const std::string bytes = "\x00\x32\x00\x0a\x00\x00\x01q\x0a\x00\x00\x00\x00"s;
  EXPECT_EQ(EncodePayload(declare), bytes);

  Method decoded;
  ASSERT_TRUE(DecodeMethod(bytes, &decoded).ok());
  const QueueDeclare& q = std::get<QueueDeclare>(decoded);
  EXPECT_EQ(q.queue, "q");
  EXPECT_FALSE(q.passive);
  EXPECT_TRUE(q.durable);
  EXPECT_FALSE(q.exclusive);
  EXPECT_TRUE(q.auto_delete);
  EXPECT_FALSE(q.no_wait);
}

TEST(Methods, EachQueueDeclareBitHasItsSpecPosition) {
  const std::vector<std::pair<bool QueueDeclare::*, uint8_t>> bits = {
      {&QueueDeclare::passive, 0x01},   {&QueueDeclare::durable, 0x02},
      {&QueueDeclare::exclusive, 0x04}, {&QueueDeclare::auto_delete, 0x08},
      {&QueueDeclare::no_wait, 0x10},
  };
  for (const auto& [member, octet] : bits) {
    QueueDeclare declare;
    declare.*member = true;
    const std::string payload = EncodePayload(declare);
    // ids (4), reserved-1 (2), empty queue name (1), then the bits octet.
    ASSERT_EQ(payload.size(), 4u + 2 + 1 + 1 + 4);
    EXPECT_EQ(static_cast<uint8_t>(payload[7]), octet);
  }
}

TEST(Methods, ExchangeDeclareAndBasicConsumeBitPositions) {
  ExchangeDeclare declare;
  declare.exchange = "x";
  declare.type = "topic";
  declare.auto_delete = true;
  declare.no_wait = true;
  EXPECT_EQ(EncodePayload(declare), "\x00\x28\x00\x0a\x00\x00\x01x\x05topic\x14\x00\x00\x00\x00"s);

  BasicConsume consume;
  consume.queue = "q";
  consume.no_ack = true;
  consume.no_wait = true;
  EXPECT_EQ(EncodePayload(consume), "\x00\x3c\x00\x14\x00\x00\x01q\x00\x0a\x00\x00\x00\x00"s);
}

TEST(Methods, BasicDeliverBitSitsBetweenIntegerAndStrings) {
  BasicDeliver deliver;
  deliver.consumer_tag = "c";
  deliver.delivery_tag = 0x0102030405060708;
  deliver.redelivered = true;
  deliver.routing_key = "r";
  const std::string bytes =
      "\x00\x3c\x00\x3c\x01"
      "c\x01\x02\x03\x04\x05\x06\x07\x08\x01\x00\x01r"s;
  EXPECT_EQ(EncodePayload(deliver), bytes);
  Method decoded;
  ASSERT_TRUE(DecodeMethod(bytes, &decoded).ok());
  EXPECT_TRUE(std::get<BasicDeliver>(decoded) == deliver);
}

TEST(Methods, ConnectionTuneEncodesToExactBytes) {
  const ConnectionTune tune{2047, 131072, 60};
  EXPECT_EQ(EncodePayload(tune), "\x00\x0a\x00\x1e\x07\xff\x00\x02\x00\x00\x00\x3c"s);
}

TEST(Methods, ShortStringLongerThan255BytesFailsToEncode) {
  const std::string name(256, 'q');
  QueueDeclare declare;
  declare.queue = name;
  bool ok = true;
  const std::string payload = EncodePayload(declare, &ok);
  EXPECT_FALSE(ok);
  // The encoder writes an empty name instead, so the bytes stay well-formed.
  Method decoded;
  ASSERT_TRUE(DecodeMethod(payload, &decoded).ok());
  EXPECT_EQ(std::get<QueueDeclare>(decoded).queue, "");

  std::string frame;
  EXPECT_FALSE(AppendMethodFrame(&frame, 1, declare));
}

TEST(Methods, ShortStringOf255BytesEncodes) {
  const std::string name(255, 'q');
  QueueDeclare declare;
  declare.queue = name;
  bool ok = false;
  const std::string payload = EncodePayload(declare, &ok);
  EXPECT_TRUE(ok);
  Method decoded;
  ASSERT_TRUE(DecodeMethod(payload, &decoded).ok());
  EXPECT_EQ(std::get<QueueDeclare>(decoded).queue, name);
}

TEST(Methods, LongStringArgumentsMayExceed255And65535Bytes) {
  const std::string challenge(70000, 'c');
  ConnectionSecure secure;
  secure.challenge = challenge;
  ExpectRoundTrip(secure);

  const std::string mechanisms(300, 'm');
  ConnectionStart start;
  start.mechanisms = mechanisms;
  start.locales = "en_US";
  ExpectRoundTrip(start);
}

TEST(Methods, MalformedArgumentTableIsAFrameError) {
  // queue.declare whose arguments table holds an unknown type tag 'Z'.
  const std::string payload = "\x00\x32\x00\x0a\x00\x00\x01q\x00\x00\x00\x00\x03\x01kZ"s;
  Method decoded;
  EXPECT_EQ(DecodeMethod(payload, &decoded).code(), ReplyCode::kFrameError);
}

}  // namespace
}  // namespace warren::amqp
