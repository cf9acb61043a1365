// Connection: the read loop, the connection handshake, channel dispatch, coalesced
// writes, heartbeats and the close handshakes.

#include "server/connection.h"

#include <spdlog/spdlog.h>

#include <set>

#include "amqp/content.h"
#include "amqp/table.h"
#include "server/broker.h"
#include "server/channel.h"
#include "server/vhost.h"

namespace warren::server {

namespace {

using amqp::ReplyCode;
using amqp::Status;
using Clock = std::chrono::steady_clock;

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr auto kCloseTimeout = std::chrono::seconds(3);

Status ConnectionError(ReplyCode code, std::string text) {
  return Status::Error(code, std::move(text));
}

// "CODE_NAME - text", cut as RabbitMQ cuts it to fit a short string: 252 bytes and "...".
std::string ReplyText(const Status& status) {
  std::string text = status.ToString();
  if (text.size() > 255) {
    text.resize(252);
    text += "...";
  }
  return text;
}

// The class and method ids at the start of a method frame's payload (0, 0 if too short).
std::pair<uint16_t, uint16_t> MethodIds(std::string_view payload) {
  if (payload.size() < 4) return {0, 0};
  amqp::Decoder dec(payload);
  const uint16_t class_id = dec.Short();
  return {class_id, dec.Short()};
}

amqp::FieldTable ServerProperties() {
  using amqp::FieldTable;
  using amqp::FieldValue;
  FieldTable capabilities{
      {"publisher_confirms", true}, {"exchange_exchange_bindings", true},
      {"basic.nack", true},         {"consumer_cancel_notify", true},
      {"per_consumer_qos", true},   {"authentication_failure_close", true},
  };
  return FieldTable{
      {"product", "Warren"},
      {"version", WARREN_VERSION},
      {"platform", "C++20 / Boost.Asio"},
      {"copyright", "Warren contributors"},
      {"information", "A RabbitMQ-compatible AMQP 0-9-1 broker"},
      {"cluster_name", "warren"},
      {"capabilities", capabilities},
  };
}

// PLAIN: [authzid] NUL authcid NUL password.
bool ParsePlain(std::string_view response, std::string_view* user, std::string_view* password) {
  const size_t first = response.find('\0');
  if (first == std::string_view::npos) return false;
  const size_t second = response.find('\0', first + 1);
  if (second == std::string_view::npos) return false;
  *user = response.substr(first + 1, second - first - 1);
  *password = response.substr(second + 1);
  return true;
}

// AMQPLAIN: a field table's entries (without the table's size) with LOGIN and PASSWORD.
bool ParseAmqplain(std::string_view response, std::string* user, std::string* password) {
  std::string sized;
  amqp::Encoder enc(&sized);
  enc.LongString(response);
  amqp::Decoder dec(sized);
  amqp::FieldTable table;
  amqp::DecodeFieldTable(dec, &table);
  if (!dec.ok()) return false;
  const auto* login = table.Find("LOGIN");
  const auto* pass = table.Find("PASSWORD");
  if (login == nullptr || pass == nullptr) return false;
  const auto* login_s = std::get_if<std::string>(login);
  const auto* pass_s = std::get_if<std::string>(pass);
  if (login_s == nullptr || pass_s == nullptr) return false;
  *user = *login_s;
  *password = *pass_s;
  return true;
}

}  // namespace

Connection::Connection(Broker* broker, boost::asio::ip::tcp::socket socket, uint64_t id)
    : broker_(broker),
      socket_(std::move(socket)),
      timer_(broker->io()),
      id_(id),
      reader_(amqp::FrameReader::Mode::kExpectProtocolHeader),
      channel_max_(broker->config().channel_max),
      frame_max_(broker->config().frame_max) {
  boost::system::error_code ec;
  const auto remote = socket_.remote_endpoint(ec);
  if (!ec) {
    peer_ = remote.address().to_string() + ":" + std::to_string(remote.port());
    peer_is_loopback_ =
        remote.address().is_loopback() ||
        (remote.address().is_v6() && remote.address().to_v6().is_v4_mapped() &&
         boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, remote.address().to_v6())
             .is_loopback());
  }
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ec);
  socket_.non_blocking(true, ec);  // reads are attempted only once the socket is readable
}

