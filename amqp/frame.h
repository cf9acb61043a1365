// Frames: reading them incrementally out of a byte stream, and writing them.
//
// A frame on the wire is: type (octet), channel (short), payload size (long), payload,
// frame-end octet 0xCE. FrameReader owns one growable buffer; the caller reads socket data
// straight into it and then takes every complete frame out as a view, without copying.

#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "amqp/encoder.h"
#include "amqp/generated/constants.h"
#include "amqp/generated/methods.h"
#include "amqp/status.h"

namespace warren::amqp {

// Bytes around a frame's payload: 7 of header, 1 frame-end.
inline constexpr size_t kFrameOverhead = 8;

struct Frame {
  uint8_t type = 0;  // kFrameMethod, kFrameHeader, kFrameBody or kFrameHeartbeat
  uint16_t channel = 0;
  // A view into the FrameReader's buffer, valid until its next PrepareRead or Append.
  std::string_view payload;
};

class FrameReader {
 public:
  enum class Mode {
    // A server's reader: the stream starts with the 8-byte protocol header.
    kExpectProtocolHeader,
    // A client's reader: the stream is frames only.
    kFramesOnly,
  };

  enum class Result {
    kFrame,              // *frame holds the next frame
    kNeedMore,           // the buffer ends inside a frame (or is empty): read more
    kProtocolHeader,     // the client's protocol header arrived and is 0-9-1
    kBadProtocolHeader,  // not an AMQP 0-9-1 header: send kProtocolHeader, then close
    kError,              // error() says why; send connection.close with it, then close
  };

  // `frame_max` bounds whole frames (header and frame-end included), as negotiated in
  // connection.tune; before tuning the spec allows kFrameMinSize. 0 means no limit.
  explicit FrameReader(Mode mode, uint32_t frame_max = kFrameMinSize);

  void set_frame_max(uint32_t frame_max) { frame_max_ = frame_max; }
  uint32_t frame_max() const { return frame_max_; }

  // Returns space for at least `min_bytes` more bytes at the end of the buffer, to be
  // filled by a read and then reported with CommitRead. Payload views of frames returned
  // earlier become invalid (unread bytes may move to the front of the buffer).
  char* PrepareRead(size_t min_bytes);
  // Capacity available after PrepareRead (at least the `min_bytes` asked for).
  size_t writable() const { return capacity_ - end_; }
  // Marks `n` bytes written after PrepareRead as received.
  void CommitRead(size_t n) { end_ += n; }
  // PrepareRead + copy + CommitRead, for bytes that are not read from a socket.
  void Append(std::string_view bytes);

  // Reading without a buffer of one's own: when nothing is buffered (buffered() == 0), a
  // caller may read into a scratch buffer shared by many readers and hand it over with
  // Borrow; Next then returns frames from it. Before the scratch buffer is reused, KeepRest
  // must copy what was not taken as frames (a partial frame) into the reader's own buffer.
  // An idle connection so holds no read buffer at all.
  void Borrow(const char* data, size_t n);
  void KeepRest();

  // Takes the next complete frame out of the buffer. After kError or kBadProtocolHeader
  // every later call returns the same result.
  Result Next(Frame* frame);
  const Status& error() const { return error_; }

  // Bytes received but not yet returned as frames.
  size_t buffered() const { return end_ - begin_; }
  // Frees the buffer's memory if it holds no partial frame (for idle connections).
  void ReleaseIfEmpty();

 private:
  Result Fail(ReplyCode code, std::string text);
  Result ReadProtocolHeader();

  uint32_t frame_max_;
  bool header_done_;
  Result failed_ = Result::kNeedMore;  // kError or kBadProtocolHeader once failed
  Status error_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  const char* data_ = nullptr;  // buffer_.get(), or a borrowed buffer
  bool borrowed_ = false;
  size_t begin_ = 0;  // first unread byte
  size_t end_ = 0;    // one past the last received byte
};

// Frame writing. Each function appends one or more complete frames to *out.

// Starts a frame of `type` on `channel` with a size placeholder; returns the position to
// pass to EndFrame once the payload has been appended.
size_t BeginFrame(Encoder& enc, uint8_t type, uint16_t channel);
// Patches the payload size of the frame begun at `start` and appends the frame-end octet.
void EndFrame(Encoder& enc, size_t start);

// Appends a method frame. Returns false (leaving a malformed frame in *out) only if a
// short string argument exceeded 255 bytes.
template <class M>
bool AppendMethodFrame(std::string* out, uint16_t channel, const M& method) {
  Encoder enc(out);
  const size_t start = BeginFrame(enc, kFrameMethod, channel);
  EncodeMethod(enc, method);
  EndFrame(enc, start);
  return enc.ok();
}

void AppendHeartbeatFrame(std::string* out);

}  // namespace warren::amqp
