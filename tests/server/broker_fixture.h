// BrokerFixture: a real Warren running in-process on a free loopback port, for tests that
// talk to it over TCP. Client: a rabbitmq-c connection whose calls return
// ::testing::AssertionResult, so a test reads as a list of ASSERT_TRUE(client.Step(...)).
//
// Every call that waits on the broker is bounded: RPCs by the connection's RPC timeout,
// event waits by an explicit timeout, and each test as a whole by a watchdog that aborts
// the run (naming the test) rather than letting it hang.

#pragma once

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>

#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "server/broker.h"
#include "server/config.h"
#include "storage/rocks_store.h"

namespace warren::test {

using Millis = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// How long to wait for something that must arrive.
inline constexpr Millis kEventTimeout{5000};
// How long to watch for something that must not arrive.
inline constexpr Millis kQuietPeriod{200};
// A test that runs longer than this is hung: the watchdog aborts the run.
inline constexpr Millis kTestDeadline{60000};

inline timeval ToTimeval(Millis ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// A view of `s` for rabbitmq-c, which takes non-const pointers but does not write.
inline amqp_bytes_t Bytes(std::string_view s) {
  return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

inline std::string ToString(amqp_bytes_t b) {
  return b.len == 0 ? std::string() : std::string(static_cast<const char*>(b.bytes), b.len);
}

// A field table built in the test (queue.bind arguments, message headers). It owns the
// strings its entries point to; table() is valid while the Table lives and is unchanged.
class Table {
 public:
  Table& Add(std::string key, std::string value) {
    amqp_field_value_t v;
    v.kind = AMQP_FIELD_KIND_UTF8;
    v.value.bytes = Bytes(Keep(std::move(value)));
    return Put(std::move(key), v);
  }
  // Without this overload a string literal would pick the bool one.
  Table& Add(std::string key, const char* value) { return Add(std::move(key), std::string(value)); }
  Table& Add(std::string key, int32_t value) {
    amqp_field_value_t v;
    v.kind = AMQP_FIELD_KIND_I32;
    v.value.i32 = value;
    return Put(std::move(key), v);
  }
  Table& Add(std::string key, bool value) {
    amqp_field_value_t v;
    v.kind = AMQP_FIELD_KIND_BOOLEAN;
    v.value.boolean = value ? 1 : 0;
    return Put(std::move(key), v);
  }

  amqp_table_t table() { return amqp_table_t{static_cast<int>(entries_.size()), entries_.data()}; }

 private:
  const std::string& Keep(std::string s) { return strings_.emplace_back(std::move(s)); }
  Table& Put(std::string key, amqp_field_value_t value) {
    entries_.push_back(amqp_table_entry_t{Bytes(Keep(std::move(key))), value});
    return *this;
  }

  std::deque<std::string> strings_;  // a deque: growing it never moves the strings
  std::vector<amqp_table_entry_t> entries_;
};

// A field value as text, for comparing received headers: strings as themselves, numbers
// in decimal, booleans as "true"/"false", anything else as "<kind X>".
inline std::string FieldText(const amqp_field_value_t& v) {
  switch (v.kind) {
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES:
      return ToString(v.value.bytes);
    case AMQP_FIELD_KIND_BOOLEAN:
      return v.value.boolean ? "true" : "false";
    case AMQP_FIELD_KIND_I8:
      return std::to_string(v.value.i8);
    case AMQP_FIELD_KIND_U8:
      return std::to_string(v.value.u8);
    case AMQP_FIELD_KIND_I16:
      return std::to_string(v.value.i16);
    case AMQP_FIELD_KIND_U16:
      return std::to_string(v.value.u16);
    case AMQP_FIELD_KIND_I32:
      return std::to_string(v.value.i32);
    case AMQP_FIELD_KIND_U32:
      return std::to_string(v.value.u32);
    case AMQP_FIELD_KIND_I64:
      return std::to_string(v.value.i64);
    case AMQP_FIELD_KIND_U64:
    case AMQP_FIELD_KIND_TIMESTAMP:
      return std::to_string(v.value.u64);
    default:
      return std::string("<kind ") + static_cast<char>(v.kind) + ">";
  }
}

// A message as a client received it (basic.deliver, basic.get-ok or basic.return), copied
// out of rabbitmq-c's buffers.
struct Delivery {
  uint16_t channel = 0;
  std::string consumer_tag;   // basic.deliver only
  uint64_t delivery_tag = 0;  // basic.deliver and basic.get-ok
  bool redelivered = false;
  std::string exchange;
  std::string routing_key;

  std::string body;
  std::optional<std::string> content_type;
  std::optional<uint8_t> delivery_mode;
  std::optional<std::string> correlation_id;
  std::map<std::string, std::string> headers;  // values as FieldText renders them
};

// One method the broker sent the client outside an RPC, with what tests look at.
struct Event {
  uint16_t channel = 0;
  amqp_method_number_t method = 0;
  uint64_t delivery_tag = 0;  // basic.ack, basic.nack (publisher confirms)
  bool multiple = false;
  uint16_t reply_code = 0;  // basic.return, channel.close, connection.close
  std::string reply_text;
  std::string consumer_tag;         // basic.cancel
  std::optional<Delivery> message;  // basic.deliver, basic.return

  std::string name() const { return amqp_method_name(method); }
};

// Describes an RPC reply as a failure message: the broker's close, or the library error.
inline std::string DescribeReply(const amqp_rpc_reply_t& reply) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "ok";
    case AMQP_RESPONSE_NONE:
      return "no reply (missing RPC?)";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return std::string("library error: ") + amqp_error_string2(reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
        return "channel.close " + std::to_string(m->reply_code) + " " + ToString(m->reply_text);
      }
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
        return "connection.close " + std::to_string(m->reply_code) + " " + ToString(m->reply_text);
      }
      return std::string("server sent ") + amqp_method_name(reply.reply.id);
  }
  return "unknown reply type";
}