Connection::~Connection() = default;

void Connection::Start() {
  broker_->Register(this);
  started_ = last_read_ = last_write_ = Clock::now();
  spdlog::info("connection {} accepted from {}", id_, peer_);
  DoRead();
  StartTimer();
}

void Connection::DoRead() {
  // Reads wait for readability without a buffer attached, so that the timer can free an
  // idle connection's buffer (and a busy one keeps it: allocating 64 KiB per read would
  // cost more than the read).
  socket_.async_wait(
      boost::asio::ip::tcp::socket::wait_read,
      [self = shared_from_this()](const boost::system::error_code& ec) { self->OnReadable(ec); });
}

void Connection::OnReadable(const boost::system::error_code& ec) {
  if (torn_down_) return;
  if (ec) return OnRead(ec);
  boost::system::error_code read_ec;
  if (reader_.buffered() == 0) {
    // Nothing partial is buffered: read into the loop's scratch buffer, so that only a
    // connection with a frame split across reads needs a buffer of its own.
    const std::span<char> scratch = broker_->read_scratch();
    const size_t n =
        socket_.read_some(boost::asio::buffer(scratch.data(), scratch.size()), read_ec);
    if (read_ec == boost::asio::error::would_block) return DoRead();
    if (!read_ec) reader_.Borrow(scratch.data(), n);
  } else {
    char* space = reader_.PrepareRead(kReadChunk);
    const size_t n = socket_.read_some(boost::asio::buffer(space, reader_.writable()), read_ec);
    if (read_ec == boost::asio::error::would_block) return DoRead();
    if (!read_ec) reader_.CommitRead(n);
  }
  OnRead(read_ec);
}

void Connection::OnRead(const boost::system::error_code& ec) {
  if (torn_down_) return;
  if (ec) {
    if (state_ == State::kOpen || state_ == State::kHandshake) {
      spdlog::info("connection {} from {} closed by the client without connection.close ({})", id_,
                   peer_, ec.message());
    }
    Teardown();
    return;
  }
  last_read_ = Clock::now();
  ProcessFrames();
}

void Connection::ProcessFrames() {
  bool keep_reading = true;
  amqp::Frame frame;
  while (keep_reading && !paused_) {
    switch (reader_.Next(&frame)) {
      case amqp::FrameReader::Result::kFrame:
        keep_reading = HandleFrame(frame);
        continue;
      case amqp::FrameReader::Result::kNeedMore:
        break;
      case amqp::FrameReader::Result::kProtocolHeader:
        SendStart();
        continue;
      case amqp::FrameReader::Result::kBadProtocolHeader:
        spdlog::warn("connection {} from {}: not an AMQP 0-9-1 protocol header", id_, peer_);
        out_.append(amqp::kProtocolHeader);
        CloseAfterWrite();
        keep_reading = false;
        break;
      case amqp::FrameReader::Result::kError:
        spdlog::warn("connection {} from {}: {}", id_, peer_, reader_.error().ToString());
        if (state_ != State::kClosing) {
          Close(reader_.error());
        }
        CloseAfterWrite();
        keep_reading = false;
        break;
    }
    break;
  }
  // Unhandled bytes (a partial frame, or frames left while paused) move out of the scratch
  // buffer before another connection reads into it.
  reader_.KeepRest();
  if (!keep_reading) reading_stopped_ = true;
  if (release_read_buffer_) {
    release_read_buffer_ = false;
    reader_.ReleaseIfEmpty();
  }
  FlushConfirms();
  ScheduleFlush();
  // A paused connection keeps its unread frames buffered until ResumePublishing.
  if (!reading_stopped_ && !paused_ && !torn_down_ && !close_after_write_) DoRead();
}

void Connection::FlushConfirms() {
  bool waiting = false;
  for (auto& [id, channel] : channels_) waiting |= channel->FlushConfirms();
  if (waiting && !awaiting_sync_) {
    awaiting_sync_ = true;
    broker_->AwaitSync(weak_from_this());
  }
}

