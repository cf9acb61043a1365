// DelayedExchange: x-delay parsing, x-delayed-type validation, and the ordered, timed hold.

#include "server/delayed_exchange.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <type_traits>
#include <variant>

#include "server/enqueue_routed.h"

namespace warren::server {

namespace {

// A float truncated towards zero and clamped to int64's range (a cast alone would be
// undefined beyond it).
int64_t Truncate(double value) {
  if (std::isnan(value)) return 0;
  constexpr double kMax = 9.2e18;
  return static_cast<int64_t>(std::clamp(std::trunc(value), -kMax, kMax));
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return std::numeric_limits<int64_t>::max();
  return sum;
}

}  // namespace

int64_t DelayOf(const amqp::FieldTable& headers) {
  const amqp::FieldValue* value = headers.Find("x-delay");
  if (value == nullptr) return 0;
  return std::visit(
      [](const auto& v) -> int64_t {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          return 0;  // the plugin accepts integer types only, not booleans
        } else if constexpr (std::is_integral_v<T>) {
          return static_cast<int64_t>(v);
        } else if constexpr (std::is_floating_point_v<T>) {
          return Truncate(v);
        } else if constexpr (std::is_same_v<T, amqp::Decimal>) {
          return Truncate(v.value / std::pow(10.0, v.scale));
        } else if constexpr (std::is_same_v<T, std::string>) {
          int64_t parsed = 0;
          const char* end = v.data() + v.size();
          const auto [at, error] = std::from_chars(v.data(), end, parsed);
          return error == std::errc() && at == end ? parsed : 0;
        } else {
          return 0;
        }
      },
      static_cast<const amqp::FieldVariant&>(*value));
}

amqp::Status DelayedTypeOf(const amqp::FieldTable& arguments, ExchangeType* type) {
  const amqp::FieldValue* value = arguments.Find("x-delayed-type");
  const std::string* name = value != nullptr ? std::get_if<std::string>(value) : nullptr;
  if (name == nullptr) {
    // The plugin's text, word for word.
    return amqp::Status::Error(
        amqp::ReplyCode::kPreconditionFailed,
        "Invalid argument, 'x-delayed-type' must bean existing exchnage type");
  }
  const auto parsed = ParseExchangeType(*name);
  if (!parsed) {
    return amqp::Status::Error(amqp::ReplyCode::kCommandInvalid,
                               "invalid exchange type '" + *name + "'");
  }
  *type = *parsed;
  return amqp::Status::Ok();
}

DelayedExchange::DelayedExchange(boost::asio::io_context& io, Store* store, std::string vhost,
                                 const Exchange* exchange)
    : store_(store), vhost_(std::move(vhost)), exchange_(exchange), timer_(io) {}

bool DelayedExchange::Hold(MessageRef message, int64_t delay_ms) {
  const Key key{SaturatingAdd(NowMs(), delay_ms), next_seq_++};
  const bool stored = store_ != nullptr && exchange_->options().durable && message->persistent();
  if (stored) store_->PutDelayed(vhost_, exchange_->name(), key.due, key.seq, *message);
  held_.emplace(key, Held{std::move(message), stored});
  Arm();
  return stored;
}

void DelayedExchange::Restore(int64_t due, uint64_t seq, MessageRef message) {
  next_seq_ = std::max(next_seq_, seq + 1);
  held_.emplace(Key{due, seq}, Held{std::move(message), store_ != nullptr});
  Arm();
}

void DelayedExchange::Drop() {
  const bool any_stored =
      std::any_of(held_.begin(), held_.end(), [](const auto& h) { return h.second.stored; });
  if (any_stored) store_->RemoveDelayedExchange(vhost_, exchange_->name());
  held_.clear();
  timer_.cancel();
  armed_ = false;
}

void DelayedExchange::Arm() {
  if (held_.empty()) return;
  const int64_t due = held_.begin()->first.due;
  if (armed_ && armed_until_ <= due) return;
  const int64_t now = NowMs();
  const int64_t wait = std::clamp<int64_t>(due - now, 0, kMaxTimerMs);
  armed_ = true;
  armed_until_ = now + wait;
  // Re-arming cancels the earlier wait (its handler sees operation_aborted, or, if it had
  // completed already, finds nothing more due than this wait will).
  timer_.expires_after(std::chrono::milliseconds(wait));
  // A wait that completed just before the exchange was deleted still runs, without an
  // error: `alive` tells it whether this object is still there.
  timer_.async_wait(
      [alive = std::weak_ptr<DelayedExchange*>(alive_)](const boost::system::error_code& ec) {
        const auto self = alive.lock();
        if (ec != boost::asio::error::operation_aborted && self) (*self)->OnTimer();
      });
}

void DelayedExchange::OnTimer() {
  armed_ = false;
  const int64_t now = NowMs();
  while (!held_.empty() && held_.begin()->first.due <= now) {
    auto node = held_.extract(held_.begin());
    Release(node.key(), node.mapped());
  }
  Arm();
}

void DelayedExchange::Release(const Key& key, const Held& held) {
  const Message& message = *held.message;
  RouteResult result;
  result.delay_spent = true;
  exchange_->Route(message.routing_key(), LazyHeaders(message.properties()), &result);
  EnqueueRouted(store_, held.message, result.queues);
  if (held.stored) store_->RemoveDelayed(vhost_, exchange_->name(), key.due, key.seq);
}

}  // namespace warren::server
