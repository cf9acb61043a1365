// Client connections over non-blocking sockets (see connection.h).

#include "bench/perf/connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "amqp/table.h"

namespace warren::perf {

namespace {

using amqp::MethodId;
using amqp::ReplyCode;
using amqp::Status;

// A failure on our side of the socket (not a reply from the broker).
Status IoError(std::string text) {
  return Status::Error(ReplyCode::kInternalError, std::move(text));
}

Status Errno(std::string_view what) {
  return IoError(std::string(what) + ": " + std::strerror(errno));
}

// The version warren-perf reports in its client properties.
constexpr std::string_view kVersion = "0.1.0";

timespec ToTimespec(std::chrono::nanoseconds d) {
  if (d.count() < 0) d = std::chrono::nanoseconds(0);
  timespec ts;
  ts.tv_sec = static_cast<time_t>(d.count() / 1000000000);
  ts.tv_nsec = static_cast<long>(d.count() % 1000000000);
  return ts;
}

// Connects a non-blocking socket to one of `host`:`port`'s addresses by `deadline`.
Status ConnectSocket(const AmqpUri& uri, Clock::time_point deadline, int* out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  const std::string port = std::to_string(uri.port);
  const std::string where = uri.host + ":" + port;
  if (const int rc = getaddrinfo(uri.host.c_str(), port.c_str(), &hints, &addresses); rc != 0) {
    return IoError("cannot resolve " + uri.host + ": " + gai_strerror(rc));
  }
  Status status = IoError("no address for " + where);
  for (addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
    const int fd =
        socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      status = Errno("socket");
      continue;
    }
    int error = 0;
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        const timespec ts = ToTimespec(deadline - Clock::now());
        const int ready = ppoll(&p, 1, &ts, nullptr);
        socklen_t len = sizeof(error);
        if (ready <= 0) {
          error = ready == 0 ? ETIMEDOUT : errno;
        } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) {
          error = errno;
        }
      }
    }
    if (error == 0) {
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      freeaddrinfo(addresses);
      *out = fd;
      return Status::Ok();
    }
    status = IoError("cannot connect to " + where + ": " + std::strerror(error));
    close(fd);
  }
  freeaddrinfo(addresses);
  return status;
}

}  // namespace

Status CloseError(std::string_view what, uint16_t code, std::string_view text) {
  return Status::Error(static_cast<ReplyCode>(code),
                       std::string(what) + " " + std::to_string(code) + " " + std::string(text));
}

Connection::Connection(int fd)
    : fd_(fd), reader_(amqp::FrameReader::Mode::kFramesOnly, amqp::kFrameMinSize) {}

Connection::~Connection() {
  if (fd_ >= 0) close(fd_);
}

Status Connection::Open(const AmqpUri& uri, std::string_view name,
                        std::unique_ptr<Connection>* out) {
  int fd = -1;
  Status status = ConnectSocket(uri, Clock::now() + kRpcTimeout, &fd);
  if (!status.ok()) return status;
  std::unique_ptr<Connection> connection(new Connection(fd));
  status = connection->Handshake(uri, name);
  if (!status.ok()) return status;
  *out = std::move(connection);
  return Status::Ok();
}