void Connection::OnStoreSynced() {
  awaiting_sync_ = false;
  if (torn_down_) return;
  FlushConfirms();
  ScheduleFlush();
}

bool Connection::PausePublishing() {
  if (paused_ || reading_stopped_ || torn_down_) return paused_;
  // A connection that consumes must keep reading its acks, or the queue it waits on
  // might never drain.
  for (auto& [id, channel] : channels_) {
    if (channel->has_consumers()) return false;
  }
  paused_ = true;
  return true;
}

void Connection::ResumePublishing() {
  if (!paused_) return;
  paused_ = false;
  if (torn_down_) return;
  boost::asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (self->torn_down_ || self->paused_) return;
    // The client's heartbeats were not read while paused; they do not count as missed.
    self->last_read_ = Clock::now();
    self->ProcessFrames();
  });
}

bool Connection::HandleFrame(const amqp::Frame& frame) {
  if (frame.type == amqp::kFrameHeartbeat) return true;
  if (state_ == State::kClosing) {
    // Only the close handshake matters now.
    if (frame.channel == 0 && frame.type == amqp::kFrameMethod) {
      amqp::Method method;
      if (amqp::DecodeMethod(frame.payload, &method).ok()) {
        if (std::holds_alternative<amqp::ConnectionCloseOk>(method)) {
          Teardown();
          return false;
        }
        if (std::holds_alternative<amqp::ConnectionClose>(method)) {
          Send(0, amqp::ConnectionCloseOk{});
          CloseAfterWrite();
          return false;
        }
      }
    }
    return true;
  }
  if (frame.channel == 0) {
    Status status;
    if (frame.type != amqp::kFrameMethod) {
      status = ConnectionError(ReplyCode::kUnexpectedFrame,
                               "content frame on channel 0, which carries only methods");
    } else {
      status = HandleConnectionMethod(frame.payload);
    }
    if (!status.ok()) {
      const auto [class_id, method_id] = MethodIds(frame.payload);
      spdlog::warn("connection {} from {}: {}", id_, peer_, status.ToString());
      Close(status, class_id, method_id);
    }
    return state_ != State::kClosed && !close_after_write_;
  }
  if (state_ != State::kOpen) {
    Close(ConnectionError(
        ReplyCode::kUnexpectedFrame,
        "channel frame on channel " + std::to_string(frame.channel) + " before connection.open"));
    return true;
  }
  HandleChannelFrame(frame);
  return state_ == State::kOpen || state_ == State::kClosing;
}

void Connection::SendStart() {
  amqp::ConnectionStart start;
  start.version_major = 0;
  start.version_minor = 9;
  start.server_properties = ServerProperties();
  start.mechanisms = "PLAIN AMQPLAIN";
  start.locales = "en_US";
  Send(0, start);
}

Status Connection::HandleConnectionMethod(std::string_view payload) {
  amqp::Method method;
  Status status = amqp::DecodeMethod(payload, &method);
  if (!status.ok()) return status;
  if (state_ == State::kHandshake) {
    if (auto* m = std::get_if<amqp::ConnectionStartOk>(&method)) return OnStartOk(*m);
    if (auto* m = std::get_if<amqp::ConnectionTuneOk>(&method)) return OnTuneOk(*m);
    if (auto* m = std::get_if<amqp::ConnectionOpen>(&method)) return OnOpen(*m);
  }
  if (std::holds_alternative<amqp::ConnectionClose>(method)) {
    const auto& close = std::get<amqp::ConnectionClose>(method);
    spdlog::info("connection {} from {} closed by the client ({} {})", id_, peer_, close.reply_code,
                 close.reply_text);
    Send(0, amqp::ConnectionCloseOk{});
    CloseAfterWrite();
    return Status::Ok();
  }
  if (std::holds_alternative<amqp::ConnectionCloseOk>(method)) {
    return Status::Ok();  // a close-ok we did not ask for: ignore
  }
  if (auto* m = std::get_if<amqp::ConnectionUpdateSecret>(&method)) {
    (void)m;  // PLAIN passwords do not expire; accept the new secret.
    Send(0, amqp::ConnectionUpdateSecretOk{});
    return Status::Ok();
  }
  if (state_ == State::kOpen) {
    return ConnectionError(ReplyCode::kChannelError,
                           "unexpected method in connection state running");
  }
  return ConnectionError(ReplyCode::kCommandInvalid, "unexpected method " +
                                                         std::string(amqp::InfoOf(method).name) +
                                                         " during the connection handshake");
}

