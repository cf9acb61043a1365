// Headers-exchange matching, rule for rule as RabbitMQ 3.10 does it
// (deps/rabbit/src/rabbit_exchange_type_headers.erl, with values decoded as
// deps/rabbit_common/src/rabbit_binary_parser.erl decodes them).
//
// RabbitMQ sorts both tables by key (a stable sort, rabbit_misc:sort_field_table) and merges
// them. Its rules, and how they are met here without sorting:
// - "x-match" entries of the binding never take part; other keys beginning with "x-" take
//   part only under "all-with-x" and "any-with-x". Header keys are never skipped.
// - The k-th binding entry named K is compared with the k-th header named K, counting in
//   wire order (what the stable merge pairs up when a key repeats). A binding entry with no
//   such header fails; extra headers are ignored.
// - A binding value of type void ('V') matches a header of any type and value: presence.
// - Otherwise the values are compared with Erlang's ==, which ignores the field type at the
//   top level but not inside arrays and tables (see ValuesEqual).
// - "all" and "all-with-x" match when every taking-part binding entry matched, so a binding
//   with none matches every message; "any" and "any-with-x" match when at least one did, so
//   a binding with none matches no message.

#include "server/headers_match.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace warren::server {

namespace {

using amqp::FieldArray;
using amqp::FieldTable;
using amqp::FieldValue;
using amqp::FieldVariant;

enum class XMatch { kAll, kAny, kAllWithX, kAnyWithX };

// The mode a longstr x-match names; nullopt for any other value or type.
std::optional<XMatch> ParseXMatch(const FieldValue& value) {
  const std::string* s = std::get_if<std::string>(&static_cast<const FieldVariant&>(value));
  if (s == nullptr) return std::nullopt;
  if (*s == "all") return XMatch::kAll;
  if (*s == "any") return XMatch::kAny;
  if (*s == "all-with-x") return XMatch::kAllWithX;
  if (*s == "any-with-x") return XMatch::kAnyWithX;
  return std::nullopt;
}

// --- Erlang's == on decoded field values -------------------------------------------------

// An integer as RabbitMQ decodes it (b s I l signed; B u i T unsigned, T up to 2^64-1),
// widened without loss. Zero is never negative.
struct Integer {
  bool negative = false;
  uint64_t magnitude = 0;
  bool operator==(const Integer&) const = default;
};

Integer FromSigned(int64_t v) {
  return v < 0 ? Integer{true, 0 - static_cast<uint64_t>(v)}
               : Integer{false, static_cast<uint64_t>(v)};
}

std::optional<Integer> AsInteger(const FieldVariant& v) {
  if (const auto* p = std::get_if<int8_t>(&v)) return FromSigned(*p);
  if (const auto* p = std::get_if<uint8_t>(&v)) return FromSigned(*p);
  if (const auto* p = std::get_if<int16_t>(&v)) return FromSigned(*p);
  if (const auto* p = std::get_if<uint16_t>(&v)) return FromSigned(*p);
  if (const auto* p = std::get_if<int32_t>(&v)) return FromSigned(*p);
  if (const auto* p = std::get_if<uint32_t>(&v)) return FromSigned(*p);
  if (const auto* p = std::get_if<int64_t>(&v)) return FromSigned(*p);
  if (const auto* p = std::get_if<amqp::Timestamp>(&v)) return Integer{false, p->seconds};
  return std::nullopt;
}

// 'f' is decoded into an Erlang float, which is a double.
std::optional<double> AsFloat(const FieldVariant& v) {
  if (const auto* p = std::get_if<float>(&v)) return static_cast<double>(*p);
  if (const auto* p = std::get_if<double>(&v)) return *p;
  return std::nullopt;
}

// Erlang compares an integer and a float by exact value: 1 == 1.0, and 2^53+1 /= 2^53.
bool IntegerEqualsFloat(const Integer& i, double d) {
  if (!std::isfinite(d) || std::trunc(d) != d) return false;
  if (d == 0) return i.magnitude == 0;  // -0.0 == 0 too
  if ((d < 0) != i.negative) return false;
  const double m = std::fabs(d);
  if (m >= 18446744073709551616.0) return false;  // 2^64: beyond any field integer
  return static_cast<uint64_t>(m) == i.magnitude;
}

// 'S' and 'x' both decode to an Erlang binary.
const std::string* AsBinary(const FieldVariant& v) {
  if (const auto* p = std::get_if<std::string>(&v)) return p;
  if (const auto* p = std::get_if<amqp::ByteArray>(&v)) return &p->bytes;
  return nullptr;
}

bool ValuesEqual(const FieldValue& a, const FieldValue& b);

// Inside arrays and tables a value stays wrapped with its type ({signedint, 1}; tables are
// lists of {Name, Type, Value}), so there the types must be the same as well.
bool TypedValuesEqual(const FieldValue& a, const FieldValue& b) {
  return a.tag() == b.tag() && ValuesEqual(a, b);
}

bool ArraysEqual(const FieldArray& a, const FieldArray& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!TypedValuesEqual(a[i], b[i])) return false;
  }
  return true;
}

