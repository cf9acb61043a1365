// Content headers with lazily decoded properties, content frame writing and the content
// frame sequence check (see content.h).

#include "amqp/content.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "amqp/encoder.h"
#include "amqp/frame.h"

namespace warren::amqp {

namespace {

// Moves `dec` past one property value of `type`.
void SkipProperty(Decoder& dec, PropertyType type) {
  switch (type) {
    case PropertyType::kOctet:
      dec.Octet();
      return;
    case PropertyType::kShortString:
      dec.ShortString();
      return;
    case PropertyType::kLongString:
      dec.LongString();
      return;
    case PropertyType::kTable:
      SkipFieldTable(dec);
      return;
    case PropertyType::kTimestamp:
      dec.LongLong();
      return;
  }
}

Status FrameError(std::string text) {
  return Status::Error(ReplyCode::kFrameError, std::move(text));
}

Status UnexpectedFrame(std::string text) {
  return Status::Error(ReplyCode::kUnexpectedFrame, std::move(text));
}

}  // namespace

Status ContentHeader::Parse(std::string_view payload, ContentHeader* out) {
  Decoder dec(payload);
  out->payload_ = payload;
  out->raw_offset_ = kContentHeaderPrefixSize;
  out->class_id_ = dec.Short();
  dec.Short();  // weight, unused
  out->body_size_ = dec.LongLong();
  return out->ParseFlagsAndProperties(dec);
}

Status ContentHeader::ParseProperties(std::string_view raw_properties, ContentHeader* out) {
  Decoder dec(raw_properties);
  out->payload_ = raw_properties;
  out->raw_offset_ = 0;
  out->class_id_ = kContentClassId;
  out->body_size_ = 0;
  return out->ParseFlagsAndProperties(dec);
}

Status ContentHeader::ParseFlagsAndProperties(Decoder& dec) {
  flags_ = dec.Short();
  for (uint16_t more = flags_; dec.ok() && (more & kPropertyFlagContinuation);) {
    more = dec.Short();
    if (more & ~kPropertyFlagContinuation) dec.Fail("unknown property flags");
  }
  if (!dec.ok()) return FrameError(std::string("content header: ") + dec.failure_reason());
  uint16_t known = kPropertyFlagContinuation;
  for (const PropertyInfo& info : kProperties) known |= info.flag;
  if (flags_ & ~known) return FrameError("content header: unknown property flags");
  properties_offset_ = static_cast<uint32_t>(dec.position());
  for (const PropertyInfo& info : kProperties) {
    if (flags_ & info.flag) SkipProperty(dec, info.type);
  }
  if (!dec.ok()) return FrameError("content header: properties truncated");
  if (!dec.at_end()) return FrameError("content header: trailing bytes after properties");
  return Status::Ok();
}

Decoder ContentHeader::Seek(Property p) const {
  Decoder dec(payload_.substr(properties_offset_));
  for (size_t i = 0; i < Index(p); ++i) {
    if (flags_ & kProperties[i].flag) SkipProperty(dec, kProperties[i].type);
  }
  return dec;
}

std::optional<std::string_view> ContentHeader::ShortString(Property p) const {
  if (!Has(p)) return std::nullopt;
  return Seek(p).ShortString();
}

std::optional<uint8_t> ContentHeader::Octet(Property p) const {
  if (!Has(p)) return std::nullopt;
  return Seek(p).Octet();
}

std::optional<uint64_t> ContentHeader::Timestamp(Property p) const {
  if (!Has(p)) return std::nullopt;
  return Seek(p).LongLong();
}

std::optional<std::string_view> ContentHeader::RawHeaders() const {
  if (!Has(Property::kHeaders)) return std::nullopt;
  Decoder dec = Seek(Property::kHeaders);
  const size_t start = dec.position();
  SkipFieldTable(dec);
  return payload_.substr(properties_offset_ + start, dec.position() - start);
}

Status ContentHeader::DecodeHeaders(FieldTable* out) const {
  out->entries.clear();
  if (!Has(Property::kHeaders)) return Status::Ok();
  Decoder dec = Seek(Property::kHeaders);
  DecodeFieldTable(dec, out);
  if (!dec.ok()) return FrameError(std::string("headers property: ") + dec.failure_reason());
  return Status::Ok();
}

BasicProperties ContentHeader::DecodeProperties() const {
  BasicProperties props;
  Decoder dec(raw_properties());
  props.Decode(dec);
  return props;
}

void AppendContentHeaderFrame(std::string* out, uint16_t channel, uint64_t body_size,
                              std::string_view raw_properties) {
  Encoder enc(out);
  const size_t start = BeginFrame(enc, kFrameHeader, channel);
  enc.Short(kContentClassId);
  enc.Short(0);
  enc.LongLong(body_size);
  enc.Bytes(raw_properties);
  EndFrame(enc, start);
}

bool AppendContentHeaderFrame(std::string* out, uint16_t channel, uint64_t body_size,
                              const BasicProperties& properties) {
  Encoder enc(out);
  const size_t start = BeginFrame(enc, kFrameHeader, channel);
  enc.Short(kContentClassId);
  enc.Short(0);
  enc.LongLong(body_size);
  properties.Encode(enc);
  EndFrame(enc, start);
  return enc.ok();
}

void AppendBodyFrames(std::string* out, uint16_t channel, std::string_view body,
                      uint32_t frame_max) {
  const size_t max_payload = frame_max == 0 ? body.size() : frame_max - kFrameOverhead;
  Encoder enc(out);
  while (!body.empty()) {
    const size_t n = std::min(body.size(), max_payload);
    const size_t start = BeginFrame(enc, kFrameBody, channel);
    enc.Bytes(body.substr(0, n));
    EndFrame(enc, start);
    body.remove_prefix(n);
  }
}

namespace {

// Writes big-endian fields into space reserved in advance (on a little-endian host, as
// every machine Warren targets is).
static_assert(std::endian::native == std::endian::little);
class RawWriter {
 public:
  explicit RawWriter(char* p) : p_(p) {}
  void Octet(uint8_t v) { *p_++ = static_cast<char>(v); }
  void Short(uint16_t v) { Store(__builtin_bswap16(v)); }
  void Long(uint32_t v) { Store(__builtin_bswap32(v)); }
  void LongLong(uint64_t v) { Store(__builtin_bswap64(v)); }
  void Bytes(std::string_view s) {
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void ShortString(std::string_view s) {
    Octet(static_cast<uint8_t>(s.size()));
    Bytes(s);
  }
  void FrameStart(uint8_t type, uint16_t channel, uint32_t payload_size) {
    Octet(type);
    Short(channel);
    Long(payload_size);
  }

 private:
  template <class T>
  void Store(T big_endian) {
    std::memcpy(p_, &big_endian, sizeof(T));
    p_ += sizeof(T);
  }
  char* p_;
};

}  // namespace

void AppendDelivery(std::string* out, uint16_t channel, const BasicDeliver& deliver,
                    std::string_view raw_properties, std::string_view body, uint32_t frame_max) {
  const size_t method_payload = 4 + 1 + deliver.consumer_tag.size() + 8 + 1 + 1 +
                                deliver.exchange.size() + 1 + deliver.routing_key.size();
  const size_t header_payload = 2 + 2 + 8 + raw_properties.size();
  const size_t max_body_payload = frame_max == 0 ? body.size() : frame_max - kFrameOverhead;
  const size_t body_frames =
      body.empty() ? 0 : (body.size() + max_body_payload - 1) / max_body_payload;
  const size_t total = method_payload + header_payload + 2 * kFrameOverhead +
                       body_frames * kFrameOverhead + body.size();
  const size_t start = out->size();
  out->resize(start + total);
  RawWriter w(out->data() + start);

  w.FrameStart(kFrameMethod, channel, static_cast<uint32_t>(method_payload));
  w.Short(BasicDeliver::kClassId);
  w.Short(BasicDeliver::kMethodId);
  w.ShortString(deliver.consumer_tag);
  w.LongLong(deliver.delivery_tag);
  w.Octet(deliver.redelivered ? 1 : 0);
  w.ShortString(deliver.exchange);
  w.ShortString(deliver.routing_key);
  w.Octet(kFrameEnd);

  w.FrameStart(kFrameHeader, channel, static_cast<uint32_t>(header_payload));
  w.Short(kContentClassId);
  w.Short(0);
  w.LongLong(body.size());
  w.Bytes(raw_properties);
  w.Octet(kFrameEnd);

  while (!body.empty()) {
    const size_t n = std::min(body.size(), max_body_payload);
    w.FrameStart(kFrameBody, channel, static_cast<uint32_t>(n));
    w.Bytes(body.substr(0, n));
    w.Octet(kFrameEnd);
    body.remove_prefix(n);
  }
}

// The texts are RabbitMQ's, so that clients and people see what they are used to.
constexpr char kExpectedMethod[] = "expected method frame, got non method frame instead";
constexpr char kExpectedHeader[] =
    "expected content header for class 60, got non content header frame instead";
constexpr char kExpectedBody[] = "expected content body, got non content body frame instead";

Status ContentAssembler::OnMethod(bool has_content) {
  if (state_ != State::kIdle) {
    return UnexpectedFrame(state_ == State::kExpectHeader ? kExpectedHeader : kExpectedBody);
  }
  if (has_content) state_ = State::kExpectHeader;
  return Status::Ok();
}

Status ContentAssembler::OnHeader(std::string_view payload, ContentHeader* header, bool* complete) {
  if (state_ != State::kExpectHeader) {
    return UnexpectedFrame(state_ == State::kIdle ? kExpectedMethod : kExpectedBody);
  }
  Status status = ContentHeader::Parse(payload, header);
  if (!status.ok()) return status;
  if (header->class_id() != kContentClassId) {
    return UnexpectedFrame("expected content header for class 60, got one for class " +
                           std::to_string(header->class_id()) + " instead");
  }
  remaining_ = header->body_size();
  *complete = remaining_ == 0;
  state_ = *complete ? State::kIdle : State::kExpectBody;
  return Status::Ok();
}

Status ContentAssembler::OnBody(std::string_view payload, bool* complete) {
  if (state_ != State::kExpectBody) {
    return UnexpectedFrame(state_ == State::kIdle ? kExpectedMethod : kExpectedHeader);
  }
  if (payload.size() > remaining_) {
    return UnexpectedFrame("content body larger than the size in its header");
  }
  remaining_ -= payload.size();
  *complete = remaining_ == 0;
  if (*complete) state_ = State::kIdle;
  return Status::Ok();
}

}  // namespace warren::amqp