Status Connection::OnStartOk(const amqp::ConnectionStartOk& m) {
  if (state_ != State::kHandshake || !user_.empty()) {
    return ConnectionError(ReplyCode::kCommandInvalid, "unexpected connection.start-ok");
  }
  std::string user, password;
  if (m.mechanism == "PLAIN") {
    std::string_view u, p;
    if (!ParsePlain(m.response, &u, &p)) {
      return ConnectionError(ReplyCode::kAccessRefused, "malformed PLAIN response");
    }
    user = u;
    password = p;
  } else if (m.mechanism == "AMQPLAIN") {
    if (!ParseAmqplain(m.response, &user, &password)) {
      return ConnectionError(ReplyCode::kAccessRefused, "malformed AMQPLAIN response");
    }
  } else {
    return ConnectionError(ReplyCode::kCommandInvalid,
                           "unknown authentication mechanism '" + std::string(m.mechanism) + "'");
  }
  std::string why;
  if (broker_->Authenticate(user, password, peer_is_loopback_, &why) == nullptr) {
    spdlog::warn("connection {} from {}: login refused: {}", id_, peer_, why);
    return ConnectionError(ReplyCode::kAccessRefused,
                           "Login was refused using authentication mechanism " +
                               std::string(m.mechanism) + ". For details see the broker logfile.");
  }
  user_ = user;
  if (const auto* caps = m.client_properties.Find("capabilities")) {
    if (const auto* table = std::get_if<amqp::FieldTable>(caps)) {
      const amqp::FieldValue* notify = table->Find("consumer_cancel_notify");
      consumer_cancel_notify_ = notify != nullptr && *notify == amqp::FieldValue(true);
    }
  }
  Send(0, amqp::ConnectionTune{channel_max_, frame_max_, broker_->config().heartbeat_seconds});
  return Status::Ok();
}

Status Connection::OnTuneOk(const amqp::ConnectionTuneOk& m) {
  if (state_ != State::kHandshake || user_.empty()) {
    return ConnectionError(ReplyCode::kCommandInvalid, "unexpected connection.tune-ok");
  }
  const uint16_t channel_max = m.channel_max == 0 ? channel_max_ : m.channel_max;
  if (channel_max > channel_max_) {
    return ConnectionError(ReplyCode::kNotAllowed,
                           "negotiated channel_max = " + std::to_string(channel_max) +
                               " is higher than the maximum allowed value (" +
                               std::to_string(channel_max_) + ")");
  }
  const uint32_t frame_max = m.frame_max == 0 ? frame_max_ : m.frame_max;
  if (frame_max > frame_max_ || frame_max < amqp::kFrameMinSize) {
    return ConnectionError(ReplyCode::kNotAllowed, "frame_max=" + std::to_string(frame_max) +
                                                       " outside the range " +
                                                       std::to_string(amqp::kFrameMinSize) + ".." +
                                                       std::to_string(frame_max_));
  }
  channel_max_ = channel_max;
  frame_max_ = frame_max;
  heartbeat_ = m.heartbeat;
  reader_.set_frame_max(frame_max_);
  return Status::Ok();
}

Status Connection::OnOpen(const amqp::ConnectionOpen& m) {
  if (state_ != State::kHandshake || user_.empty()) {
    return ConnectionError(ReplyCode::kCommandInvalid, "unexpected connection.open");
  }
  vhost_ = broker_->FindVhost(m.virtual_host);
  if (vhost_ == nullptr) {
    return ConnectionError(ReplyCode::kNotAllowed,
                           "vhost " + std::string(m.virtual_host) + " not found");
  }
  state_ = State::kOpen;
  Send(0, amqp::ConnectionOpenOk{});
  // Many connections sit idle once open; the next read takes a buffer again.
  release_read_buffer_ = true;
  spdlog::info("connection {} from {}: user '{}' opened vhost '{}'", id_, peer_, user_,
               vhost_->name());
  return Status::Ok();
}