class Client {
 public:
  Client() = default;
  ~Client() { Disconnect(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Opens a TCP connection to 127.0.0.1:`port` and logs in to vhost "/" with PLAIN.
  ::testing::AssertionResult Connect(uint16_t port, const std::string& user = "guest",
                                     const std::string& password = "guest") {
    Disconnect();
    state_ = amqp_new_connection();
    amqp_socket_t* socket = amqp_tcp_socket_new(state_);
    if (socket == nullptr) return ::testing::AssertionFailure() << "amqp_tcp_socket_new failed";
    timeval timeout = ToTimeval(kEventTimeout);
    const int opened = amqp_socket_open_noblock(socket, "127.0.0.1", port, &timeout);
    if (opened != AMQP_STATUS_OK) {
      return ::testing::AssertionFailure()
             << "cannot connect to port " << port << ": " << amqp_error_string2(opened);
    }
    amqp_set_handshake_timeout(state_, &timeout);
    amqp_set_rpc_timeout(state_, &timeout);
    // Advertise what RabbitMQ's own clients do; RabbitMQ sends basic.cancel only to
    // clients with consumer_cancel_notify. (rabbitmq-c merges these into its defaults.)
    Table capabilities;
    if (cancel_notify_) capabilities.Add("consumer_cancel_notify", true);
    capabilities.Add("publisher_confirms", true).Add("basic.nack", true);
    amqp_table_entry_t capabilities_entry;
    capabilities_entry.key = amqp_cstring_bytes("capabilities");
    capabilities_entry.value.kind = AMQP_FIELD_KIND_TABLE;
    capabilities_entry.value.value.table = capabilities.table();
    const amqp_table_t client_properties{1, &capabilities_entry};
    // Heartbeats off: tests do not pump the socket.
    const amqp_rpc_reply_t reply = amqp_login_with_properties(
        state_, "/", 0, static_cast<int>(frame_max_), 0, &client_properties, AMQP_SASL_METHOD_PLAIN,
        user.c_str(), password.c_str());
    last_login_reply_ = reply;
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
      return ::testing::AssertionFailure() << "login: " << DescribeReply(reply);
    }
    logged_in_ = true;
    return ::testing::AssertionSuccess();
  }

  // Closes the connection (connection.close, bounded by the RPC timeout) and frees it.
  void Disconnect() {
    if (state_ == nullptr) return;
    if (logged_in_) amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(state_);
    state_ = nullptr;
    logged_in_ = false;
  }

  // The frame_max the next Connect asks for (Warren's default unless set).
  void set_frame_max(uint32_t frame_max) { frame_max_ = frame_max; }
  // Whether the next Connect advertises the consumer_cancel_notify capability (default yes).
  void set_cancel_notify(bool cancel_notify) { cancel_notify_ = cancel_notify; }

  amqp_connection_state_t state() const { return state_; }
  // The reply of the last Connect's login (for tests of refused logins).
  const amqp_rpc_reply_t& last_login_reply() const { return last_login_reply_; }

  // A string entry of the broker's connection.start server-properties.
  std::optional<std::string> ServerProperty(std::string_view key) const {
    const amqp_table_t* properties = amqp_get_server_properties(state_);
    if (properties == nullptr) return std::nullopt;
    for (int i = 0; i < properties->num_entries; ++i) {
      const amqp_table_entry_t& e = properties->entries[i];
      if (ToString(e.key) == key) return FieldText(e.value);
    }
    return std::nullopt;
  }

  // The reply of the last RPC as an assertion about `what`.
  ::testing::AssertionResult CheckRpc(std::string_view what) {
    const amqp_rpc_reply_t reply = amqp_get_rpc_reply(state_);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << what << ": " << DescribeReply(reply);
  }

  // Checks that the last RPC on `channel` was answered with channel.close `code` and
  // `text`, and completes the close with channel.close-ok (the channel may be reopened).
  ::testing::AssertionResult ExpectChannelClose(uint16_t channel, uint16_t code,
                                                std::string_view text) {
    const amqp_rpc_reply_t reply = amqp_get_rpc_reply(state_);
    if (reply.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION ||
        reply.reply.id != AMQP_CHANNEL_CLOSE_METHOD) {
      return ::testing::AssertionFailure()
             << "expected channel.close " << code << ", got " << DescribeReply(reply);
    }
    const auto* close = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
    const uint16_t got_code = close->reply_code;
    const std::string got_text = ToString(close->reply_text);
    amqp_channel_close_ok_t close_ok{};
    const int sent = amqp_send_method(state_, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
    if (got_code != code || got_text != text) {
      return ::testing::AssertionFailure() << "expected channel.close " << code << " '" << text
                                           << "', got " << got_code << " '" << got_text << "'";
    }
    if (sent != AMQP_STATUS_OK) {
      return ::testing::AssertionFailure()
             << "channel.close-ok not sent: " << amqp_error_string2(sent);
    }
    return ::testing::AssertionSuccess();
  }

  // Answers a channel.close the broker sent (as an Event) with channel.close-ok.
  ::testing::AssertionResult SendChannelCloseOk(uint16_t channel) {
    amqp_channel_close_ok_t close_ok{};
    return CheckSend("channel.close-ok",
                     amqp_send_method(state_, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok));
  }

  ::testing::AssertionResult OpenChannel(uint16_t channel) {
    amqp_channel_open(state_, channel);
    return CheckRpc("channel.open " + std::to_string(channel));
  }

  ::testing::AssertionResult CloseChannel(uint16_t channel) {
    const amqp_rpc_reply_t reply = amqp_channel_close(state_, channel, AMQP_REPLY_SUCCESS);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "channel.close: " << DescribeReply(reply);
  }

  // Declares a durable queue, with x- `arguments` if given.
  ::testing::AssertionResult DeclareDurableQueue(uint16_t channel, std::string_view name,
                                                 amqp_table_t arguments = amqp_empty_table) {
    amqp_queue_declare(state_, channel, Bytes(name), 0, 1, 0, 0, arguments);
    return CheckRpc("queue.declare '" + std::string(name) + "' durable");
  }

  // Declares a non-durable queue; `name` "" asks the broker for a name, returned in
  // *declared if given.
  ::testing::AssertionResult DeclareQueue(uint16_t channel, std::string_view name,
                                          std::string* declared = nullptr) {
    const amqp_queue_declare_ok_t* ok =
        amqp_queue_declare(state_, channel, Bytes(name), 0, 0, 0, 0, amqp_empty_table);
    auto result = CheckRpc("queue.declare '" + std::string(name) + "'");
    if (result && declared != nullptr) *declared = ToString(ok->queue);
    return result;
  }

  // Passive queue.declare: the queue's count of ready messages.
  ::testing::AssertionResult MessageCount(uint16_t channel, std::string_view queue,
                                          uint32_t* count) {
    const amqp_queue_declare_ok_t* ok =
        amqp_queue_declare(state_, channel, Bytes(queue), 1, 0, 0, 0, amqp_empty_table);
    auto result = CheckRpc("passive queue.declare '" + std::string(queue) + "'");
    if (result) *count = ok->message_count;
    return result;
  }

  ::testing::AssertionResult DeleteQueue(uint16_t channel, std::string_view queue) {
    amqp_queue_delete(state_, channel, Bytes(queue), 0, 0);
    return CheckRpc("queue.delete '" + std::string(queue) + "'");
  }

  ::testing::AssertionResult DeclareExchange(uint16_t channel, std::string_view name,
                                             std::string_view type) {
    amqp_exchange_declare(state_, channel, Bytes(name), Bytes(type), 0, 0, 0, 0, amqp_empty_table);
    return CheckRpc("exchange.declare '" + std::string(name) + "'");
  }

  ::testing::AssertionResult Bind(uint16_t channel, std::string_view queue,
                                  std::string_view exchange, std::string_view routing_key,
                                  amqp_table_t arguments = amqp_empty_table) {
    amqp_queue_bind(state_, channel, Bytes(queue), Bytes(exchange), Bytes(routing_key), arguments);
    return CheckRpc("queue.bind '" + std::string(queue) + "' to '" + std::string(exchange) +
                    "' with '" + std::string(routing_key) + "'");
  }

  ::testing::AssertionResult Publish(uint16_t channel, std::string_view exchange,
                                     std::string_view routing_key, std::string_view body,
                                     const amqp_basic_properties_t* properties = nullptr,
                                     bool mandatory = false) {
    const int status = amqp_basic_publish(state_, channel, Bytes(exchange), Bytes(routing_key),
                                          mandatory ? 1 : 0, 0, properties, Bytes(body));
    if (status == AMQP_STATUS_OK) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "basic.publish: " << amqp_error_string2(status);
  }

  // basic.get that must return a message.
  ::testing::AssertionResult Get(uint16_t channel, std::string_view queue, Delivery* out,
                                 bool no_ack = true) {
    amqp_maybe_release_buffers(state_);
    const amqp_rpc_reply_t reply = amqp_basic_get(state_, channel, Bytes(queue), no_ack ? 1 : 0);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
      return ::testing::AssertionFailure() << "basic.get: " << DescribeReply(reply);
    }
    if (reply.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) {
      return ::testing::AssertionFailure() << "basic.get: queue '" << queue << "' is empty";
    }
    const auto* ok = static_cast<const amqp_basic_get_ok_t*>(reply.reply.decoded);
    *out = Delivery();
    out->channel = channel;
    out->delivery_tag = ok->delivery_tag;
    out->redelivered = ok->redelivered != 0;
    out->exchange = ToString(ok->exchange);
    out->routing_key = ToString(ok->routing_key);
    return ReadContent(channel, Clock::now() + kEventTimeout, out);
  }

  // basic.get that must find the queue empty.
  ::testing::AssertionResult ExpectGetEmpty(uint16_t channel, std::string_view queue) {
    amqp_maybe_release_buffers(state_);
    const amqp_rpc_reply_t reply = amqp_basic_get(state_, channel, Bytes(queue), 1);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
      return ::testing::AssertionFailure() << "basic.get: " << DescribeReply(reply);
    }
    if (reply.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) return ::testing::AssertionSuccess();
    Delivery unexpected;
    ReadContent(channel, Clock::now() + kEventTimeout, &unexpected);
    return ::testing::AssertionFailure()
           << "queue '" << queue << "' is not empty: got '" << unexpected.body << "'";
  }

