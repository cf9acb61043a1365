// Content: the header and body frames that follow basic.publish, basic.deliver,
// basic.return and basic.get-ok.
//
// A content header frame's payload is: class id (short), weight (short, always 0), body
// size (longlong), then the property flags and property list. ContentHeader keeps that
// payload as the raw bytes it arrived in and decodes single properties on demand, so a
// broker can route on, say, the expiration without building every property, and deliver
// the very same bytes on.

#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "amqp/decoder.h"
#include "amqp/generated/methods.h"
#include "amqp/generated/properties.h"
#include "amqp/status.h"
#include "amqp/table.h"

namespace warren::amqp {

// Bytes of a content header payload before the property flags.
inline constexpr size_t kContentHeaderPrefixSize = 12;

class ContentHeader {
 public:
  ContentHeader() = default;

  // Checks a content header frame payload: its fixed fields, its flags (which may only
  // announce properties of the basic class) and that every announced property fits. On
  // success *out views `payload`, which must outlive it. Fails with 501 FRAME_ERROR.
  // A malformed field table inside the headers property is found only when
  // DecodeHeaders reads it.
  static Status Parse(std::string_view payload, ContentHeader* out);
  // The same for property bytes alone (flags and list, as raw_properties() returns them,
  // e.g. a queued message's): body_size() is then 0.
  static Status ParseProperties(std::string_view raw_properties, ContentHeader* out);

  uint16_t class_id() const { return class_id_; }
  uint64_t body_size() const { return body_size_; }
  // The whole payload, as received.
  std::string_view payload() const { return payload_; }
  // The property flags and property list: the bytes to re-send with the content.
  std::string_view raw_properties() const {
    return payload_.size() < raw_offset_ ? std::string_view() : payload_.substr(raw_offset_);
  }

  bool Has(Property p) const { return (flags_ & kProperties[Index(p)].flag) != 0; }

  // Single properties, decoded on demand; nullopt when absent. Each requires the property
  // to be of the type named (see kProperties).
  std::optional<std::string_view> ShortString(Property p) const;
  std::optional<uint8_t> Octet(Property p) const;
  std::optional<uint64_t> Timestamp(Property p) const;
  // The encoded headers table (its size prefix included), without decoding it.
  std::optional<std::string_view> RawHeaders() const;
  // Decodes the headers table into *out (empty if absent). Fails with 501 FRAME_ERROR.
  Status DecodeHeaders(FieldTable* out) const;

  // Decodes every property.
  BasicProperties DecodeProperties() const;

 private:
  static constexpr size_t Index(Property p) { return static_cast<size_t>(p); }
  // A decoder positioned at property `p`'s value; requires Has(p).
  Decoder Seek(Property p) const;
  // Reads the flags words from `dec` and checks the property list after them.
  Status ParseFlagsAndProperties(Decoder& dec);

  std::string_view payload_;
  uint32_t raw_offset_ = kContentHeaderPrefixSize;  // where the property flags start
  uint16_t class_id_ = 0;
  uint64_t body_size_ = 0;
  uint16_t flags_ = 0;
  // Offset of the first property value within payload_ (past every flags word).
  uint32_t properties_offset_ = 0;
};

// Appends a content header frame whose properties are `raw_properties` (flags and list,
// as ContentHeader::raw_properties() returns them).
void AppendContentHeaderFrame(std::string* out, uint16_t channel, uint64_t body_size,
                              std::string_view raw_properties);
// Appends a content header frame for `properties`. Returns false if a short string
// property exceeded 255 bytes.
bool AppendContentHeaderFrame(std::string* out, uint16_t channel, uint64_t body_size,
                              const BasicProperties& properties);
// Appends `body` as body frames no larger than `frame_max` (0: no limit, one frame).
// An empty body takes no frames. Requires frame_max == 0 or frame_max > kFrameOverhead.
void AppendBodyFrames(std::string* out, uint16_t channel, std::string_view body,
                      uint32_t frame_max);

// Appends basic.deliver, its content header (with `raw_properties`) and its body frames
// (split at `frame_max` as AppendBodyFrames does) in one step, sized once and written
// without per-field appends: the bytes are those of AppendMethodFrame followed by
// AppendContentHeaderFrame and AppendBodyFrames. The deliver's short strings must be at
// most 255 bytes.
void AppendDelivery(std::string* out, uint16_t channel, const BasicDeliver& deliver,
                    std::string_view raw_properties, std::string_view body, uint32_t frame_max);

// Checks one channel's frame sequence: a method that carries content must be followed by
// exactly one content header and then body frames until body-size bytes have arrived,
// with nothing else in between (RabbitMQ answers violations with 505 UNEXPECTED_FRAME).
class ContentAssembler {
 public:
  // A method frame. `has_content` says whether the method carries content.
  Status OnMethod(bool has_content);
  // A content header frame. On success *header views `payload`, and *complete says
  // whether the content is whole (an empty body).
  Status OnHeader(std::string_view payload, ContentHeader* header, bool* complete);
  // A body frame. On success *complete says whether the body is now whole.
  Status OnBody(std::string_view payload, bool* complete);

  // True when no content is in progress.
  bool idle() const { return state_ == State::kIdle; }
  // Body bytes still expected.
  uint64_t remaining() const { return remaining_; }

 private:
  enum class State { kIdle, kExpectHeader, kExpectBody };
  State state_ = State::kIdle;
  uint64_t remaining_ = 0;
};

}  // namespace warren::amqp