void Connection::HandleChannelFrame(const amqp::Frame& frame) {
  auto it = channels_.find(frame.channel);
  if (it == channels_.end()) {
    if (closing_channels_.count(frame.channel) != 0) {
      // We closed this channel; drop everything until the client's close-ok.
      if (frame.type == amqp::kFrameMethod) {
        amqp::Method method;
        if (amqp::DecodeMethod(frame.payload, &method).ok()) {
          if (std::holds_alternative<amqp::ChannelCloseOk>(method)) {
            closing_channels_.erase(frame.channel);
          } else if (std::holds_alternative<amqp::ChannelClose>(method)) {
            Send(frame.channel, amqp::ChannelCloseOk{});
          }
        }
      }
      return;
    }
    amqp::Method method;
    if (frame.type == amqp::kFrameMethod && amqp::DecodeMethod(frame.payload, &method).ok() &&
        std::holds_alternative<amqp::ChannelOpen>(method)) {
      // As RabbitMQ does, count open channels against channel_max (not channel numbers).
      if (channels_.size() >= channel_max_) {
        Close(ConnectionError(ReplyCode::kNotAllowed,
                              "number of channels opened (" + std::to_string(channels_.size()) +
                                  ") has reached the negotiated channel_max (" +
                                  std::to_string(channel_max_) + ")"),
              amqp::ChannelOpen::kClassId, amqp::ChannelOpen::kMethodId);
        return;
      }
      channels_[frame.channel] = std::make_unique<Channel>(this, vhost_, frame.channel);
      Send(frame.channel, amqp::ChannelOpenOk{});
      return;
    }
    const auto [class_id, method_id] = frame.type == amqp::kFrameMethod
                                           ? MethodIds(frame.payload)
                                           : std::pair<uint16_t, uint16_t>{};
    Close(ConnectionError(ReplyCode::kChannelError, "expected 'channel.open'"), class_id,
          method_id);
    return;
  }
  Channel& channel = *it->second;
  const auto [class_id, method_id] = MethodIds(frame.payload);
  if (frame.type == amqp::kFrameMethod &&
      amqp::MakeMethodId(class_id, method_id) == amqp::MethodId::kChannelOpen) {
    Close(ConnectionError(ReplyCode::kChannelError, "second 'channel.open' seen"),
          amqp::ChannelOpen::kClassId, amqp::ChannelOpen::kMethodId);
    return;
  }
  const Status status = channel.HandleFrame(frame);
  if (status.ok()) {
    if (channel.closed()) channels_.erase(it);
    return;
  }
  if (amqp::IsConnectionError(status.code())) {
    spdlog::warn("connection {} from {}: {}", id_, peer_, status.ToString());
    Close(status, channel.failed_class_id(), channel.failed_method_id());
    return;
  }
  CloseChannel(frame.channel, status, channel.failed_class_id(), channel.failed_method_id());
}

void Connection::CloseChannel(uint16_t id, const Status& error, uint16_t class_id,
                              uint16_t method_id) {
  spdlog::info("connection {} from {}: channel {} closed: {}", id_, peer_, id, error.ToString());
  const std::string text = ReplyText(error);
  Send(id, amqp::ChannelClose{static_cast<uint16_t>(error.code()), text, class_id, method_id});
  auto it = channels_.find(id);
  if (it != channels_.end()) {
    it->second->Teardown();
    channels_.erase(it);
  }
  closing_channels_.insert(id);
}

void Connection::Close(const Status& error, uint16_t class_id, uint16_t method_id) {
  if (state_ == State::kClosing || state_ == State::kClosed) return;
  const std::string text = ReplyText(error);
  Send(0, amqp::ConnectionClose{static_cast<uint16_t>(error.code()), text, class_id, method_id});
  state_ = State::kClosing;
  close_sent_ = Clock::now();
  // A connection paused by flow control must read again to see the client's close-ok.
  ResumePublishing();
}