  // Every message in `queue`, by basic.get with no-ack, in order.
  ::testing::AssertionResult Drain(uint16_t channel, std::string_view queue,
                                   std::vector<std::string>* bodies) {
    bodies->clear();
    for (int i = 0; i < 100000; ++i) {
      amqp_maybe_release_buffers(state_);
      const amqp_rpc_reply_t reply = amqp_basic_get(state_, channel, Bytes(queue), 1);
      if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
        return ::testing::AssertionFailure() << "basic.get: " << DescribeReply(reply);
      }
      if (reply.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) return ::testing::AssertionSuccess();
      Delivery d;
      auto read = ReadContent(channel, Clock::now() + kEventTimeout, &d);
      if (!read) return read;
      bodies->push_back(std::move(d.body));
    }
    return ::testing::AssertionFailure() << "queue '" << queue << "' never ran empty";
  }

  // basic.qos; `global` makes the limit the channel's rather than each new consumer's.
  ::testing::AssertionResult Qos(uint16_t channel, uint16_t prefetch_count, bool global = false) {
    amqp_basic_qos(state_, channel, 0, prefetch_count, global ? 1 : 0);
    return CheckRpc("basic.qos");
  }

  // basic.consume with a broker-generated tag, returned in *tag if given.
  ::testing::AssertionResult Consume(uint16_t channel, std::string_view queue,
                                     std::string* tag = nullptr, bool no_ack = false) {
    const amqp_basic_consume_ok_t* ok = amqp_basic_consume(
        state_, channel, Bytes(queue), amqp_empty_bytes, 0, no_ack ? 1 : 0, 0, amqp_empty_table);
    auto result = CheckRpc("basic.consume '" + std::string(queue) + "'");
    if (result && tag != nullptr) *tag = ToString(ok->consumer_tag);
    return result;
  }

  ::testing::AssertionResult Cancel(uint16_t channel, std::string_view tag) {
    amqp_basic_cancel(state_, channel, Bytes(tag));
    return CheckRpc("basic.cancel");
  }

  ::testing::AssertionResult Ack(uint16_t channel, uint64_t tag, bool multiple = false) {
    return CheckSend("basic.ack", amqp_basic_ack(state_, channel, tag, multiple ? 1 : 0));
  }
  ::testing::AssertionResult Reject(uint16_t channel, uint64_t tag, bool requeue) {
    return CheckSend("basic.reject", amqp_basic_reject(state_, channel, tag, requeue ? 1 : 0));
  }
  ::testing::AssertionResult Nack(uint16_t channel, uint64_t tag, bool multiple, bool requeue) {
    return CheckSend("basic.nack",
                     amqp_basic_nack(state_, channel, tag, multiple ? 1 : 0, requeue ? 1 : 0));
  }

  ::testing::AssertionResult ConfirmSelect(uint16_t channel) {
    amqp_confirm_select(state_, channel);
    return CheckRpc("confirm.select");
  }
  ::testing::AssertionResult TxSelect(uint16_t channel) {
    amqp_tx_select(state_, channel);
    return CheckRpc("tx.select");
  }
  ::testing::AssertionResult TxCommit(uint16_t channel) {
    amqp_tx_commit(state_, channel);
    return CheckRpc("tx.commit");
  }
  ::testing::AssertionResult TxRollback(uint16_t channel) {
    amqp_tx_rollback(state_, channel);
    return CheckRpc("tx.rollback");
  }

  // The next method the broker sends outside an RPC (with its content, if it has any),
  // waiting at most `timeout`.
  ::testing::AssertionResult NextEvent(Event* out, Millis timeout = kEventTimeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    amqp_maybe_release_buffers(state_);
    amqp_frame_t frame;
    auto waited = WaitFrame(deadline, &frame);
    if (!waited) return waited;
    if (frame.frame_type != AMQP_FRAME_METHOD) {
      return ::testing::AssertionFailure()
             << "expected a method frame, got frame type " << int{frame.frame_type}
             << " on channel " << frame.channel;
    }
    *out = Event();
    out->channel = frame.channel;
    out->method = frame.payload.method.id;
    const void* decoded = frame.payload.method.decoded;
    switch (out->method) {
      case AMQP_BASIC_DELIVER_METHOD: {
        const auto* m = static_cast<const amqp_basic_deliver_t*>(decoded);
        Delivery d;
        d.channel = frame.channel;
        d.consumer_tag = ToString(m->consumer_tag);
        d.delivery_tag = m->delivery_tag;
        d.redelivered = m->redelivered != 0;
        d.exchange = ToString(m->exchange);
        d.routing_key = ToString(m->routing_key);
        out->message = std::move(d);
        return ReadContent(frame.channel, deadline, &*out->message);
      }
      case AMQP_BASIC_RETURN_METHOD: {
        const auto* m = static_cast<const amqp_basic_return_t*>(decoded);
        out->reply_code = m->reply_code;
        out->reply_text = ToString(m->reply_text);
        Delivery d;
        d.channel = frame.channel;
        d.exchange = ToString(m->exchange);
        d.routing_key = ToString(m->routing_key);
        out->message = std::move(d);
        return ReadContent(frame.channel, deadline, &*out->message);
      }
      case AMQP_BASIC_ACK_METHOD: {
        const auto* m = static_cast<const amqp_basic_ack_t*>(decoded);
        out->delivery_tag = m->delivery_tag;
        out->multiple = m->multiple != 0;
        break;
      }
      case AMQP_BASIC_NACK_METHOD: {
        const auto* m = static_cast<const amqp_basic_nack_t*>(decoded);
        out->delivery_tag = m->delivery_tag;
        out->multiple = m->multiple != 0;
        break;
      }
      case AMQP_BASIC_CANCEL_METHOD:
        out->consumer_tag =
            ToString(static_cast<const amqp_basic_cancel_t*>(decoded)->consumer_tag);
        break;
      case AMQP_CHANNEL_CLOSE_METHOD: {
        const auto* m = static_cast<const amqp_channel_close_t*>(decoded);
        out->reply_code = m->reply_code;
        out->reply_text = ToString(m->reply_text);
        break;
      }
      case AMQP_CONNECTION_CLOSE_METHOD: {
        const auto* m = static_cast<const amqp_connection_close_t*>(decoded);
        out->reply_code = m->reply_code;
        out->reply_text = ToString(m->reply_text);
        break;
      }
      default:
        break;
    }
    return ::testing::AssertionSuccess();
  }

  // The next event, which must be a basic.deliver.
  ::testing::AssertionResult NextDelivery(Delivery* out, Millis timeout = kEventTimeout) {
    Event event;
    auto next = NextEvent(&event, timeout);
    if (!next) return next;
    if (event.method != AMQP_BASIC_DELIVER_METHOD) {
      return ::testing::AssertionFailure()
             << "expected basic.deliver, got " << event.name() << " on channel " << event.channel
             << " (" << event.reply_code << " " << event.reply_text << ")";
    }
    *out = std::move(*event.message);
    return ::testing::AssertionSuccess();
  }

  // Nothing at all arrives for `quiet`.
  ::testing::AssertionResult ExpectNoEvent(Millis quiet = kQuietPeriod) {
    Event event;
    auto next = NextEvent(&event, quiet);
    if (!next && last_wait_status_ == AMQP_STATUS_TIMEOUT) return ::testing::AssertionSuccess();
    if (!next) return next;
    auto failure = ::testing::AssertionFailure()
                   << "expected nothing, got " << event.name() << " on channel " << event.channel;
    if (event.message) failure << " with body '" << event.message->body << "'";
    return failure;
  }

  // Reads publisher confirms on `channel` until every publish up to sequence number
  // `last` is acknowledged. Fails on a basic.nack or any other event.
  ::testing::AssertionResult WaitForConfirms(uint16_t channel, uint64_t last,
                                             Millis timeout = kEventTimeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    uint64_t confirmed = confirmed_[channel];
    while (confirmed < last) {
      const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
      if (left.count() <= 0) {
        return ::testing::AssertionFailure()
               << "confirmed up to " << confirmed << " of " << last << " before the timeout";
      }
      Event event;
      auto next = NextEvent(&event, left);
      if (!next) return next << " (confirmed up to " << confirmed << " of " << last << ")";
      if (event.channel != channel || event.method != AMQP_BASIC_ACK_METHOD) {
        return ::testing::AssertionFailure()
               << "waiting for confirms, got " << event.name() << " on channel " << event.channel;
      }
      if (event.delivery_tag <= confirmed || event.delivery_tag > last) {
        return ::testing::AssertionFailure()
               << "confirm for " << event.delivery_tag << " after confirms up to " << confirmed;
      }
      if (!event.multiple && event.delivery_tag != confirmed + 1) {
        return ::testing::AssertionFailure()
               << "single confirm for " << event.delivery_tag << " skips " << confirmed + 1;
      }
      confirmed = event.delivery_tag;
      ++confirm_frames_;
    }
    confirmed_[channel] = confirmed;
    return ::testing::AssertionSuccess();
  }
  // basic.ack frames WaitForConfirms has read.
  int confirm_frames() const { return confirm_frames_; }

 private:
  ::testing::AssertionResult CheckSend(std::string_view what, int status) {
    if (status == AMQP_STATUS_OK) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << what << ": " << amqp_error_string2(status);
  }

  ::testing::AssertionResult WaitFrame(Clock::time_point deadline, amqp_frame_t* frame) {
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    if (left.count() < 0) left = Millis(0);
    timeval tv = ToTimeval(left);
    const int status = amqp_simple_wait_frame_noblock(state_, frame, &tv);
    last_wait_status_ = status;
    if (status == AMQP_STATUS_OK) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "waiting for a frame: " << amqp_error_string2(status);
  }

  // Reads the content header and body frames that follow a content-carrying method.
  ::testing::AssertionResult ReadContent(uint16_t channel, Clock::time_point deadline,
                                         Delivery* out) {
    amqp_frame_t frame;
    auto waited = WaitFrame(deadline, &frame);
    if (!waited) return waited << " (content header)";
    if (frame.frame_type != AMQP_FRAME_HEADER || frame.channel != channel) {
      return ::testing::AssertionFailure()
             << "expected a content header on channel " << channel << ", got frame type "
             << int{frame.frame_type} << " on channel " << frame.channel;
    }
    const uint64_t body_size = frame.payload.properties.body_size;
    const auto* p = static_cast<const amqp_basic_properties_t*>(frame.payload.properties.decoded);
    if (p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG) out->content_type = ToString(p->content_type);
    if (p->_flags & AMQP_BASIC_DELIVERY_MODE_FLAG) out->delivery_mode = p->delivery_mode;
    if (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG) {
      out->correlation_id = ToString(p->correlation_id);
    }
    if (p->_flags & AMQP_BASIC_HEADERS_FLAG) {
      for (int i = 0; i < p->headers.num_entries; ++i) {
        const amqp_table_entry_t& e = p->headers.entries[i];
        out->headers[ToString(e.key)] = FieldText(e.value);
      }
    }
    out->body.clear();
    out->body.reserve(body_size);
    while (out->body.size() < body_size) {
      waited = WaitFrame(deadline, &frame);
      if (!waited) {
        return waited << " (body: " << out->body.size() << " of " << body_size << " bytes)";
      }
      if (frame.frame_type != AMQP_FRAME_BODY || frame.channel != channel) {
        return ::testing::AssertionFailure()
               << "expected a body frame on channel " << channel << ", got frame type "
               << int{frame.frame_type} << " on channel " << frame.channel;
      }
      out->body.append(ToString(frame.payload.body_fragment));
    }
    if (out->body.size() != body_size) {
      return ::testing::AssertionFailure()
             << "body of " << out->body.size() << " bytes, header said " << body_size;
    }
    return ::testing::AssertionSuccess();
  }

  amqp_connection_state_t state_ = nullptr;
  uint32_t frame_max_ = 131072;
  bool cancel_notify_ = true;
  bool logged_in_ = false;
  amqp_rpc_reply_t last_login_reply_{};
  std::map<uint16_t, uint64_t> confirmed_;  // per channel: publishes confirmed so far
  int confirm_frames_ = 0;
  int last_wait_status_ = AMQP_STATUS_OK;  // of the last amqp_simple_wait_frame_noblock
};