Status Connection::Handshake(const AmqpUri& uri, std::string_view name) {
  const Clock::time_point deadline = Clock::now() + kRpcTimeout;
  out_.append(amqp::kProtocolHeader);
  Status status = Send();
  if (!status.ok()) return status;

  amqp::Frame frame;
  status = NextFrame(deadline, &frame);
  if (!status.ok()) return status;
  if (frame.type != amqp::kFrameMethod || MethodOf(frame.payload) != MethodId::kConnectionStart) {
    return IoError("expected connection.start from the broker");
  }
  amqp::ConnectionStart start;
  status = amqp::DecodeMethodArguments(frame.payload.substr(4), &start);
  if (!status.ok()) return status;
  if (start.mechanisms.find("PLAIN") == std::string_view::npos) {
    return IoError("the broker does not offer PLAIN login (it offers '" +
                   std::string(start.mechanisms) + "')");
  }

  const amqp::FieldTable capabilities{{"publisher_confirms", true},
                                      {"basic.nack", true},
                                      {"consumer_cancel_notify", true},
                                      {"connection.blocked", true},
                                      {"authentication_failure_close", true}};
  amqp::ConnectionStartOk start_ok;
  start_ok.client_properties = amqp::FieldTable{{"product", "warren-perf"},
                                                {"version", std::string(kVersion)},
                                                {"platform", "C++"},
                                                {"connection_name", std::string(name)},
                                                {"capabilities", capabilities}};
  start_ok.mechanism = "PLAIN";
  const std::string response = std::string(1, '\0') + uri.user + '\0' + uri.password;
  start_ok.response = response;
  start_ok.locale = "en_US";
  amqp::AppendMethodFrame(&out_, 0, start_ok);
  status = Send();
  if (!status.ok()) return status;

  status = NextFrame(deadline, &frame);
  if (!status.ok()) return status;
  bool handled = false;
  if (frame.type == amqp::kFrameMethod && MethodOf(frame.payload) == MethodId::kConnectionClose) {
    status = HandleCommonFrame(frame, &handled);
    return status.ok() ? IoError("connection closed during login") : status;
  }
  if (frame.type != amqp::kFrameMethod || MethodOf(frame.payload) != MethodId::kConnectionTune) {
    return IoError("expected connection.tune from the broker");
  }
  amqp::ConnectionTune tune;
  status = amqp::DecodeMethodArguments(frame.payload.substr(4), &tune);
  if (!status.ok()) return status;
  frame_max_ = tune.frame_max == 0 ? 131072 : tune.frame_max;
  amqp::AppendMethodFrame(&out_, 0,
                          amqp::ConnectionTuneOk{tune.channel_max, frame_max_, /*heartbeat=*/0});
  reader_.set_frame_max(frame_max_);

  amqp::ConnectionOpen open;
  open.virtual_host = uri.vhost;
  amqp::ConnectionOpenOk open_ok;
  return Call(0, open, &open_ok);
}

Status Connection::OpenChannel(uint16_t channel) {
  amqp::ChannelOpenOk ok;
  return Call(channel, amqp::ChannelOpen{}, &ok);
}

amqp::MethodId Connection::MethodOf(std::string_view payload) {
  if (payload.size() < 4) return static_cast<MethodId>(0);
  const auto byte = [&](size_t i) { return uint32_t{static_cast<uint8_t>(payload[i])}; };
  return static_cast<MethodId>(byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3));
}

Status Connection::Flush() {
  while (out_begin_ < out_.size()) {
    const ssize_t n = send(fd_, out_.data() + out_begin_, out_.size() - out_begin_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return Errno("send");
    }
    out_begin_ += static_cast<size_t>(n);
  }
  if (out_begin_ == out_.size()) {
    out_.clear();  // keeps the capacity: no allocation in the steady state
    out_begin_ = 0;
  } else if (out_begin_ >= kReadChunk) {
    out_.erase(0, out_begin_);
    out_begin_ = 0;
  }
  return Status::Ok();
}

Status Connection::Send() {
  const Clock::time_point deadline = Clock::now() + kRpcTimeout;
  for (;;) {
    Status status = Flush();
    if (!status.ok() || !has_output()) return status;
    if (Clock::now() >= deadline) return IoError("timed out sending to the broker");
    pollfd p{fd_, POLLOUT, 0};
    const timespec ts = ToTimespec(deadline - Clock::now());
    if (ppoll(&p, 1, &ts, nullptr) < 0 && errno != EINTR) return Errno("poll");
  }
}

Status Connection::Read(size_t* got) {
  *got = 0;
  char* p = reader_.PrepareRead(kReadChunk);
  for (;;) {
    const ssize_t n = recv(fd_, p, reader_.writable(), 0);
    if (n > 0) {
      reader_.CommitRead(static_cast<size_t>(n));
      *got = static_cast<size_t>(n);
      return Status::Ok();
    }
    if (n == 0) return IoError("the broker closed the connection");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Ok();
    return Errno("recv");
  }
}

Status Connection::Wait(std::chrono::nanoseconds timeout) {
  pollfd p{fd_, static_cast<short>(POLLIN | (has_output() ? POLLOUT : 0)), 0};
  const timespec ts = ToTimespec(timeout);
  if (ppoll(&p, 1, &ts, nullptr) < 0 && errno != EINTR) return Errno("poll");
  return Status::Ok();
}

Status Connection::NextFrame(Clock::time_point deadline, amqp::Frame* frame) {
  for (;;) {
    switch (reader_.Next(frame)) {
      case amqp::FrameReader::Result::kFrame:
        return Status::Ok();
      case amqp::FrameReader::Result::kNeedMore:
        break;
      default:
        return IoError("bad frame from the broker: " + reader_.error().ToString());
    }
    size_t got = 0;
    Status status = Read(&got);
    if (!status.ok()) return status;
    if (got > 0) continue;
    if (Clock::now() >= deadline) return IoError("timed out waiting for the broker");
    status = Wait(deadline - Clock::now());
    if (!status.ok()) return status;
    status = Flush();
    if (!status.ok()) return status;
  }
}

