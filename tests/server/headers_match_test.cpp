// Tests for server/headers_match.*: x-match modes, x- keys, void presence, value equality
// with Erlang's == as RabbitMQ 3.10 applies it, and binding validation.

#include "server/headers_match.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace warren::server {
namespace {

using amqp::ByteArray;
using amqp::Decimal;
using amqp::FieldArray;
using amqp::FieldTable;
using amqp::FieldValue;
using amqp::ReplyCode;
using amqp::Timestamp;
using amqp::Void;

// Whether a binding {x-match: mode, key: bound} matches headers {key: sent}.
bool ValueMatches(const FieldValue& bound, const FieldValue& sent) {
  return HeadersMatch(FieldTable{{"x-match", "all"}, {"k", bound}}, FieldTable{{"k", sent}});
}

// --- x-match modes -----------------------------------------------------------------------

TEST(HeadersMatch, AllNeedsEveryKeyEqual) {
  const FieldTable binding{{"x-match", "all"}, {"format", "pdf"}, {"type", "report"}};
  EXPECT_TRUE(HeadersMatch(binding, {{"format", "pdf"}, {"type", "report"}}));
  EXPECT_TRUE(HeadersMatch(binding, {{"type", "report"}, {"extra", 1}, {"format", "pdf"}}));
  EXPECT_FALSE(HeadersMatch(binding, {{"format", "pdf"}, {"type", "log"}}));
  EXPECT_FALSE(HeadersMatch(binding, {{"format", "pdf"}}));
  EXPECT_FALSE(HeadersMatch(binding, {}));
}

TEST(HeadersMatch, AnyNeedsOneKeyEqual) {
  const FieldTable binding{{"x-match", "any"}, {"format", "pdf"}, {"type", "report"}};
  EXPECT_TRUE(HeadersMatch(binding, {{"format", "pdf"}, {"type", "log"}}));
  EXPECT_TRUE(HeadersMatch(binding, {{"type", "report"}}));
  EXPECT_FALSE(HeadersMatch(binding, {{"format", "zip"}, {"type", "log"}}));
  EXPECT_FALSE(HeadersMatch(binding, {{"other", "pdf"}}));
  EXPECT_FALSE(HeadersMatch(binding, {}));
}

TEST(HeadersMatch, XMatchDefaultsToAll) {
  const FieldTable binding{{"a", 1}, {"b", 2}};
  EXPECT_TRUE(HeadersMatch(binding, {{"a", 1}, {"b", 2}}));
  EXPECT_FALSE(HeadersMatch(binding, {{"a", 1}}));
}

TEST(HeadersMatch, InvalidXMatchIsTreatedAsAll) {
  for (const FieldValue& x_match : {FieldValue("bogus"), FieldValue(int32_t{1}),
                                    FieldValue(ByteArray{"any"}), FieldValue("ANY")}) {
    const FieldTable binding{{"x-match", x_match}, {"a", 1}, {"b", 2}};
    EXPECT_FALSE(HeadersMatch(binding, {{"a", 1}})) << x_match.tag();
    EXPECT_TRUE(HeadersMatch(binding, {{"a", 1}, {"b", 2}})) << x_match.tag();
  }
}

TEST(HeadersMatch, AllWithNoKeysMatchesEverything) {
  EXPECT_TRUE(HeadersMatch({}, {}));
  EXPECT_TRUE(HeadersMatch({{"x-match", "all"}}, {}));
  EXPECT_TRUE(HeadersMatch({{"x-match", "all"}}, {{"a", 1}}));
  EXPECT_TRUE(HeadersMatch({{"x-match", "all-with-x"}}, {}));
  // x- keys do not count as keys under plain "all".
  EXPECT_TRUE(HeadersMatch({{"x-match", "all"}, {"x-tag", 1}}, {}));
}

TEST(HeadersMatch, AnyWithNoKeysMatchesNothing) {
  EXPECT_FALSE(HeadersMatch({{"x-match", "any"}}, {}));
  EXPECT_FALSE(HeadersMatch({{"x-match", "any"}}, {{"a", 1}}));
  EXPECT_FALSE(HeadersMatch({{"x-match", "any-with-x"}}, {{"x-match", "any-with-x"}}));
  EXPECT_FALSE(HeadersMatch({{"x-match", "any"}, {"x-tag", 1}}, {{"x-tag", 1}}));
}

// --- x- keys -----------------------------------------------------------------------------

TEST(HeadersMatch, XKeysAreIgnoredByAllAndAny) {
  EXPECT_TRUE(HeadersMatch({{"x-match", "all"}, {"x-first-death-reason", "expired"}, {"a", 1}},
                           {{"a", 1}}));
  EXPECT_TRUE(HeadersMatch({{"x-match", "all"}, {"x-first-death-reason", "expired"}, {"a", 1}},
                           {{"a", 1}, {"x-first-death-reason", "rejected"}}));
  EXPECT_FALSE(HeadersMatch({{"x-match", "any"}, {"x-first-death-reason", "expired"}, {"a", 1}},
                            {{"x-first-death-reason", "expired"}}));
  // Exactly the prefix "x-", case-sensitive.
  EXPECT_FALSE(HeadersMatch({{"x-match", "all"}, {"X-tag", 1}}, {}));
  EXPECT_FALSE(HeadersMatch({{"x-match", "all"}, {"xtag", 1}}, {}));
  EXPECT_TRUE(HeadersMatch({{"x-match", "all"}, {"x-", 1}}, {}));
}

TEST(HeadersMatch, AllWithXComparesXKeys) {
  const FieldTable binding{{"x-match", "all-with-x"},
                           {"x-first-death-reason", "expired"},
                           {"x-first-death-queue", "orders"}};
  EXPECT_TRUE(HeadersMatch(
      binding, {{"x-first-death-queue", "orders"}, {"x-first-death-reason", "expired"}}));
  EXPECT_FALSE(HeadersMatch(binding, {{"x-first-death-reason", "expired"}}));
  EXPECT_FALSE(HeadersMatch(
      binding, {{"x-first-death-queue", "orders"}, {"x-first-death-reason", "rejected"}}));
}

TEST(HeadersMatch, AnyWithXComparesXKeys) {
  const FieldTable binding{{"x-match", "any-with-x"}, {"x-first-death-reason", "expired"}};
  EXPECT_TRUE(HeadersMatch(binding, {{"x-first-death-reason", "expired"}}));
  EXPECT_FALSE(HeadersMatch(binding, {{"x-first-death-reason", "rejected"}}));
}

TEST(HeadersMatch, XMatchItselfIsNeverCompared) {
  // Even under -with-x, where other x- keys count.
  EXPECT_TRUE(HeadersMatch({{"x-match", "all-with-x"}}, {{"x-match", "something else"}}));
  EXPECT_TRUE(HeadersMatch({{"x-match", "all-with-x"}, {"a", 1}}, {{"a", 1}}));
  EXPECT_FALSE(HeadersMatch({{"x-match", "any-with-x"}}, {{"x-match", "any-with-x"}}));
}

// --- void: presence ----------------------------------------------------------------------

TEST(HeadersMatch, VoidBindingValueMatchesPresenceOfAnyValue) {
  for (const FieldValue& sent : {FieldValue(Void{}), FieldValue("x"), FieldValue(int32_t{0}),
                                 FieldValue(false), FieldValue(FieldTable{})}) {
    EXPECT_TRUE(ValueMatches(Void{}, sent)) << sent.tag();
  }
  EXPECT_FALSE(HeadersMatch({{"k", Void{}}}, {}));
  EXPECT_FALSE(HeadersMatch({{"k", Void{}}}, {{"other", 1}}));
  EXPECT_TRUE(HeadersMatch({{"x-match", "any"}, {"k", Void{}}, {"j", 9}}, {{"k", 1}}));
}

TEST(HeadersMatch, VoidHeaderMatchesOnlyAVoidBindingValue) {
  EXPECT_FALSE(ValueMatches(int32_t{0}, Void{}));
  EXPECT_FALSE(ValueMatches("", Void{}));
  EXPECT_FALSE(ValueMatches(false, Void{}));
}

// --- values: Erlang == on the decoded terms ----------------------------------------------

TEST(HeadersMatch, IntegersOfEveryTypeCompareByValue) {
  const FieldValue ones[] = {int8_t{1},  uint8_t{1},  int16_t{1}, uint16_t{1},
                             int32_t{1}, uint32_t{1}, int64_t{1}, Timestamp{1}};
  for (const FieldValue& a : ones) {
    for (const FieldValue& b : ones) EXPECT_TRUE(ValueMatches(a, b)) << a.tag() << b.tag();
  }
  EXPECT_FALSE(ValueMatches(int32_t{1}, int64_t{2}));
  EXPECT_TRUE(ValueMatches(int8_t{-1}, int64_t{-1}));
  EXPECT_FALSE(ValueMatches(int8_t{-1}, uint8_t{255}));
  EXPECT_FALSE(ValueMatches(int32_t{-1}, uint32_t{0xFFFFFFFF}));
}

TEST(HeadersMatch, WideIntegersCompareExactly) {
  EXPECT_FALSE(ValueMatches(int64_t{-1}, Timestamp{UINT64_MAX}));
  EXPECT_TRUE(ValueMatches(Timestamp{INT64_MAX}, int64_t{INT64_MAX}));
  EXPECT_TRUE(ValueMatches(int64_t{INT64_MIN}, int64_t{INT64_MIN}));
  EXPECT_FALSE(ValueMatches(int64_t{INT64_MIN}, Timestamp{uint64_t{1} << 63}));
}

TEST(HeadersMatch, IntegersEqualFloatsOfTheSameValue) {
  EXPECT_TRUE(ValueMatches(int32_t{1}, 1.0));
  EXPECT_TRUE(ValueMatches(1.0, int64_t{1}));
  EXPECT_TRUE(ValueMatches(uint8_t{3}, 3.0f));
  EXPECT_TRUE(ValueMatches(int32_t{0}, -0.0));
  EXPECT_TRUE(ValueMatches(int32_t{-2}, -2.0));
  EXPECT_FALSE(ValueMatches(int32_t{1}, 1.5));
  EXPECT_FALSE(ValueMatches(int32_t{2}, -2.0));
  EXPECT_TRUE(ValueMatches(int64_t{INT64_MIN}, -9223372036854775808.0));
  EXPECT_TRUE(ValueMatches(Timestamp{uint64_t{1} << 63}, 9223372036854775808.0));
  // Exact, not through a double: 2^53 + 1 is not the double 2^53.
  EXPECT_FALSE(ValueMatches(int64_t{(int64_t{1} << 53) + 1}, 9007199254740992.0));
  EXPECT_FALSE(ValueMatches(Timestamp{UINT64_MAX}, 18446744073709551616.0));
}

TEST(HeadersMatch, FloatsCompareAsDoubles) {
  EXPECT_TRUE(ValueMatches(1.5f, 1.5));
  EXPECT_TRUE(ValueMatches(0.0, -0.0));
  EXPECT_FALSE(ValueMatches(0.1f, 0.1));  // the float 0.1 is not the double 0.1
  EXPECT_TRUE(ValueMatches(0.1f, static_cast<double>(0.1f)));
}

TEST(HeadersMatch, BoolsEqualOnlyBools) {
  EXPECT_TRUE(ValueMatches(true, true));
  EXPECT_FALSE(ValueMatches(true, false));
  EXPECT_FALSE(ValueMatches(true, int32_t{1}));
  EXPECT_FALSE(ValueMatches(false, int32_t{0}));
  EXPECT_FALSE(ValueMatches(true, "true"));
}

TEST(HeadersMatch, LongStringsAndByteArraysAreBothBinaries) {
  EXPECT_TRUE(ValueMatches("abc", "abc"));
  EXPECT_FALSE(ValueMatches("abc", "ABC"));
  EXPECT_FALSE(ValueMatches("abc", "abc "));
  EXPECT_TRUE(ValueMatches("abc", ByteArray{"abc"}));
  EXPECT_TRUE(ValueMatches(ByteArray{"abc"}, "abc"));
  EXPECT_TRUE(ValueMatches(std::string("a\0b", 3), ByteArray{std::string("a\0b", 3)}));
  EXPECT_FALSE(ValueMatches("1", int32_t{1}));
  EXPECT_TRUE(ValueMatches("", ""));
}

TEST(HeadersMatch, DecimalsEqualOnlyTheSameScaleAndValue) {
  EXPECT_TRUE(ValueMatches(Decimal{2, 150}, Decimal{2, 150}));
  EXPECT_FALSE(ValueMatches(Decimal{2, 150}, Decimal{1, 15}));  // same number, other tuple
  EXPECT_FALSE(ValueMatches(Decimal{0, 1}, int32_t{1}));
  EXPECT_FALSE(ValueMatches(Decimal{0, 1}, 1.0));
}

TEST(HeadersMatch, TablesCompareEntryByEntryWithTypes) {
  const FieldTable inner{{"a", int32_t{1}}, {"b", "x"}};
  EXPECT_TRUE(ValueMatches(inner, FieldTable{{"a", int32_t{1}}, {"b", "x"}}));
  // Nested values keep their type: {signedint, 1} is not {long, 1}.
  EXPECT_FALSE(ValueMatches(inner, FieldTable{{"a", int64_t{1}}, {"b", "x"}}));
  EXPECT_FALSE(ValueMatches(inner, FieldTable{{"a", int32_t{1}}, {"b", ByteArray{"x"}}}));
  // Only the top level is sorted by key, so nested order matters.
  EXPECT_FALSE(ValueMatches(inner, FieldTable{{"b", "x"}, {"a", int32_t{1}}}));
  EXPECT_FALSE(ValueMatches(inner, FieldTable{{"a", int32_t{1}}}));
  EXPECT_FALSE(ValueMatches(inner, FieldTable{{"a", int32_t{1}}, {"c", "x"}}));
  // Same type, numeric ==: 0.0 == -0.0.
  EXPECT_TRUE(ValueMatches(FieldTable{{"z", 0.0}}, FieldTable{{"z", -0.0}}));
  EXPECT_TRUE(ValueMatches(FieldTable{{"t", FieldTable{{"deep", FieldArray{int16_t{5}}}}}},
                           FieldTable{{"t", FieldTable{{"deep", FieldArray{int16_t{5}}}}}}));
  EXPECT_FALSE(ValueMatches(FieldTable{{"t", FieldTable{{"deep", FieldArray{int16_t{5}}}}}},
                            FieldTable{{"t", FieldTable{{"deep", FieldArray{int32_t{5}}}}}}));
}

TEST(HeadersMatch, ArraysCompareElementByElementWithTypes) {
  const FieldArray array{int32_t{1}, "x", true};
  EXPECT_TRUE(ValueMatches(array, FieldArray{int32_t{1}, "x", true}));
  EXPECT_FALSE(ValueMatches(array, FieldArray{int64_t{1}, "x", true}));
  EXPECT_FALSE(ValueMatches(array, FieldArray{int32_t{1}, ByteArray{"x"}, true}));
  EXPECT_FALSE(ValueMatches(array, FieldArray{"x", int32_t{1}, true}));
  EXPECT_FALSE(ValueMatches(array, FieldArray{int32_t{1}, "x"}));
  EXPECT_FALSE(ValueMatches(FieldArray{int32_t{1}}, int32_t{1}));
}

TEST(HeadersMatch, EmptyTableEqualsEmptyArrayOnlyAtTopLevel) {
  // Both decode to the empty list [] ...
  EXPECT_TRUE(ValueMatches(FieldTable{}, FieldArray{}));
  EXPECT_TRUE(ValueMatches(FieldArray{}, FieldTable{}));
  // ... but nested they are {table, []} and {array, []}.
  EXPECT_FALSE(ValueMatches(FieldArray{FieldTable{}}, FieldArray{FieldArray{}}));
  EXPECT_FALSE(ValueMatches(FieldTable{{"a", 1}}, FieldArray{FieldValue(1)}));
  EXPECT_FALSE(ValueMatches(FieldTable{}, ""));
}

// --- repeated keys: RabbitMQ's stable sort and merge --------------------------------------

TEST(HeadersMatch, RepeatedHeaderIsPairedInWireOrder) {
  // The binding's only "a" meets the first header "a".
  EXPECT_FALSE(HeadersMatch({{"a", 1}}, {{"a", 2}, {"a", 1}}));
  EXPECT_TRUE(HeadersMatch({{"a", 1}}, {{"a", 1}, {"a", 2}}));
  EXPECT_FALSE(HeadersMatch({{"x-match", "any"}, {"a", 1}}, {{"a", 2}, {"a", 1}}));
}

TEST(HeadersMatch, RepeatedBindingKeyNeedsAsManyHeaders) {
  const FieldTable binding{{"a", 1}, {"a", 2}};
  EXPECT_TRUE(HeadersMatch(binding, {{"a", 1}, {"a", 2}}));
  EXPECT_FALSE(HeadersMatch(binding, {{"a", 2}, {"a", 1}}));
  EXPECT_FALSE(HeadersMatch(binding, {{"a", 1}}));
  EXPECT_TRUE(HeadersMatch({{"x-match", "any"}, {"a", 1}, {"a", 2}}, {{"a", 3}, {"a", 2}}));
  EXPECT_TRUE(HeadersMatch({{"x-match", "any"}, {"a", 1}, {"a", 1}}, {{"a", 1}}));
}

// --- validation --------------------------------------------------------------------------

TEST(ValidateHeadersBinding, AcceptsTheFourModesAndNone) {
  for (const char* mode : {"all", "any", "all-with-x", "any-with-x"}) {
    EXPECT_TRUE(ValidateHeadersBinding({{"x-match", mode}, {"a", 1}}).ok()) << mode;
  }
  EXPECT_TRUE(ValidateHeadersBinding({}).ok());
  EXPECT_TRUE(ValidateHeadersBinding({{"a", 1}, {"x-other", "whatever"}}).ok());
}

TEST(ValidateHeadersBinding, RejectsOtherStringsWithRabbitMqsText) {
  const amqp::Status s = ValidateHeadersBinding({{"x-match", "some"}});
  EXPECT_EQ(s.code(), ReplyCode::kPreconditionFailed);
  EXPECT_EQ(s.text(),
            "Invalid x-match field value <<\"some\">>; expected all, any, all-with-x, or "
            "any-with-x");
  EXPECT_EQ(s.ToString(),
            "PRECONDITION_FAILED - Invalid x-match field value <<\"some\">>; expected all, any, "
            "all-with-x, or any-with-x");
  EXPECT_EQ(ValidateHeadersBinding({{"x-match", "ALL"}}).code(), ReplyCode::kPreconditionFailed);
  EXPECT_EQ(ValidateHeadersBinding({{"x-match", "all "}}).code(), ReplyCode::kPreconditionFailed);
}

TEST(ValidateHeadersBinding, ShowsStringValuesAsErlangBinaries) {
  auto text = [](const FieldValue& v) { return ValidateHeadersBinding({{"x-match", v}}).text(); };
  const std::string tail = "; expected all, any, all-with-x, or any-with-x";
  EXPECT_EQ(text(""), "Invalid x-match field value <<>>" + tail);
  EXPECT_EQ(text("a\"b\\c\n"), "Invalid x-match field value <<\"a\\\"b\\\\c\\n\">>" + tail);
  EXPECT_EQ(text(std::string("\x01\x02", 2)), "Invalid x-match field value <<1,2>>" + tail);
}

TEST(ValidateHeadersBinding, RejectsOtherTypesWithRabbitMqsText) {
  auto text = [](const FieldValue& v) {
    const amqp::Status s = ValidateHeadersBinding({{"x-match", v}});
    EXPECT_EQ(s.code(), ReplyCode::kPreconditionFailed);
    return s.text();
  };
  const std::string tail = "); expected longstr";
  EXPECT_EQ(text(int32_t{1}), "Invalid x-match field type signedint (value 1" + tail);
  EXPECT_EQ(text(int8_t{-3}), "Invalid x-match field type byte (value -3" + tail);
  EXPECT_EQ(text(uint16_t{7}), "Invalid x-match field type unsignedshort (value 7" + tail);
  EXPECT_EQ(text(Timestamp{5}), "Invalid x-match field type timestamp (value 5" + tail);
  EXPECT_EQ(text(ByteArray{"any"}), "Invalid x-match field type binary (value <<\"any\">>" + tail);
  EXPECT_EQ(text(true), "Invalid x-match field type bool (value true" + tail);
  EXPECT_EQ(text(Void{}), "Invalid x-match field type void (value undefined" + tail);
  EXPECT_EQ(text(Decimal{2, 150}), "Invalid x-match field type decimal (value {2,150}" + tail);
  EXPECT_EQ(text(FieldArray{"all", int64_t{2}}),
            "Invalid x-match field type array (value [{longstr,<<\"all\">>},{long,2}]" + tail);
  EXPECT_EQ(text(FieldTable{{"k", uint8_t{1}}}),
            "Invalid x-match field type table (value [{<<\"k\">>,unsignedbyte,1}]" + tail);
  EXPECT_EQ(text(FieldTable{}), "Invalid x-match field type table (value []" + tail);
}

TEST(ValidateHeadersBinding, ShowsFloatsAsErlangDoes) {
  auto value = [](const FieldValue& v) {
    const std::string text = ValidateHeadersBinding({{"x-match", v}}).text();
    const size_t start = text.find("(value ") + 7;
    return text.substr(start, text.find(')') - start);
  };
  EXPECT_EQ(value(1.5), "1.5");
  EXPECT_EQ(value(-2.0), "-2.0");
  EXPECT_EQ(value(0.0), "0.0");
  EXPECT_EQ(value(100.0), "100.0");
  EXPECT_EQ(value(1000.0), "1.0e3");
  EXPECT_EQ(value(123456.0), "123456.0");
  EXPECT_EQ(value(0.001), "0.001");
  EXPECT_EQ(value(0.0001), "1.0e-4");
  EXPECT_EQ(value(1.25e-7), "1.25e-7");
  EXPECT_EQ(value(1e300), "1.0e300");
  EXPECT_EQ(value(0.1f), "0.10000000149011612");
  EXPECT_EQ(ValidateHeadersBinding({{"x-match", 0.5f}}).text(),
            "Invalid x-match field type float (value 0.5); expected longstr");
}

TEST(ValidateHeadersBinding, LooksAtTheFirstXMatchOnly) {
  EXPECT_TRUE(ValidateHeadersBinding({{"x-match", "any"}, {"x-match", "bogus"}}).ok());
  EXPECT_FALSE(ValidateHeadersBinding({{"x-match", "bogus"}, {"x-match", "any"}}).ok());
  EXPECT_TRUE(
      HeadersMatch({{"x-match", "any"}, {"x-match", "all"}, {"a", 1}, {"b", 2}}, {{"a", 1}}));
}

}  // namespace
}  // namespace warren::server