// Starts a broker on 127.0.0.1 and a free port before each test and stops it after.
// Broker logging goes to stderr at the level in WARREN_TEST_LOG_LEVEL (default: error).
class BrokerFixture : public ::testing::Test {
 protected:
  // Override to change the configuration before the broker starts.
  virtual void Configure(server::Config* /*config*/) {}

  // Override to give the broker a RocksDB store (config.data_dir is then a fresh directory,
  // removed at the end of the test).
  virtual bool WithStore() const { return false; }

  void SetUp() override {
    StartWatchdog();
    const char* level = std::getenv("WARREN_TEST_LOG_LEVEL");
    spdlog::set_level(spdlog::level::from_str(level != nullptr ? level : "error"));

    config_.amqp_port = 0;
    config_.bind_address = "127.0.0.1";
    if (WithStore()) {
      char dir[] = "/tmp/warren-test-XXXXXX";
      ASSERT_NE(mkdtemp(dir), nullptr);
      config_.data_dir = dir;
    }
    Configure(&config_);
    StartBroker();
  }

  void TearDown() override {
    StopBroker();
    if (WithStore()) std::filesystem::remove_all(config_.data_dir);
    StopWatchdog();
  }

  // Starts the broker (after StopBroker: again, on the same port and store).
  void StartBroker() {
    io_ = std::make_unique<boost::asio::io_context>(1);
    if (WithStore()) {
      const amqp::Status opened = storage::RocksStore::Open(
          *io_, {config_.data_dir, config_.fsync, static_cast<size_t>(config_.queue_memory_budget)},
          &store_);
      ASSERT_TRUE(opened.ok()) << opened.ToString();
    }
    broker_ = std::make_unique<server::Broker>(*io_, config_);
    if (store_) {
      server::RecoveryStats stats;
      const amqp::Status recovered = broker_->Recover(store_.get(), &stats);
      ASSERT_TRUE(recovered.ok()) << recovered.ToString();
    }
    const amqp::Status listening = broker_->Listen();
    ASSERT_TRUE(listening.ok()) << listening.ToString();
    port_ = broker_->amqp_port();
    config_.amqp_port = port_;
    loop_ = std::thread([this] { io_->run(); });
  }

