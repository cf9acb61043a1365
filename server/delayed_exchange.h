// DelayedExchange: the messages an x-delayed-message exchange holds until they are due.
//
// The interface is that of RabbitMQ's community plugin rabbitmq-delayed-message-exchange:
// the exchange is declared with type "x-delayed-message" and the required argument
// "x-delayed-type" (the type it routes as), and a message published with a positive
// integer "x-delay" header (milliseconds) is held that long, then routed as an exchange of
// x-delayed-type with the delayed exchange's bindings would route it. Without a positive
// delay the message is routed at once. The header stays on the delivered message.
//
// Unlike the plugin: delays are 64-bit (no 49-day cap), and a persistent message held by a
// durable exchange is on disk before its publisher confirm, survives a restart or crash,
// and is routed at its time, or at once if that passed while the broker was down.
//
// Messages are kept ordered by due time (FIFO for equal times) under one timer per
// exchange, armed for the earliest. Their bodies stay in memory (one copy, shared with the
// store's pending write and later with the queues).

#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "amqp/status.h"
#include "amqp/table.h"
#include "server/clock.h"
#include "server/exchange.h"
#include "server/message.h"
#include "server/store.h"

namespace warren::server {

inline constexpr std::string_view kDelayedMessageType = "x-delayed-message";

// The message's delay in milliseconds from its "x-delay" header, as the plugin reads it:
// integers as they are, floats and decimals truncated, strings parsed as decimal integers.
// 0 when there is no usable header; negative values are returned as they are (no delay).
int64_t DelayOf(const amqp::FieldTable& headers);

// The x-delayed-type argument of a delayed exchange being declared: 406 if it is missing or
// not a string, 503 if it names no exchange type Warren has.
amqp::Status DelayedTypeOf(const amqp::FieldTable& arguments, ExchangeType* type);

class DelayedExchange {
 public:
  // Holds messages for `exchange`, which must be delayed and outlive this object, in the
  // virtual host named `vhost`. `store` may be nullptr (nothing is kept on disk). Timers run
  // on `io`.
  DelayedExchange(boost::asio::io_context& io, Store* store, std::string vhost,
                  const Exchange* exchange);
  DelayedExchange(const DelayedExchange&) = delete;
  DelayedExchange& operator=(const DelayedExchange&) = delete;

  // Holds `message` for `delay_ms` (> 0) milliseconds. A persistent message held by a
  // durable exchange is written to the store; returns whether it was (its publisher
  // confirm must then wait for the store's sync).
  bool Hold(MessageRef message, int64_t delay_ms);
  // Holds a message read back from the store at start-up; it is routed when `due` comes,
  // or at the next turn of the loop if that has passed.
  void Restore(int64_t due, uint64_t seq, MessageRef message);
  // The exchange is being deleted: forgets every held message, and the store's copies.
  void Drop();

  // How many messages are held.
  size_t size() const { return held_.size(); }

  // The longest the timer waits at once: a far-away due time is approached in steps, so
  // that no timer duration overflows and wall-clock changes are noticed.
  static constexpr int64_t kMaxTimerMs = 60 * 60 * 1000;

 private:
  struct Key {
    int64_t due;
    uint64_t seq;
    auto operator<=>(const Key&) const = default;
  };
  struct Held {
    MessageRef message;
    bool stored;  // has a copy in the store
  };

  // Sets the timer for the earliest held message, if it is not set for that already.
  void Arm();
  void OnTimer();
  // Routes a due message as the exchange's x-delayed-type would and enqueues it; forgets
  // its stored copy in the same batch as the queues' writes.
  void Release(const Key& key, const Held& held);

  Store* store_;
  std::string vhost_;
  const Exchange* exchange_;
  std::map<Key, Held> held_;
  uint64_t next_seq_ = 1;
  boost::asio::steady_timer timer_;
  bool armed_ = false;
  int64_t armed_until_ = 0;  // wall-clock time the armed timer fires at
  // Lets a timer completion that runs after this object was destroyed see that it is gone.
  std::shared_ptr<DelayedExchange*> alive_ = std::make_shared<DelayedExchange*>(this);
};

}  // namespace warren::server
