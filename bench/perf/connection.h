// Connection: the client side of one AMQP 0-9-1 connection, over a non-blocking TCP
// socket, for warren-perf's producers, consumers and setup.
//
// The hot path is the caller's loop: append frames to out(), Flush() what the socket
// takes, Read() a large chunk into reader() and take every complete frame out of it, and
// Wait() when neither side can make progress. Nothing in that loop costs a syscall per
// message. Setup uses the blocking helpers (Open, Call, Send), each bounded by a timeout.
//
// A Connection is used by one thread at a time.

#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "amqp/frame.h"
#include "amqp/generated/methods.h"
#include "amqp/status.h"
#include "bench/perf/amqp_uri.h"

namespace warren::perf {

using Clock = std::chrono::steady_clock;

// Clock::now() in nanoseconds since the clock's epoch: the timestamp bodies carry.
inline uint64_t NowNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
}

// A broker that broke the protocol (an unexpected frame, a frame that does not decode).
inline amqp::Status ProtocolError(std::string text) {
  return amqp::Status::Error(amqp::ReplyCode::kUnexpectedFrame, std::move(text));
}

// How long connecting, the handshake and each synchronous method may take.
inline constexpr std::chrono::seconds kRpcTimeout{30};

class Connection {
 public:
  // Bytes one Read() takes at most; the reader's buffer grows to hold it.
  static constexpr size_t kReadChunk = 256 * 1024;

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects to `uri` and runs the handshake: PLAIN login, connection.tune (the broker's
  // frame_max, 128 KiB if it sets no limit; heartbeats off), connection.open of the
  // vhost. `name` is sent as the connection_name client property. On failure the
  // status says what the broker or the socket said.
  static amqp::Status Open(const AmqpUri& uri, std::string_view name,
                           std::unique_ptr<Connection>* out);

  // channel.open, waiting for channel.open-ok.
  amqp::Status OpenChannel(uint16_t channel);

  // Sends `method` on `channel` and waits for the reply method of type Reply on that
  // channel, decoded into *reply (its string views point into reader(), valid until the
  // next read). Frames for other channels, heartbeats and basic.consume-ok are skipped.
  template <class Reply, class M>
  amqp::Status Call(uint16_t channel, const M& method, Reply* reply) {
    amqp::AppendMethodFrame(&out_, channel, method);
    std::string_view arguments;
    amqp::Status status = Await(channel, Reply::kId, &arguments);
    if (!status.ok()) return status;
    return amqp::DecodeMethodArguments(arguments, reply);
  }

  // Politely closes: connection.close, then waits (at most `timeout`, reading and
  // discarding anything else) for connection.close-ok. The socket is closed either way.
  void Close(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

  // Bytes waiting to be sent: append frames here, then Flush() or Send().
  std::string* out() { return &out_; }
  bool has_output() const { return out_begin_ < out_.size(); }
  // Sends as much of out() as the socket takes now, without blocking.
  amqp::Status Flush();
  // Sends all of out(), blocking (at most kRpcTimeout) while the socket is full.
  amqp::Status Send();

  // Reads what the socket holds now, at most kReadChunk bytes, into reader(), without
  // blocking; *got says how many (0: nothing yet). The peer closing the socket is an error.
  amqp::Status Read(size_t* got);
  // Waits at most `timeout` until the socket is readable, or writable if has_output().
  amqp::Status Wait(std::chrono::nanoseconds timeout);

  amqp::FrameReader& reader() { return reader_; }

  // Handles the frames every loop treats alike. For heartbeat frames (answered),
  // basic.qos-ok, basic.consume-ok and confirm.select-ok (ignored) it returns ok with
  // *handled set; for connection.blocked/unblocked it updates blocked(). For
  // connection.close and channel.close from the broker it answers with close-ok and
  // returns the error they carry; for basic.cancel from the broker, an error. Other
  // frames: ok with *handled false.
  amqp::Status HandleCommonFrame(const amqp::Frame& frame, bool* handled);

  // True between connection.blocked and connection.unblocked.
  bool blocked() const { return blocked_; }
  uint32_t frame_max() const { return frame_max_; }

  // The class and method ids of a method frame's payload, 0 if it is too short.
  static amqp::MethodId MethodOf(std::string_view payload);

 private:
  explicit Connection(int fd);

  amqp::Status Handshake(const AmqpUri& uri, std::string_view name);
  // Reads until the next frame is complete (at most until `deadline`).
  amqp::Status NextFrame(Clock::time_point deadline, amqp::Frame* frame);
  // Flushes out(), then reads frames until method `id` arrives on `channel`; *arguments
  // views its arguments.
  amqp::Status Await(uint16_t channel, amqp::MethodId id, std::string_view* arguments);

  int fd_;
  amqp::FrameReader reader_;
  std::string out_;
  size_t out_begin_ = 0;  // first byte of out_ not yet sent
  uint32_t frame_max_ = amqp::kFrameMinSize;
  bool blocked_ = false;
};

// "channel.close 404 NOT_FOUND - no queue 'q'": a close method as an error.
amqp::Status CloseError(std::string_view what, uint16_t code, std::string_view text);

}  // namespace warren::perf