// Order matters: RabbitMQ sorts only the top level of the binding and of the headers.
bool TablesEqual(const FieldTable& a, const FieldTable& b) {
  if (a.entries.size() != b.entries.size()) return false;
  for (size_t i = 0; i < a.entries.size(); ++i) {
    if (a.entries[i].name != b.entries[i].name ||
        !TypedValuesEqual(a.entries[i].value, b.entries[i].value)) {
      return false;
    }
  }
  return true;
}

// Erlang's == on the values RabbitMQ decodes `a` and `b` to, their types dropped:
// - every integer type and timestamp, and float and double, compare as numbers
//   (I 1 == l 1 == T 1 == d 1.0; f 0.1 /= d 0.1, the float being widened);
// - longstr and byte array are both binaries (S "a" == x "a");
// - bool is an atom, equal only to the same bool; void is the atom undefined;
// - decimal is the tuple {Scale, Value}, equal only to the same decimal;
// - a table is a list of {Name, Type, Value} and an array a list of {Type, Value}, so a table
//   never equals an array, except that both empty are the same empty list.
bool ValuesEqual(const FieldValue& a, const FieldValue& b) {
  const FieldVariant& x = a;
  const FieldVariant& y = b;
  const std::optional<Integer> xi = AsInteger(x);
  const std::optional<double> xf = xi ? std::nullopt : AsFloat(x);
  const std::optional<Integer> yi = AsInteger(y);
  const std::optional<double> yf = yi ? std::nullopt : AsFloat(y);
  if (xi && yi) return *xi == *yi;
  if (xi && yf) return IntegerEqualsFloat(*xi, *yf);
  if (xf && yi) return IntegerEqualsFloat(*yi, *xf);
  if (xf && yf) return *xf == *yf;
  if (xi || xf || yi || yf) return false;

  const std::string* xs = AsBinary(x);
  const std::string* ys = AsBinary(y);
  if (xs != nullptr || ys != nullptr) return xs != nullptr && ys != nullptr && *xs == *ys;

  const auto* xt = std::get_if<FieldTable>(&x);
  const auto* yt = std::get_if<FieldTable>(&y);
  const auto* xa = std::get_if<FieldArray>(&x);
  const auto* ya = std::get_if<FieldArray>(&y);
  if (xt && yt) return TablesEqual(*xt, *yt);
  if (xa && ya) return ArraysEqual(*xa, *ya);
  if ((xt || xa) && (yt || ya))
    return (xt ? xt->empty() : xa->empty()) && (yt ? yt->empty() : ya->empty());
  if (xt || xa || yt || ya) return false;

  // bool, decimal or void: equal only to the same type with the same value.
  return x == y;
}

// The value the k-th entry named `name` of `table` has, counting from 0, or nullptr.
const FieldValue* FindNth(const FieldTable& table, std::string_view name, size_t k) {
  for (const amqp::FieldEntry& entry : table.entries) {
    if (entry.name == name && k-- == 0) return &entry.value;
  }
  return nullptr;
}

// How many entries before entries[index] have its name.
size_t RankOf(const FieldTable& table, size_t index) {
  size_t rank = 0;
  for (size_t i = 0; i < index; ++i) {
    if (table.entries[i].name == table.entries[index].name) ++rank;
  }
  return rank;
}

// --- Erlang's ~p, for the error texts ----------------------------------------------------

// Bytes that ~p shows inside a binary's quotes (Erlang's printable latin-1).
bool IsPrintable(unsigned char c) {
  return (c >= 0x20 && c <= 0x7e) || c >= 0xa0 || c == '\n' || c == '\r' || c == '\t' ||
         c == '\v' || c == '\b' || c == '\f' || c == 0x1b;
}

// <<"text">> when every byte is printable, else <<1,2,3>>; <<>> when empty.
void AppendBinary(std::string_view bytes, std::string* out) {
  bool printable = !bytes.empty();
  for (unsigned char c : bytes) printable = printable && IsPrintable(c);
  if (!printable) {
    *out += "<<";
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (i > 0) *out += ',';
      *out += std::to_string(static_cast<unsigned char>(bytes[i]));
    }
    *out += ">>";
    return;
  }
  *out += "<<\"";
  for (const char c : bytes) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\v':
        *out += "\\v";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      case 0x1b:
        *out += "\\e";
        break;
      default:
        *out += c;
    }
  }
  *out += "\">>";
}