  // Shuts the broker down (closing every connection) and joins its thread. Idempotent.
  void StopBroker() {
    if (loop_.joinable()) {
      boost::asio::post(*io_, [this] { broker_->Shutdown([this] { io_->stop(); }); });
      loop_.join();
    }
    broker_.reset();
    store_.reset();
    io_.reset();
  }

  // True if the broker's loop thread is still running and answers a posted task.
  bool BrokerResponds(Millis timeout = kEventTimeout) {
    if (!loop_.joinable() || io_->stopped()) return false;
    auto answered = std::make_shared<std::promise<void>>();
    std::future<void> done = answered->get_future();
    boost::asio::post(*io_, [answered] { answered->set_value(); });
    return done.wait_for(timeout) == std::future_status::ready;
  }

  uint16_t port() const { return port_; }
  // The running broker; touch it only on its loop (post to broker().io()).
  server::Broker& broker() { return *broker_; }

  // Runs `task` on the broker's loop (where broker state may be touched) and waits for it.
  void OnBroker(const std::function<void(server::Broker&)>& task) {
    auto finished = std::make_shared<std::promise<void>>();
    std::future<void> done = finished->get_future();
    boost::asio::post(*io_, [this, &task, finished] {
      task(*broker_);
      finished->set_value();
    });
    ASSERT_EQ(done.wait_for(kEventTimeout), std::future_status::ready);
  }

