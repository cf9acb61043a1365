// Content headers with lazily decoded properties, content frame writing and the content
// frame sequence check (see content.h).

#include "amqp/content.h"

#include <algorithm>

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
  out->class_id_ = dec.Short();
  dec.Short();  // weight, unused
  out->body_size_ = dec.LongLong();
  out->flags_ = dec.Short();
  for (uint16_t more = out->flags_; dec.ok() && (more & kPropertyFlagContinuation);) {
    more = dec.Short();
    if (more & ~kPropertyFlagContinuation) dec.Fail("unknown property flags");
  }
  if (!dec.ok()) return FrameError(std::string("content header: ") + dec.failure_reason());
  uint16_t known = kPropertyFlagContinuation;
  for (const PropertyInfo& info : kProperties) known |= info.flag;
  if (out->flags_ & ~known) return FrameError("content header: unknown property flags");
  out->properties_offset_ = static_cast<uint32_t>(dec.position());
  for (const PropertyInfo& info : kProperties) {
    if (out->flags_ & info.flag) SkipProperty(dec, info.type);
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
