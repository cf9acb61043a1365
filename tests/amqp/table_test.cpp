// Tests for amqp/table.*: field values of every type tag, tables and arrays, their exact
// wire bytes, and the decoder's handling of malformed input.

#include "amqp/table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "amqp/decoder.h"
#include "amqp/encoder.h"

namespace warren::amqp {
namespace {

using namespace std::string_literals;

std::string EncodeTable(const FieldTable& table) {
  std::string out;
  Encoder enc(&out);
  EncodeFieldTable(enc, table);
  EXPECT_TRUE(enc.ok());
  return out;
}

std::string EncodeValue(const FieldValue& value) {
  std::string out;
  Encoder enc(&out);
  EncodeFieldValue(enc, value);
  EXPECT_TRUE(enc.ok());
  return out;
}

// Decodes a table that must fill `bytes` exactly; fails the test otherwise.
FieldTable DecodeWholeTable(std::string_view bytes) {
  Decoder dec(bytes);
  FieldTable table;
  DecodeFieldTable(dec, &table);
  EXPECT_TRUE(dec.ok()) << dec.failure_reason();
  EXPECT_TRUE(dec.at_end());
  return table;
}

// True if `bytes` decodes as a table (not necessarily consuming all of them).
bool TableDecodes(std::string_view bytes) {
  Decoder dec(bytes);
  FieldTable table;
  DecodeFieldTable(dec, &table);
  return dec.ok();
}

// The big-endian 32-bit encoding of `n`, as tables and arrays prefix their size.
std::string Long(uint32_t n) {
  std::string out;
  Encoder enc(&out);
  enc.Long(n);
  return out;
}

// One value of every alternative of FieldVariant, each with its expected tag. Values use
// high bits and signs so that byte order and sign handling matter.
std::vector<std::pair<char, FieldValue>> OneValueOfEachType() {
  return {
      {'t', true},
      {'b', int8_t{-100}},
      {'B', uint8_t{0xF1}},
      {'s', int16_t{-12345}},
      {'u', uint16_t{0xBEEF}},
      {'I', int32_t{-2000000000}},
      {'i', uint32_t{0xDEADBEEF}},
      {'l', int64_t{-0x0102030405060708}},
      {'f', -3.25f},
      {'d', 6.02214076e23},
      {'D', Decimal{3, -123456}},
      {'S', "long string \xc3\xa9\x00 with NUL"s},
      {'A', FieldArray{int32_t{1}, "two", FieldArray{}, Void{}}},
      {'T', Timestamp{0xF0E0D0C0B0A09080}},
      {'F', FieldTable{{"inner", uint16_t{7}}, {"flag", false}}},
      {'V', Void{}},
      {'x', ByteArray{"\x00\x01\xfe\xff"s}},
  };
}

// A table holding every type, nested tables and arrays, and a duplicate key.
FieldTable RichTable() {
  FieldTable table;
  for (const auto& [tag, value] : OneValueOfEachType()) table.entries.push_back({{tag}, value});
  table.entries.push_back(
      {"nested", FieldTable{{"array", FieldArray{FieldTable{{"deep", FieldArray{"x", 1.5}}}}},
                            {"empty", FieldTable{}}}});
  table.entries.push_back({"t", false});  // a duplicate name, kept in wire order
  return table;
}

TEST(FieldValue, EveryAlternativeHasATestValue) {
  std::set<size_t> covered;
  for (const auto& [tag, value] : OneValueOfEachType()) covered.insert(value.index());
  EXPECT_EQ(covered.size(), std::variant_size_v<FieldVariant>);
}

TEST(FieldValue, TagMatchesTheAlternativeHeld) {
  for (const auto& [tag, value] : OneValueOfEachType()) {
    EXPECT_EQ(value.tag(), tag) << "alternative " << value.index();
  }
}

TEST(FieldValue, EveryTypeRoundTripsAlone) {
  for (const auto& [tag, value] : OneValueOfEachType()) {
    SCOPED_TRACE(std::string("tag ") + tag);
    const std::string bytes = EncodeValue(value);
    ASSERT_FALSE(bytes.empty());
    EXPECT_EQ(bytes[0], tag);
    Decoder dec(bytes);
    FieldValue decoded;
    DecodeFieldValue(dec, &decoded);
    ASSERT_TRUE(dec.ok()) << dec.failure_reason();
    EXPECT_TRUE(dec.at_end());
    EXPECT_EQ(decoded.index(), value.index());
    EXPECT_EQ(decoded, value);
    EXPECT_EQ(EncodeValue(decoded), bytes);
  }
}

TEST(FieldTable, EveryTypeRoundTripsInATable) {
  for (const auto& [tag, value] : OneValueOfEachType()) {
    SCOPED_TRACE(std::string("tag ") + tag);
    const FieldTable table{{"key", value}};
    const std::string bytes = EncodeTable(table);
    const FieldTable decoded = DecodeWholeTable(bytes);
    EXPECT_EQ(decoded, table);
    EXPECT_EQ(EncodeTable(decoded), bytes);
  }
}

TEST(FieldArray, EveryTypeRoundTripsInAnArray) {
  FieldArray array;
  for (const auto& [tag, value] : OneValueOfEachType()) array.push_back(value);
  std::string bytes;
  Encoder enc(&bytes);
  EncodeFieldArray(enc, array);
  Decoder dec(bytes);
  FieldArray decoded;
  DecodeFieldArray(dec, &decoded);
  ASSERT_TRUE(dec.ok()) << dec.failure_reason();
  EXPECT_TRUE(dec.at_end());
  EXPECT_EQ(decoded, array);
  std::string again;
  Encoder enc2(&again);
  EncodeFieldArray(enc2, decoded);
  EXPECT_EQ(again, bytes);
}

TEST(FieldTable, RichTableRoundTripsWithIdenticalBytes) {
  const FieldTable table = RichTable();
  const std::string bytes = EncodeTable(table);
  const FieldTable decoded = DecodeWholeTable(bytes);
  EXPECT_EQ(decoded, table);
  EXPECT_EQ(decoded.entries.size(), table.entries.size());
  EXPECT_EQ(EncodeTable(decoded), bytes);
}

TEST(FieldTable, TableInArrayInTableRoundTripsSeveralLevelsDeep) {
  FieldTable table{{"leaf", "bottom"}};
  for (int level = 0; level < 6; ++level) {
    FieldTable outer{{"level", int32_t{level}},
                     {"list", FieldArray{table, FieldArray{table, int8_t{-1}}, "after"}}};
    table = std::move(outer);
  }
  const std::string bytes = EncodeTable(table);
  const FieldTable decoded = DecodeWholeTable(bytes);
  EXPECT_EQ(decoded, table);
  EXPECT_EQ(EncodeTable(decoded), bytes);

  // Walk down one path to check the structure really was rebuilt, not just compared.
  const FieldTable* t = &decoded;
  for (int level = 5; level >= 0; --level) {
    ASSERT_NE(t->Find("level"), nullptr);
    EXPECT_EQ(*t->Find("level"), FieldValue(int32_t{level}));
    const FieldArray& list = std::get<FieldArray>(*t->Find("list"));
    ASSERT_EQ(list.size(), 3u);
    EXPECT_EQ(list[2], FieldValue("after"));
    t = &std::get<FieldTable>(list[0]);
  }
  EXPECT_EQ(*t->Find("leaf"), FieldValue("bottom"));
}

TEST(FieldTable, DecimalValuesRoundTrip) {
  const std::vector<Decimal> decimals = {
      {0, 0},
      {2, 314},
      {2, -314},
      {255, std::numeric_limits<int32_t>::max()},
      {10, std::numeric_limits<int32_t>::min()},
  };
  for (const Decimal& d : decimals) {
    const FieldTable table{{"d", d}};
    const FieldTable decoded = DecodeWholeTable(EncodeTable(table));
    ASSERT_TRUE(std::holds_alternative<Decimal>(*decoded.Find("d")));
    EXPECT_EQ(std::get<Decimal>(*decoded.Find("d")).scale, d.scale);
    EXPECT_EQ(std::get<Decimal>(*decoded.Find("d")).value, d.value);
  }
}

// Each value's exact encoding (tag included), checked in both directions.
TEST(FieldValue, EncodesToExactBytesAndDecodesBack) {
  const std::vector<std::pair<FieldValue, std::string>> cases = {
      {true, "t\x01"s},
      {false, "t\x00"s},
      {int8_t{-2}, "b\xfe"s},
      {uint8_t{0xfe}, "B\xfe"s},
      {int16_t{-2}, "s\xff\xfe"s},
      {int16_t{0x1234}, "s\x12\x34"s},
      {uint16_t{0xBEEF}, "u\xbe\xef"s},
      {int32_t{-2}, "I\xff\xff\xff\xfe"s},
      {int32_t{0x01020304}, "I\x01\x02\x03\x04"s},
      {uint32_t{0xDEADBEEF}, "i\xde\xad\xbe\xef"s},
      {int64_t{-2}, "l\xff\xff\xff\xff\xff\xff\xff\xfe"s},
      {1.0f, "f\x3f\x80\x00\x00"s},
      {-2.0, "d\xc0\x00\x00\x00\x00\x00\x00\x00"s},
      {Decimal{2, -12345}, "D\x02\xff\xff\xcf\xc7"s},
      {"hi", "S\x00\x00\x00\x02hi"s},
      {std::string(), "S\x00\x00\x00\x00"s},
      {Timestamp{0x0102030405060708}, "T\x01\x02\x03\x04\x05\x06\x07\x08"s},
      {Void{}, "V"s},
      {ByteArray{"\x00\xff"s}, "x\x00\x00\x00\x02\x00\xff"s},
      {FieldArray{uint8_t{7}, Void{}},
       "A\x00\x00\x00\x03"
       "B\x07V"s},
      {FieldTable{{"a", uint8_t{7}}},
       "F\x00\x00\x00\x04\x01"
       "aB\x07"s},
      {FieldTable{}, "F\x00\x00\x00\x00"s},
  };
  for (const auto& [value, bytes] : cases) {
    SCOPED_TRACE(std::string("tag ") + value.tag());
    EXPECT_EQ(EncodeValue(value), bytes);
    Decoder dec(bytes);
    FieldValue decoded;
    DecodeFieldValue(dec, &decoded);
    ASSERT_TRUE(dec.ok()) << dec.failure_reason();
    EXPECT_TRUE(dec.at_end());
    EXPECT_EQ(decoded.index(), value.index());
    EXPECT_EQ(decoded, value);
  }
}

TEST(FieldTable, EncodesToExactBytes) {
  const FieldTable table{{"k", int32_t{-2}}, {"name", "v"}};
  // size 18: "k" entry 1+1+1+4, "name" entry 1+4+1+4+1
  EXPECT_EQ(EncodeTable(table),
            "\x00\x00\x00\x12\x01kI\xff\xff\xff\xfe\x04nameS\x00\x00\x00\x01v"s);
  EXPECT_EQ(EncodeTable(FieldTable{}), "\x00\x00\x00\x00"s);
}

TEST(FieldTable, SignedTypesDecodeAsSigned) {
  const FieldTable decoded = DecodeWholeTable(
      "\x00\x00\x00\x0d\x01s"
      "s\x80\x00\x01"
      "bb\x80\x01"
      "BB\x80"s);
  EXPECT_EQ(*decoded.Find("s"), FieldValue(int16_t{-32768}));
  EXPECT_EQ(*decoded.Find("b"), FieldValue(int8_t{-128}));
  EXPECT_EQ(*decoded.Find("B"), FieldValue(uint8_t{128}));
}

TEST(FieldTable, UnknownTypeTagIsADecodeError) {
  for (char tag : {'Z', 'U', 'L', 'c', '\0', '\xff'}) {
    SCOPED_TRACE(static_cast<int>(tag));
    const std::string bytes = "\x00\x00\x00\x03\x01k"s + tag;
    EXPECT_FALSE(TableDecodes(bytes));
    // Also when the bad value is nested inside an array inside a table.
    const std::string nested =
        "\x00\x00\x00\x09\x01kA\x00\x00\x00\x02"
        "V"s +
        tag;
    EXPECT_FALSE(TableDecodes(nested));
    const std::string tag_only(1, tag);
    Decoder dec(tag_only);
    FieldValue value;
    DecodeFieldValue(dec, &value);
    EXPECT_FALSE(dec.ok());
  }
}

TEST(FieldTable, FailedDecodeIsSticky) {
  const std::string bytes = "\x00\x00\x00\x03\x01kZ\x00\x00\x00\x00"s;
  Decoder dec(bytes);
  FieldTable table;
  DecodeFieldTable(dec, &table);
  EXPECT_FALSE(dec.ok());
  EXPECT_STRNE(dec.failure_reason(), "");
  DecodeFieldTable(dec, &table);  // a well-formed empty table follows, but too late
  EXPECT_FALSE(dec.ok());
}

TEST(FieldTable, EveryTruncationOfAValidTableFails) {
  const std::string bytes = EncodeTable(RichTable());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(TableDecodes(bytes.substr(0, n))) << "prefix of " << n << " bytes";
  }
  EXPECT_TRUE(TableDecodes(bytes));
}

// Cuts the table's body short but rewrites the size to match, so the cut is seen by the
// entry decoder rather than by the size check: it must fail unless it falls between
// entries, and then the entries read are exactly the ones before the cut.
TEST(FieldTable, TruncatedEntriesFailUnlessCutBetweenEntries) {
  const FieldTable table = RichTable();
  std::set<size_t> boundaries;
  for (size_t i = 0; i <= table.entries.size(); ++i) {
    FieldTable prefix;
    prefix.entries.assign(table.entries.begin(), table.entries.begin() + i);
    boundaries.insert(EncodeTable(prefix).size() - 4);
  }
  const std::string body = EncodeTable(table).substr(4);
  for (size_t n = 0; n <= body.size(); ++n) {
    const std::string bytes = Long(static_cast<uint32_t>(n)) + body.substr(0, n);
    Decoder dec(bytes);
    FieldTable decoded;
    DecodeFieldTable(dec, &decoded);
    if (boundaries.count(n)) {
      ASSERT_TRUE(dec.ok()) << "cut at entry boundary " << n;
      ASSERT_LE(decoded.entries.size(), table.entries.size());
      EXPECT_EQ(EncodeTable(decoded).size() - 4, n);
      for (size_t i = 0; i < decoded.entries.size(); ++i) {
        EXPECT_EQ(decoded.entries[i], table.entries[i]);
      }
    } else {
      EXPECT_FALSE(dec.ok()) << "cut inside an entry at " << n;
    }
  }
}

TEST(FieldValue, EveryTruncationOfEachTypeFails) {
  for (const auto& [tag, value] : OneValueOfEachType()) {
    const std::string bytes = EncodeValue(value);
    for (size_t n = 0; n < bytes.size(); ++n) {
      Decoder dec(std::string_view(bytes).substr(0, n));
      FieldValue decoded;
      DecodeFieldValue(dec, &decoded);
      EXPECT_FALSE(dec.ok()) << "tag " << tag << ", prefix of " << n << " bytes";
    }
  }
}

TEST(FieldTable, DeclaredSizeLargerThanContentFails) {
  std::string bytes = EncodeTable(FieldTable{{"a", int32_t{1}}, {"b", "text"}});
  bytes[3] = static_cast<char>(bytes[3] + 1);
  EXPECT_FALSE(TableDecodes(bytes));
  // Even when more bytes follow, they are not a whole entry.
  EXPECT_FALSE(TableDecodes(bytes + "\x00"s));
}

TEST(FieldTable, DeclaredSizeSmallerThanContentFails) {
  const std::string good = EncodeTable(FieldTable{{"a", int32_t{1}}, {"b", "text"}});
  const size_t first_entry = EncodeTable(FieldTable{{"a", int32_t{1}}}).size() - 4;
  for (size_t size = 1; size < good.size() - 4; ++size) {
    std::string bytes = good;
    bytes.replace(0, 4, Long(static_cast<uint32_t>(size)));
    Decoder dec(bytes);
    FieldTable decoded;
    DecodeFieldTable(dec, &decoded);
    if (size == first_entry) {
      // Cut between the entries the table is well-formed, but the rest is left unread.
      EXPECT_TRUE(dec.ok());
      EXPECT_EQ(decoded.entries.size(), 1u);
      EXPECT_FALSE(dec.at_end());
    } else {
      EXPECT_FALSE(dec.ok()) << "declared size " << size;
    }
  }
}

TEST(FieldArray, DeclaredSizeMismatchFails) {
  std::string bytes;
  Encoder enc(&bytes);
  EncodeFieldArray(enc, FieldArray{int32_t{5}, "abc"});
  std::string larger = bytes;
  larger[3] = static_cast<char>(larger[3] + 1);
  std::string smaller = bytes;
  smaller[3] = static_cast<char>(smaller[3] - 1);
  for (const std::string& b : {larger, smaller}) {
    Decoder dec(b);
    FieldArray array;
    DecodeFieldArray(dec, &array);
    EXPECT_FALSE(dec.ok());
  }
}

// `levels` tables nested inside the outermost one, the innermost holding one value, so
// that value sits `levels` deep.
FieldTable NestedTables(int levels) {
  FieldTable table{{"leaf", int32_t{42}}};
  for (int i = 0; i < levels; ++i) table = FieldTable{{"n", std::move(table)}};
  return table;
}

TEST(FieldTable, NestingUpToTheLimitDecodes) {
  const FieldTable table = NestedTables(kMaxFieldNesting);
  EXPECT_EQ(DecodeWholeTable(EncodeTable(table)), table);
}

TEST(FieldTable, NestingDeeperThanTheLimitFails) {
  for (int levels : {kMaxFieldNesting + 1, kMaxFieldNesting + 2, 3 * kMaxFieldNesting}) {
    EXPECT_FALSE(TableDecodes(EncodeTable(NestedTables(levels)))) << levels << " levels";
  }
}

TEST(FieldTable, NestingOfMixedTablesAndArraysIsLimited) {
  FieldValue value = "leaf";
  for (int i = 0; i < kMaxFieldNesting + 1; ++i) {
    if (i % 2 == 0) {
      value = FieldArray{std::move(value)};
    } else {
      value = FieldTable{{"n", std::move(value)}};
    }
  }
  // The outer table adds nothing to the depth: its own values are at depth 0.
  const FieldTable too_deep{{"top", value}};
  EXPECT_FALSE(TableDecodes(EncodeTable(too_deep)));
  const FieldTable at_limit{{"top", std::get<FieldArray>(value)[0]}};
  EXPECT_EQ(DecodeWholeTable(EncodeTable(at_limit)), at_limit);
}

// A hostile peer's deeply nested arrays must fail cleanly, not exhaust the stack.
TEST(FieldArray, VeryDeepNestingFailsWithoutRecursingThroughIt) {
  constexpr size_t kLevels = 100000;
  std::string bytes;
  bytes.reserve(kLevels * 5);
  for (size_t i = 0; i < kLevels; ++i) {
    bytes += 'A';
    bytes += Long(static_cast<uint32_t>(5 * (kLevels - 1 - i)));
  }
  Decoder dec(std::string_view(bytes).substr(1));  // the outermost array, without its tag
  FieldArray array;
  DecodeFieldArray(dec, &array);
  EXPECT_FALSE(dec.ok());
}

TEST(FieldTable, FindReturnsTheFirstEntryWithTheName) {
  const FieldTable table{{"a", int32_t{1}}, {"b", "two"}, {"a", int32_t{3}}};
  ASSERT_NE(table.Find("a"), nullptr);
  EXPECT_EQ(*table.Find("a"), FieldValue(int32_t{1}));
  ASSERT_NE(table.Find("b"), nullptr);
  EXPECT_EQ(*table.Find("b"), FieldValue("two"));
  EXPECT_EQ(table.Find("c"), nullptr);
  EXPECT_EQ(table.Find(""), nullptr);
  EXPECT_EQ(table.Find("A"), nullptr);  // names are case-sensitive
}

TEST(FieldTable, SetReplacesTheFirstMatchOrAppends) {
  FieldTable table{{"a", int32_t{1}}, {"b", "two"}, {"a", int32_t{3}}};
  table.Set("a", true);
  ASSERT_EQ(table.entries.size(), 3u);
  EXPECT_EQ(table.entries[0], (FieldEntry{"a", true}));
  EXPECT_EQ(table.entries[2], (FieldEntry{"a", int32_t{3}}));

  table.Set("c", Void{});
  ASSERT_EQ(table.entries.size(), 4u);
  EXPECT_EQ(table.entries[3], (FieldEntry{"c", Void{}}));
  EXPECT_EQ(*table.Find("c"), FieldValue(Void{}));
}

TEST(FieldTable, DuplicateNamesSurviveARoundTrip) {
  const FieldTable table{{"x", int32_t{1}}, {"x", int32_t{2}}};
  const FieldTable decoded = DecodeWholeTable(EncodeTable(table));
  ASSERT_EQ(decoded.entries.size(), 2u);
  EXPECT_EQ(decoded.entries[1].value, FieldValue(int32_t{2}));
}

TEST(FieldTable, EqualityDependsOnOrderAndType) {
  const FieldTable ab{{"a", int32_t{1}}, {"b", int32_t{2}}};
  const FieldTable ba{{"b", int32_t{2}}, {"a", int32_t{1}}};
  EXPECT_NE(ab, ba);
  EXPECT_NE((FieldTable{{"a", int32_t{1}}}), (FieldTable{{"a", int64_t{1}}}));
  EXPECT_NE((FieldTable{{"a", "s"}}), (FieldTable{{"a", ByteArray{"s"}}}));
}

TEST(FieldValue, StringLiteralIsALongString) {
  const FieldValue value = "text";
  EXPECT_TRUE(std::holds_alternative<std::string>(value));
  EXPECT_EQ(value.tag(), 'S');
  const FieldTable table{{"k", "v"}};
  EXPECT_TRUE(std::holds_alternative<std::string>(*table.Find("k")));
}

TEST(FieldValue, DefaultIsVoid) {
  const FieldValue value;
  EXPECT_TRUE(std::holds_alternative<Void>(value));
  EXPECT_EQ(value.tag(), 'V');
}

TEST(FieldTable, EntryNameLongerThan255BytesFailsToEncode) {
  std::string out;
  Encoder enc(&out);
  EncodeFieldTable(enc, FieldTable{{std::string(256, 'n'), int32_t{1}}});
  EXPECT_FALSE(enc.ok());
}

TEST(FieldTable, SkipMovesPastTheWholeTable) {
  const std::string bytes = EncodeTable(RichTable()) + "\x42"s;
  Decoder dec(bytes);
  SkipFieldTable(dec);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec.remaining(), 1u);
  EXPECT_EQ(dec.Octet(), 0x42);
}

}  // namespace
}  // namespace warren::amqp
