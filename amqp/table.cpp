// Field table and array encoding and decoding (see table.h for the type tags).

#include "amqp/table.h"

#include <bit>
#include <type_traits>

namespace warren::amqp {

namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;  // clang 14 lacks aggregate deduction

void DecodeTableAt(Decoder& dec, FieldTable* out, int depth);
void DecodeArrayAt(Decoder& dec, FieldArray* out, int depth);

void DecodeValueAt(Decoder& dec, FieldValue* out, int depth) {
  if (depth > kMaxFieldNesting) {
    dec.Fail("field tables nested too deeply");
    return;
  }
  const char tag = static_cast<char>(dec.Octet());
  if (!dec.ok()) return;
  switch (tag) {
    case 't':
      *out = dec.Octet() != 0;
      return;
    case 'b':
      *out = static_cast<int8_t>(dec.Octet());
      return;
    case 'B':
      *out = dec.Octet();
      return;
    case 's':
      *out = static_cast<int16_t>(dec.Short());
      return;
    case 'u':
      *out = dec.Short();
      return;
    case 'I':
      *out = static_cast<int32_t>(dec.Long());
      return;
    case 'i':
      *out = dec.Long();
      return;
    case 'l':
      *out = static_cast<int64_t>(dec.LongLong());
      return;
    case 'f':
      *out = std::bit_cast<float>(dec.Long());
      return;
    case 'd':
      *out = std::bit_cast<double>(dec.LongLong());
      return;
    case 'D': {
      Decimal d;
      d.scale = dec.Octet();
      d.value = static_cast<int32_t>(dec.Long());
      *out = d;
      return;
    }
    case 'S':
      *out = std::string(dec.LongString());
      return;
    case 'A': {
      FieldArray array;
      DecodeArrayAt(dec, &array, depth + 1);
      *out = std::move(array);
      return;
    }
    case 'T':
      *out = Timestamp{dec.LongLong()};
      return;
    case 'F': {
      FieldTable table;
      DecodeTableAt(dec, &table, depth + 1);
      *out = std::move(table);
      return;
    }
    case 'V':
      *out = Void{};
      return;
    case 'x':
      *out = ByteArray{std::string(dec.LongString())};
      return;
    default:
      dec.Fail("unknown field value type tag");
      return;
  }
}

void DecodeTableAt(Decoder& dec, FieldTable* out, int depth) {
  const std::string_view body = dec.LongString();
  Decoder inner(body);
  out->entries.clear();
  while (dec.ok() && inner.ok() && !inner.at_end()) {
    FieldEntry entry;
    entry.name = std::string(inner.ShortString());
    DecodeValueAt(inner, &entry.value, depth);
    if (inner.ok()) out->entries.push_back(std::move(entry));
  }
  if (!inner.ok()) dec.Fail(inner.failure_reason());
}

void DecodeArrayAt(Decoder& dec, FieldArray* out, int depth) {
  const std::string_view body = dec.LongString();
  Decoder inner(body);
  out->clear();
  while (dec.ok() && inner.ok() && !inner.at_end()) {
    FieldValue value;
    DecodeValueAt(inner, &value, depth);
    if (inner.ok()) out->push_back(std::move(value));
  }
  if (!inner.ok()) dec.Fail(inner.failure_reason());
}

// Writes a 32-bit size placeholder, runs `body`, then patches in the size it wrote.
template <class Body>
void EncodeSized(Encoder& enc, Body&& body) {
  const size_t size_at = enc.size();
  enc.Long(0);
  body();
  enc.PatchLong(size_at, static_cast<uint32_t>(enc.size() - size_at - 4));
}

}  // namespace

FieldTable::FieldTable() = default;
FieldTable::FieldTable(std::initializer_list<FieldEntry> entries) : entries(entries) {}
FieldTable::FieldTable(const FieldTable& other) = default;
FieldTable::FieldTable(FieldTable&& other) noexcept = default;
FieldTable& FieldTable::operator=(const FieldTable& other) = default;
FieldTable& FieldTable::operator=(FieldTable&& other) noexcept = default;
FieldTable::~FieldTable() = default;

const FieldValue* FieldTable::Find(std::string_view name) const {
  for (const FieldEntry& e : entries) {
    if (e.name == name) return &e.value;
  }
  return nullptr;
}

