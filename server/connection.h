// Connection: one client's TCP connection. It reads frames, runs the connection
// handshake (start, secure, tune, open), owns the channels, and gathers everything sent
// to the client into one buffer that is written once per event-loop turn.
//
// Lifetime: shared_ptr, held by the pending asynchronous operations. Teardown() runs
// exactly once, when the connection ends for any reason, and releases what its channels
// and exclusive queues hold.

#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "amqp/content.h"
#include "amqp/frame.h"
#include "amqp/generated/methods.h"
#include "amqp/status.h"
#include "server/message.h"

namespace warren::server {

class Broker;
class Channel;
class VirtualHost;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Broker* broker, boost::asio::ip::tcp::socket socket, uint64_t id);
  ~Connection();

  // Starts reading. The connection registers itself with the broker until Teardown.
  void Start();

  uint64_t id() const { return id_; }
  const std::string& peer() const { return peer_; }
  const std::string& user() const { return user_; }
  Broker* broker() const { return broker_; }
  uint32_t frame_max() const { return frame_max_; }
  // Whether the client announced the consumer_cancel_notify capability: only then does a
  // consumer whose queue is deleted get basic.cancel, as in RabbitMQ.
  bool consumer_cancel_notify() const { return consumer_cancel_notify_; }

  // Queues a method frame for the client.
  template <class M>
  void Send(uint16_t channel, const M& method) {
    amqp::AppendMethodFrame(&out_, channel, method);
    ScheduleFlush();
  }
  // Queues a method frame followed by `message`'s content header and body frames.
  template <class M>
  void SendWithContent(uint16_t channel, const M& method, const Message& message) {
    amqp::AppendMethodFrame(&out_, channel, method);
    AppendContent(channel, message);
  }

  // Queues basic.deliver with `message`'s content (the fast path of SendWithContent).
  void SendDelivery(uint16_t channel, const amqp::BasicDeliver& deliver, const Message& message) {
    amqp::AppendDelivery(&out_, channel, deliver, message.properties(), message.body(), frame_max_);
    if (!writable()) output_was_full_ = true;
    ScheduleFlush();
  }

  // False while the output buffer is over its limit: consumers then stop receiving until
  // the client has read what is queued (a slow consumer must not grow the broker). False
  // once torn down, so that a queue that its closing channels hand messages back to (or
  // over to another single active consumer) does not push them to a sibling channel about
  // to go too, which would lose no-ack deliveries.
  bool writable() const { return !torn_down_ && out_.size() < kMaxBufferedOutput; }

  // Flow control. A queue that grows past its limit while it has consumers asks the
  // connections publishing to it to pause: they stop reading (and so the client stops
  // being able to send) until the queue drains and calls ResumePublishing. Returns false
  // when this connection cannot be paused: it also consumes, and its acks must flow.
  bool PausePublishing();
  void ResumePublishing();
  bool publishing_paused() const { return paused_; }

  // Sends the publisher confirms that are due on every channel; asks the broker to call
  // OnStoreSynced when some wait for the store.
  void FlushConfirms();
  // The store has synced a batch: confirms waiting for it may go out.
  void OnStoreSynced();

  // Server-initiated close: sends connection.close with `error` and waits (bounded) for
  // close-ok. `class_id`/`method_id` name the method that caused it, if any.
  void Close(const amqp::Status& error, uint16_t class_id = 0, uint16_t method_id = 0);

  // For every open channel.
  template <class F>
  void ForEachChannel(F&& f) {
    for (auto& [id, channel] : channels_) f(*channel);
  }

 private:
  static constexpr size_t kReadChunk = 64 * 1024;
  static constexpr size_t kMaxBufferedOutput = 1 << 20;
  // Output buffer capacity kept once a connection has nothing more to send.
  static constexpr size_t kKeptOutputCapacity = 64 * 1024;

  enum class State {
    kHandshake,  // before connection.open-ok
    kOpen,
    kClosing,  // we sent connection.close; waiting for close-ok
    kClosed,
  };

  void DoRead();
  void OnReadable(const boost::system::error_code& ec);
  // After a read: handles the error, or the frames received.
  void OnRead(const boost::system::error_code& ec);
  // Handles the complete frames buffered, then reads more unless paused or stopped.
  void ProcessFrames();
  // Handles one frame; false when the connection must stop reading.
  bool HandleFrame(const amqp::Frame& frame);
  amqp::Status HandleConnectionMethod(std::string_view payload);
  amqp::Status OnStartOk(const amqp::ConnectionStartOk& m);
  amqp::Status OnTuneOk(const amqp::ConnectionTuneOk& m);
  amqp::Status OnOpen(const amqp::ConnectionOpen& m);
  void HandleChannelFrame(const amqp::Frame& frame);
  // Sends channel.close for `error` and tears the channel down (it stays in the map,
  // closed, until the client's close-ok).
  void CloseChannel(uint16_t id, const amqp::Status& error, uint16_t class_id, uint16_t method_id);
  void SendStart();

  void AppendContent(uint16_t channel, const Message& message);
  void ScheduleFlush();
  void DoWrite();
  void OnWrite(const boost::system::error_code& ec);
  // Writes what is queued, then closes the socket.
  void CloseAfterWrite();

  void StartTimer();
  void OnTimer();

  void Teardown();

  Broker* broker_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  uint64_t id_;
  std::string peer_;
  bool peer_is_loopback_ = false;
  State state_ = State::kHandshake;
  bool torn_down_ = false;

  amqp::FrameReader reader_;
  std::string out_;      // frames queued for the client
  std::string writing_;  // frames being written
  bool release_read_buffer_ = false;
  bool last_read_filled_ = false;  // the last read filled the space it had: read more at once  //
                                   // free the read buffer once the frames are handled
  bool paused_ = false;            // publishing paused by flow control
  bool awaiting_sync_ = false;     // registered with the broker for OnStoreSynced
  bool reading_stopped_ = false;   // the connection failed or closes: never read again
  bool write_in_progress_ = false;
  bool flush_scheduled_ = false;
  bool close_after_write_ = false;
  bool output_was_full_ = false;  // consumers were held back; resume them once drained

  // Negotiated in connection.tune / tune-ok.
  uint16_t channel_max_;
  uint32_t frame_max_;
  uint16_t heartbeat_ = 0;  // seconds; 0: off
  std::chrono::steady_clock::time_point last_read_;
  std::chrono::steady_clock::time_point last_write_;
  std::chrono::steady_clock::time_point last_tick_;  // of the timer
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point close_sent_;

  std::string user_;
  bool consumer_cancel_notify_ = false;
  VirtualHost* vhost_ = nullptr;
  std::map<uint16_t, std::unique_ptr<Channel>> channels_;
  std::set<uint16_t> closing_channels_;  // we sent channel.close; awaiting close-ok
};

}  // namespace warren::server