void Connection::AppendContent(uint16_t channel, const Message& message) {
  amqp::AppendContentHeaderFrame(&out_, channel, message.body().size(), message.properties());
  amqp::AppendBodyFrames(&out_, channel, message.body(), frame_max_);
  if (!writable()) output_was_full_ = true;
  ScheduleFlush();
}

void Connection::ScheduleFlush() {
  if (flush_scheduled_ || write_in_progress_ || torn_down_) return;
  flush_scheduled_ = true;
  boost::asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->flush_scheduled_ = false;
    self->DoWrite();
  });
}

void Connection::DoWrite() {
  if (write_in_progress_ || torn_down_) return;
  if (out_.empty()) {
    if (close_after_write_) Teardown();
    return;
  }
  std::swap(out_, writing_);
  write_in_progress_ = true;
  last_write_ = Clock::now();
  boost::asio::async_write(socket_, boost::asio::buffer(writing_),
                           [self = shared_from_this()](const boost::system::error_code& ec,
                                                       size_t) { self->OnWrite(ec); });
}

void Connection::OnWrite(const boost::system::error_code& ec) {
  write_in_progress_ = false;
  writing_.clear();
  if (torn_down_) return;
  if (ec) {
    spdlog::info("connection {} from {}: write failed: {}", id_, peer_, ec.message());
    Teardown();
    return;
  }
  if (output_was_full_ && writable()) {
    output_was_full_ = false;
    for (auto& [id, channel] : channels_) channel->ResumeDeliveries();
  }
  if (out_.empty()) {
    // Nothing more to send: give back what a burst made the buffers grow to.
    if (writing_.capacity() > kKeptOutputCapacity) std::string().swap(writing_);
    if (out_.capacity() > kKeptOutputCapacity) std::string().swap(out_);
  }
  DoWrite();
}

void Connection::CloseAfterWrite() {
  close_after_write_ = true;
  ScheduleFlush();
}

void Connection::StartTimer() {
  auto interval = std::chrono::seconds(1);
  if (state_ == State::kOpen && heartbeat_ > 2) interval = std::chrono::seconds(heartbeat_ / 2);
  timer_.expires_after(interval);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && !self->torn_down_) self->OnTimer();
  });
}

void Connection::OnTimer() {
  const auto now = Clock::now();
  switch (state_) {
    case State::kHandshake:
      if (now - started_ > kHandshakeTimeout) {
        spdlog::warn("connection {} from {}: handshake timeout", id_, peer_);
        Teardown();
        return;
      }
      break;
    case State::kClosing:
      if (now - close_sent_ > kCloseTimeout) {
        Teardown();
        return;
      }
      break;
    case State::kOpen:
      if (paused_) last_read_ = now;  // unread heartbeats are not missed ones
      // Nothing read for a whole tick: the connection is idle, free its read buffer.
      if (last_read_ < last_tick_) reader_.ReleaseIfEmpty();
      if (heartbeat_ != 0) {
        if (now - last_read_ > std::chrono::seconds(2 * heartbeat_)) {
          spdlog::warn("connection {} from {}: missed heartbeats from client, timeout: {}s", id_,
                       peer_, heartbeat_);
          Teardown();
          return;
        }
        if (now - last_write_ >= std::chrono::seconds(heartbeat_) / 2 && out_.empty() &&
            !write_in_progress_) {
          amqp::AppendHeartbeatFrame(&out_);
          ScheduleFlush();
        }
      }
      break;
    case State::kClosed:
      return;
  }
  last_tick_ = now;
  StartTimer();
}

void Connection::Teardown() {
  if (torn_down_) return;
  torn_down_ = true;
  state_ = State::kClosed;
  for (auto& [id, channel] : channels_) channel->Teardown();
  channels_.clear();
  if (vhost_ != nullptr) vhost_->DeleteQueuesOwnedBy(this);
  broker_->Unregister(this);
  boost::system::error_code ignored;
  timer_.cancel();
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  spdlog::info("connection {} from {} closed", id_, peer_);
}

}  // namespace warren::server