void FieldTable::Set(std::string_view name, FieldValue value) {
  for (FieldEntry& e : entries) {
    if (e.name == name) {
      e.value = std::move(value);
      return;
    }
  }
  entries.push_back(FieldEntry{std::string(name), std::move(value)});
}

bool FieldTable::operator==(const FieldTable& other) const { return entries == other.entries; }

bool FieldValue::operator==(const FieldValue& other) const {
  return static_cast<const FieldVariant&>(*this) == static_cast<const FieldVariant&>(other);
}

char FieldValue::tag() const {
  static constexpr char kTags[] = {'t', 'b', 'B', 's', 'u', 'I', 'i', 'l', 'f',
                                   'd', 'D', 'S', 'A', 'T', 'F', 'V', 'x'};
  static_assert(sizeof(kTags) == std::variant_size_v<FieldVariant>);
  return kTags[index()];
}

void EncodeFieldValue(Encoder& enc, const FieldValue& value) {
  enc.Octet(static_cast<uint8_t>(value.tag()));
  std::visit(Overloaded{
                 [&](bool v) { enc.Octet(v ? 1 : 0); },
                 [&](int8_t v) { enc.Octet(static_cast<uint8_t>(v)); },
                 [&](uint8_t v) { enc.Octet(v); },
                 [&](int16_t v) { enc.Short(static_cast<uint16_t>(v)); },
                 [&](uint16_t v) { enc.Short(v); },
                 [&](int32_t v) { enc.Long(static_cast<uint32_t>(v)); },
                 [&](uint32_t v) { enc.Long(v); },
                 [&](int64_t v) { enc.LongLong(static_cast<uint64_t>(v)); },
                 [&](float v) { enc.Long(std::bit_cast<uint32_t>(v)); },
                 [&](double v) { enc.LongLong(std::bit_cast<uint64_t>(v)); },
                 [&](const Decimal& v) {
                   enc.Octet(v.scale);
                   enc.Long(static_cast<uint32_t>(v.value));
                 },
                 [&](const std::string& v) { enc.LongString(v); },
                 [&](const FieldArray& v) { EncodeFieldArray(enc, v); },
                 [&](const Timestamp& v) { enc.LongLong(v.seconds); },
                 [&](const FieldTable& v) { EncodeFieldTable(enc, v); },
                 [&](const Void&) {},
                 [&](const ByteArray& v) { enc.LongString(v.bytes); },
             },
             static_cast<const FieldVariant&>(value));
}

void EncodeFieldTable(Encoder& enc, const FieldTable& table) {
  EncodeSized(enc, [&] {
    for (const FieldEntry& e : table.entries) {
      enc.ShortString(e.name);
      EncodeFieldValue(enc, e.value);
    }
  });
}

void EncodeFieldArray(Encoder& enc, const FieldArray& array) {
  EncodeSized(enc, [&] {
    for (const FieldValue& v : array) EncodeFieldValue(enc, v);
  });
}

void DecodeFieldTable(Decoder& dec, FieldTable* out) { DecodeTableAt(dec, out, 0); }
void DecodeFieldArray(Decoder& dec, FieldArray* out) { DecodeArrayAt(dec, out, 0); }
void DecodeFieldValue(Decoder& dec, FieldValue* out) { DecodeValueAt(dec, out, 0); }

void SkipFieldTable(Decoder& dec) { dec.LongString(); }

std::optional<int64_t> IntegerValue(const FieldValue& value) {
  return std::visit(
      [](const auto& v) -> std::optional<int64_t> {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          return static_cast<int64_t>(v);
        } else {
          return std::nullopt;
        }
      },
      static_cast<const FieldVariant&>(value));
}

std::string_view FieldTypeName(const FieldValue& value) {
  switch (value.tag()) {
    case 't':
      return "bool";
    case 'b':
      return "byte";
    case 'B':
      return "unsignedbyte";
    case 's':
      return "short";
    case 'u':
      return "unsignedshort";
    case 'I':
      return "signedint";
    case 'i':
      return "unsignedint";
    case 'l':
      return "long";
    case 'f':
      return "float";
    case 'd':
      return "double";
    case 'D':
      return "decimal";
    case 'S':
      return "longstr";
    case 'A':
      return "array";
    case 'T':
      return "timestamp";
    case 'F':
      return "table";
    case 'V':
      return "void";
    case 'x':
      return "binary";
  }
  return "unknown";
}

}  // namespace warren::amqp
