// Field tables and field arrays: AMQP's typed key/value maps, as RabbitMQ encodes them.
//
// Every type tag RabbitMQ sends or accepts is supported:
//   t bool      b int8     B uint8    s int16    u uint16   I int32    i uint32
//   l int64     f float    d double   D decimal  S longstr  A array    T timestamp
//   F table     V void     x byte array
// Tables keep their entries in wire order (duplicates included), so decoding and
// re-encoding a table reproduces its bytes exactly.

#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "amqp/decoder.h"
#include "amqp/encoder.h"

namespace warren::amqp {

// 'D': value / 10^scale.
struct Decimal {
  uint8_t scale = 0;
  int32_t value = 0;
  bool operator==(const Decimal&) const = default;
};

// 'T': seconds since the Unix epoch.
struct Timestamp {
  uint64_t seconds = 0;
  bool operator==(const Timestamp&) const = default;
};

// 'V': no value (RabbitMQ's headers exchange treats it as "key present").
struct Void {
  bool operator==(const Void&) const = default;
};

// 'x': uninterpreted bytes, distinct from 'S' on the wire.
struct ByteArray {
  std::string bytes;
  bool operator==(const ByteArray&) const = default;
};

struct FieldEntry;
struct FieldValue;

// 'A'
using FieldArray = std::vector<FieldValue>;

// 'F', and every `arguments` argument of the protocol's methods.
struct FieldTable {
  // Special members are defined in table.cpp, where FieldEntry is complete: FieldValue's
  // variant needs FieldTable's before FieldEntry can be defined.
  FieldTable();
  FieldTable(std::initializer_list<FieldEntry> entries);
  FieldTable(const FieldTable& other);
  FieldTable(FieldTable&& other) noexcept;
  FieldTable& operator=(const FieldTable& other);
  FieldTable& operator=(FieldTable&& other) noexcept;
  ~FieldTable();

  std::vector<FieldEntry> entries;

  // The value of the first entry named `name`, or nullptr.
  const FieldValue* Find(std::string_view name) const;
  // Replaces the value of the first entry named `name`, or appends a new entry.
  void Set(std::string_view name, FieldValue value);

  bool empty() const { return entries.empty(); }
  bool operator==(const FieldTable& other) const;
};

using FieldVariant =
    std::variant<bool, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, float,
                 double, Decimal, std::string, FieldArray, Timestamp, FieldTable, Void, ByteArray>;

// One typed value; the alternative held decides the type tag written on the wire.
struct FieldValue : FieldVariant {
  using FieldVariant::FieldVariant;
  using FieldVariant::operator=;
  FieldValue() : FieldVariant(Void{}) {}
  // Without this, a string literal would pick the bool alternative.
  FieldValue(const char* s) : FieldVariant(std::string(s)) {}

  // The wire type tag ('t', 'S', 'F', ...).
  char tag() const;
  bool operator==(const FieldValue& other) const;
};

struct FieldEntry {
  std::string name;
  FieldValue value;
  bool operator==(const FieldEntry&) const = default;
};

// The value as an integer if it holds one of the integer types (b B s u I i l), else nullopt
// (bool, timestamp and the rest are not integers to RabbitMQ's argument checks).
std::optional<int64_t> IntegerValue(const FieldValue& value);

// RabbitMQ's name for a value's type, as its error texts show it ("signedint", "longstr").
std::string_view FieldTypeName(const FieldValue& value);

// Appends a table: its 32-bit byte size, then each entry as name, tag and value.
void EncodeFieldTable(Encoder& enc, const FieldTable& table);
// Appends an array: its 32-bit byte size, then each value as tag and value.
void EncodeFieldArray(Encoder& enc, const FieldArray& array);
// Appends a value's tag and then the value.
void EncodeFieldValue(Encoder& enc, const FieldValue& value);

// Decoders. On malformed input (truncation, a table size that disagrees with its entries,
// an unknown type tag, nesting deeper than kMaxFieldNesting) they mark `dec` failed and
// leave *out in an unspecified but valid state.
inline constexpr int kMaxFieldNesting = 64;
void DecodeFieldTable(Decoder& dec, FieldTable* out);
void DecodeFieldArray(Decoder& dec, FieldArray* out);
void DecodeFieldValue(Decoder& dec, FieldValue* out);

// Skips over an encoded table without building it (used for lazy property access).
void SkipFieldTable(Decoder& dec);

}  // namespace warren::amqp