  // Connects `client` to the broker as guest and opens channel 1.
  ::testing::AssertionResult ConnectWithChannel(Client* client) {
    auto connected = client->Connect(port_);
    if (!connected) return connected;
    return client->OpenChannel(1);
  }

 private:
  void StartWatchdog() {
    watchdog_stop_ = false;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "." + info->name();
    watchdog_ = std::thread([this, name] {
      std::unique_lock lock(watchdog_mutex_);
      if (!watchdog_cv_.wait_for(lock, kTestDeadline, [this] { return watchdog_stop_; })) {
        std::fprintf(stderr, "%s: still running after %lld ms; aborting the run\n", name.c_str(),
                     static_cast<long long>(kTestDeadline.count()));
        std::abort();
      }
    });
  }

  void StopWatchdog() {
    {
      std::lock_guard lock(watchdog_mutex_);
      watchdog_stop_ = true;
    }
    watchdog_cv_.notify_one();
    if (watchdog_.joinable()) watchdog_.join();
  }

  server::Config config_;
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<storage::RocksStore> store_;
  std::unique_ptr<server::Broker> broker_;
  std::thread loop_;
  uint16_t port_ = 0;

  std::thread watchdog_;
  std::mutex watchdog_mutex_;
  std::condition_variable watchdog_cv_;
  bool watchdog_stop_ = false;
};

}  // namespace warren::test