Status Connection::Await(uint16_t channel, MethodId id, std::string_view* arguments) {
  const Clock::time_point deadline = Clock::now() + kRpcTimeout;
  Status status = Send();
  if (!status.ok()) return status;
  for (;;) {
    amqp::Frame frame;
    status = NextFrame(deadline, &frame);
    if (!status.ok()) return status;
    if (frame.type == amqp::kFrameMethod && frame.channel == channel &&
        MethodOf(frame.payload) == id) {
      *arguments = frame.payload.substr(4);
      return Status::Ok();
    }
    bool handled = false;
    status = HandleCommonFrame(frame, &handled);
    if (!status.ok()) return status;
    if (has_output()) {
      status = Flush();
      if (!status.ok()) return status;
    }
  }
}

Status Connection::HandleCommonFrame(const amqp::Frame& frame, bool* handled) {
  *handled = true;
  if (frame.type == amqp::kFrameHeartbeat) {
    amqp::AppendHeartbeatFrame(&out_);
    return Status::Ok();
  }
  if (frame.type != amqp::kFrameMethod) {
    *handled = false;
    return Status::Ok();
  }
  const std::string_view arguments = frame.payload.size() >= 4 ? frame.payload.substr(4) : "";
  switch (MethodOf(frame.payload)) {
    case MethodId::kConnectionClose: {
      amqp::ConnectionClose close;
      Status status = amqp::DecodeMethodArguments(arguments, &close);
      if (!status.ok()) return status;
      amqp::AppendMethodFrame(&out_, 0, amqp::ConnectionCloseOk{});
      (void)Flush();  // best effort: the connection is over either way
      return CloseError("connection.close", close.reply_code, close.reply_text);
    }
    case MethodId::kChannelClose: {
      amqp::ChannelClose close;
      Status status = amqp::DecodeMethodArguments(arguments, &close);
      if (!status.ok()) return status;
      amqp::AppendMethodFrame(&out_, frame.channel, amqp::ChannelCloseOk{});
      (void)Flush();
      return CloseError("channel.close", close.reply_code, close.reply_text);
    }
    case MethodId::kConnectionBlocked:
      blocked_ = true;
      return Status::Ok();
    case MethodId::kConnectionUnblocked:
      blocked_ = false;
      return Status::Ok();
    case MethodId::kBasicCancel: {
      amqp::BasicCancel cancel;
      (void)amqp::DecodeMethodArguments(arguments, &cancel);
      return IoError("the broker cancelled consumer '" + std::string(cancel.consumer_tag) + "'");
    }
    case MethodId::kBasicQosOk:
    case MethodId::kBasicConsumeOk:
    case MethodId::kConfirmSelectOk:
      return Status::Ok();
    default:
      *handled = false;
      return Status::Ok();
  }
}

void Connection::Close(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return;
  const Clock::time_point deadline = Clock::now() + timeout;
  amqp::ConnectionClose close;
  close.reply_code = 200;
  close.reply_text = "warren-perf done";
  amqp::AppendMethodFrame(&out_, 0, close);
  bool done = false;
  while (!done && Clock::now() < deadline) {
    if (!Flush().ok()) break;
    amqp::Frame frame;
    amqp::FrameReader::Result result = amqp::FrameReader::Result::kNeedMore;
    while (!done && (result = reader_.Next(&frame)) == amqp::FrameReader::Result::kFrame) {
      if (frame.type != amqp::kFrameMethod) continue;
      const MethodId id = MethodOf(frame.payload);
      if (id == MethodId::kConnectionCloseOk) done = true;
      if (id == MethodId::kConnectionClose) {
        // Both sides closed at once: answer and stop.
        amqp::AppendMethodFrame(&out_, 0, amqp::ConnectionCloseOk{});
        (void)Flush();
        done = true;
      }
    }
    if (done || result != amqp::FrameReader::Result::kNeedMore) break;
    size_t got = 0;
    if (!Read(&got).ok()) break;
    if (got == 0 && !Wait(deadline - Clock::now()).ok()) break;
  }
  ::close(fd_);
  fd_ = -1;
}

}  // namespace warren::perf
