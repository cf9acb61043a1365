// Incremental frame reading and frame writing (see frame.h).

#include "amqp/frame.h"

#include <algorithm>
#include <cstring>

namespace warren::amqp {

namespace {

constexpr size_t kFrameHeaderSize = 7;

uint32_t ReadLong(const char* p) {
  return (uint32_t{static_cast<uint8_t>(p[0])} << 24) |
         (uint32_t{static_cast<uint8_t>(p[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(p[2])} << 8) | uint32_t{static_cast<uint8_t>(p[3])};
}

bool IsKnownFrameType(uint8_t type) {
  return type == kFrameMethod || type == kFrameHeader || type == kFrameBody ||
         type == kFrameHeartbeat;
}

}  // namespace

FrameReader::FrameReader(Mode mode, uint32_t frame_max)
    : frame_max_(frame_max), header_done_(mode == Mode::kFramesOnly) {}

void FrameReader::Borrow(const char* data, size_t n) {
  // Only an empty reader may switch buffers; otherwise the bytes join its own buffer.
  if (buffered() != 0 || borrowed_) {
    KeepRest();
    Append(std::string_view(data, n));
    return;
  }
  data_ = data;
  begin_ = 0;
  end_ = n;
  borrowed_ = true;
}

void FrameReader::KeepRest() {
  if (!borrowed_) return;
  borrowed_ = false;
  const std::string_view rest(data_ + begin_, end_ - begin_);
  data_ = buffer_.get();
  begin_ = end_ = 0;
  Append(rest);
}

char* FrameReader::PrepareRead(size_t min_bytes) {
  KeepRest();
  if (begin_ > 0) {
    // Move the unread tail to the front so the buffer never grows past one frame plus
    // one read.
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (capacity_ - end_ < min_bytes) {
    // Not zero-filled: a busy connection may release and re-grow the buffer on every read.
    std::unique_ptr<char[]> bigger(new char[end_ + min_bytes]);
    if (end_ != 0) std::memcpy(bigger.get(), buffer_.get(), end_);
    buffer_ = std::move(bigger);
    data_ = buffer_.get();
    capacity_ = end_ + min_bytes;
  }
  return buffer_.get() + end_;
}

void FrameReader::Append(std::string_view bytes) {
  if (bytes.empty()) return;  // an empty buffer has no data(): memcpy(nullptr, ...) is UB
  std::memcpy(PrepareRead(bytes.size()), bytes.data(), bytes.size());
  CommitRead(bytes.size());
}

void FrameReader::ReleaseIfEmpty() {
  if (begin_ != end_ || borrowed_) return;
  buffer_.reset();
  data_ = nullptr;
  capacity_ = begin_ = end_ = 0;
}

FrameReader::Result FrameReader::Fail(ReplyCode code, std::string text) {
  failed_ = Result::kError;
  error_ = Status::Error(code, std::move(text));
  return failed_;
}

FrameReader::Result FrameReader::ReadProtocolHeader() {
  const size_t n = std::min(buffered(), kProtocolHeader.size());
  // Reject as soon as a received byte differs, so "GET / HTTP/1.1" is answered at once.
  if (std::string_view(data_ + begin_, n) != kProtocolHeader.substr(0, n)) {
    failed_ = Result::kBadProtocolHeader;
    return failed_;
  }
  if (n < kProtocolHeader.size()) return Result::kNeedMore;
  begin_ += kProtocolHeader.size();
  header_done_ = true;
  return Result::kProtocolHeader;
}

FrameReader::Result FrameReader::Next(Frame* frame) {
  if (failed_ != Result::kNeedMore) return failed_;
  if (!header_done_) return ReadProtocolHeader();
  if (buffered() < kFrameHeaderSize) return Result::kNeedMore;

  const char* p = data_ + begin_;
  const uint8_t type = static_cast<uint8_t>(p[0]);
  const uint16_t channel =
      static_cast<uint16_t>((static_cast<uint8_t>(p[1]) << 8) | static_cast<uint8_t>(p[2]));
  const uint32_t size = ReadLong(p + 3);
  // Checked before waiting for the payload, so an oversized frame is never buffered.
  if (!IsKnownFrameType(type)) {
    return Fail(ReplyCode::kFrameError, "unknown frame type " + std::to_string(type));
  }
  if (frame_max_ != 0 && uint64_t{size} + kFrameOverhead > frame_max_) {
    return Fail(ReplyCode::kFrameError, "frame size " +
                                            std::to_string(uint64_t{size} + kFrameOverhead) +
                                            " exceeds frame_max " + std::to_string(frame_max_));
  }
  if (buffered() < kFrameHeaderSize + size + 1) return Result::kNeedMore;

  const uint8_t frame_end = static_cast<uint8_t>(p[kFrameHeaderSize + size]);
  if (frame_end != kFrameEnd) {
    return Fail(ReplyCode::kFrameError,
                "frame-end octet was " + std::to_string(frame_end) + ", expected 206");
  }
  if (type == kFrameHeartbeat && channel != 0) {
    // RabbitMQ answers a heartbeat off channel 0 with 505, not 501.
    return Fail(ReplyCode::kUnexpectedFrame,
                "heartbeat frame on channel " + std::to_string(channel) + ", not 0");
  }
  if (type == kFrameHeartbeat && size != 0) {
    return Fail(ReplyCode::kFrameError, "heartbeat frame with a payload");
  }
  frame->type = type;
  frame->channel = channel;
  frame->payload = std::string_view(p + kFrameHeaderSize, size);
  begin_ += kFrameHeaderSize + size + 1;
  return Result::kFrame;
}

size_t BeginFrame(Encoder& enc, uint8_t type, uint16_t channel) {
  enc.Octet(type);
  enc.Short(channel);
  const size_t start = enc.size();
  enc.Long(0);
  return start;
}

void EndFrame(Encoder& enc, size_t start) {
  enc.PatchLong(start, static_cast<uint32_t>(enc.size() - start - 4));
  enc.Octet(kFrameEnd);
}

void AppendHeartbeatFrame(std::string* out) {
  Encoder enc(out);
  EndFrame(enc, BeginFrame(enc, kFrameHeartbeat, 0));
}

}  // namespace warren::amqp