// A float as Erlang/OTP prints it: the shortest digits that read back as `d`, laid out by
// io_lib_format's insert_decimal (0.001, 1.5, 100.0, but 1.0e3 and 1.0e-4).
void AppendFloat(double d, std::string* out) {
  if (std::signbit(d)) *out += '-';
  d = std::fabs(d);
  if (d == 0) {
    *out += "0.0";
    return;
  }
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<size_t>(result.ptr - buf));  // "1.25e+02"
  const size_t e = sci.find('e');
  std::string digits(sci.substr(0, e));
  if (digits.size() > 1) digits.erase(1, 1);  // the '.'
  const int exponent = std::stoi(std::string(sci.substr(e + 1)));
  const int length = static_cast<int>(digits.size());
  const int place = exponent - (length - 1);  // d = digits * 10^place
  const std::string exp_text = std::to_string(exponent);
  const int exp_cost = static_cast<int>(exp_text.size()) + 2;
  const auto scientific = [&] {
    *out += digits[0];
    *out += '.';
    *out += length == 1 ? std::string("0") : digits.substr(1);
    *out += 'e';
    *out += exp_text;
  };
  if (place < 0) {
    if (exponent >= 0) {
      *out += digits.substr(0, static_cast<size_t>(length + place));
      *out += '.';
      *out += digits.substr(static_cast<size_t>(length + place));
    } else if (2 - place - length <= exp_cost) {
      *out += "0.";
      out->append(static_cast<size_t>(-place - length), '0');
      *out += digits;
    } else {
      scientific();
    }
  } else if (exp_cost + (length == 1 ? 1 : 0) >= place + 2 && d < 9007199254740992.0) {
    *out += digits;
    out->append(static_cast<size_t>(place), '0');
    *out += ".0";
  } else {
    scientific();
  }
}

// `value` as ~p prints the Erlang term RabbitMQ decodes it to (without its type). Unlike
// ~p this never breaks long terms over several lines.
void AppendTerm(const FieldValue& value, std::string* out) {
  const FieldVariant& v = value;
  if (const auto i = AsInteger(v)) {
    if (i->negative) *out += '-';
    *out += std::to_string(i->magnitude);
  } else if (const auto f = AsFloat(v)) {
    AppendFloat(*f, out);
  } else if (const std::string* s = AsBinary(v)) {
    AppendBinary(*s, out);
  } else if (const auto* b = std::get_if<bool>(&v)) {
    *out += *b ? "true" : "false";
  } else if (const auto* d = std::get_if<amqp::Decimal>(&v)) {
    *out += '{' + std::to_string(d->scale) + ',' + std::to_string(static_cast<uint32_t>(d->value)) +
            '}';
  } else if (const auto* array = std::get_if<FieldArray>(&v)) {
    *out += '[';
    for (size_t i = 0; i < array->size(); ++i) {
      if (i > 0) *out += ',';
      *out += '{';
      *out += amqp::FieldTypeName((*array)[i]);
      *out += ',';
      AppendTerm((*array)[i], out);
      *out += '}';
    }
    *out += ']';
  } else if (const auto* table = std::get_if<FieldTable>(&v)) {
    *out += '[';
    for (size_t i = 0; i < table->entries.size(); ++i) {
      if (i > 0) *out += ',';
      *out += '{';
      AppendBinary(table->entries[i].name, out);
      *out += ',';
      *out += amqp::FieldTypeName(table->entries[i].value);
      *out += ',';
      AppendTerm(table->entries[i].value, out);
      *out += '}';
    }
    *out += ']';
  } else {
    *out += "undefined";  // void
  }
}

}  // namespace

amqp::Status ValidateHeadersBinding(const FieldTable& binding_arguments) {
  const FieldValue* x_match = binding_arguments.Find("x-match");
  // RabbitMQ allows x-match to be missing ("all").
  if (x_match == nullptr || ParseXMatch(*x_match)) return amqp::Status::Ok();
  std::string text;
  if (x_match->tag() == 'S') {
    text = "Invalid x-match field value ";
    AppendTerm(*x_match, &text);
    text += "; expected all, any, all-with-x, or any-with-x";
  } else {
    text = "Invalid x-match field type ";
    text += amqp::FieldTypeName(*x_match);
    text += " (value ";
    AppendTerm(*x_match, &text);
    text += "); expected longstr";
  }
  return amqp::Status::Error(amqp::ReplyCode::kPreconditionFailed, std::move(text));
}

bool HeadersMatch(const FieldTable& binding_arguments, const FieldTable& headers) {
  // An x-match validation refuses is taken as "all" (bindings from before validation).
  const FieldValue* x_match_value = binding_arguments.Find("x-match");
  const XMatch x_match =
      x_match_value == nullptr ? XMatch::kAll : ParseXMatch(*x_match_value).value_or(XMatch::kAll);
  const bool all = x_match == XMatch::kAll || x_match == XMatch::kAllWithX;
  const bool with_x = x_match == XMatch::kAllWithX || x_match == XMatch::kAnyWithX;

  for (size_t i = 0; i < binding_arguments.entries.size(); ++i) {
    const amqp::FieldEntry& entry = binding_arguments.entries[i];
    if (entry.name == "x-match") continue;
    if (!with_x && entry.name.starts_with("x-")) continue;
    const FieldValue* header = FindNth(headers, entry.name, RankOf(binding_arguments, i));
    const bool matched =
        header != nullptr && (entry.value.tag() == 'V' || ValuesEqual(entry.value, *header));
    if (all && !matched) return false;
    if (!all && matched) return true;
  }
  return all;
}

}  // namespace warren::server
