// Exchange: bindings and routing by exchange type.

#include "server/exchange.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "amqp/content.h"
#include "server/delayed_exchange.h"
#include "server/headers_match.h"
#include "server/vhost.h"

namespace warren::server {

std::optional<ExchangeType> ParseExchangeType(std::string_view name) {
  if (name == "direct") return ExchangeType::kDirect;
  if (name == "fanout") return ExchangeType::kFanout;
  if (name == "topic") return ExchangeType::kTopic;
  if (name == "headers") return ExchangeType::kHeaders;
  return std::nullopt;
}

std::string_view ExchangeTypeName(ExchangeType type) {
  switch (type) {
    case ExchangeType::kDirect:
      return "direct";
    case ExchangeType::kFanout:
      return "fanout";
    case ExchangeType::kTopic:
      return "topic";
    case ExchangeType::kHeaders:
      return "headers";
  }
  return "direct";
}

bool LazyHeaders::present() const {
  if (raw_.size() < 2) return false;
  const uint16_t flags =
      static_cast<uint16_t>((static_cast<uint8_t>(raw_[0]) << 8) | static_cast<uint8_t>(raw_[1]));
  return (flags & amqp::kProperties[static_cast<size_t>(amqp::Property::kHeaders)].flag) != 0;
}

const amqp::FieldTable& LazyHeaders::Get() const {
  if (!decoded_) {
    decoded_ = true;
    amqp::Decoder dec(raw_);
    amqp::BasicProperties props;
    props.Decode(dec);
    if (dec.ok() && props.headers) headers_ = std::move(*props.headers);
  }
  return headers_;
}

Exchange::Exchange(std::string name, ExchangeType type, ExchangeOptions options, bool delayed,
                   const VirtualHost* vhost)
    : name_(std::move(name)),
      type_(type),
      delayed_(delayed),
      options_(std::move(options)),
      vhost_(vhost) {
  // exchange.declare refuses an alternate-exchange that is not a longstr.
  if (const amqp::FieldValue* ae = options_.arguments.Find("alternate-exchange")) {
    if (const auto* s = std::get_if<std::string>(&static_cast<const amqp::FieldVariant&>(*ae))) {
      alternate_exchange_ = *s;
    }
  }
}

std::string_view Exchange::type_name() const {
  return delayed_ ? kDelayedMessageType : ExchangeTypeName(type_);
}

void Exchange::set_alternate_exchange(std::string name) {
  alternate_exchange_ = std::move(name);
  warned_missing_alternate_ = false;
}

bool Exchange::Bind(Binding binding) {
  if (std::find(bindings_.begin(), bindings_.end(), binding) != bindings_.end()) return false;
  Index(binding);
  bindings_.push_back(std::move(binding));
  return true;
}

bool Exchange::Unbind(const Binding& binding) {
  auto it = std::find(bindings_.begin(), bindings_.end(), binding);
  if (it == bindings_.end()) return false;
  const Binding removed = std::move(*it);
  bindings_.erase(it);
  Unindex(removed);
  return true;
}

void Exchange::UnbindAll(const Destination& destination) {
  std::vector<Binding> removed;
  auto keep = std::stable_partition(bindings_.begin(), bindings_.end(),
                                    [&](const Binding& b) { return b.destination != destination; });
  std::move(keep, bindings_.end(), std::back_inserter(removed));
  bindings_.erase(keep, bindings_.end());
  for (const Binding& b : removed) Unindex(b);
}

void Exchange::Index(const Binding& binding) {
  switch (type_) {
    case ExchangeType::kDirect: {
      std::vector<Destination>& dests = direct_[binding.routing_key];
      if (std::find(dests.begin(), dests.end(), binding.destination) == dests.end()) {
        dests.push_back(binding.destination);
      }
      return;
    }
    case ExchangeType::kTopic:
      topic_.Add(binding.routing_key, binding.destination);
      return;
    case ExchangeType::kFanout:
    case ExchangeType::kHeaders:
      return;  // routed from bindings_ directly
  }
}

void Exchange::Unindex(const Binding& binding) {
  // Bindings that differ only in their arguments share one matcher entry: keep it while
  // another such binding remains.
  for (const Binding& b : bindings_) {
    if (b.destination == binding.destination && b.routing_key == binding.routing_key) return;
  }
  switch (type_) {
    case ExchangeType::kDirect: {
      auto it = direct_.find(binding.routing_key);
      if (it == direct_.end()) return;
      std::erase(it->second, binding.destination);
      if (it->second.empty()) direct_.erase(it);
      return;
    }
    case ExchangeType::kTopic:
      topic_.Remove(binding.routing_key, binding.destination);
      return;
    case ExchangeType::kFanout:
    case ExchangeType::kHeaders:
      return;
  }
}

void Exchange::Route(std::span<const std::string_view> routing_keys, const LazyHeaders& headers,
                     RouteResult* result) const {
  if (std::find(result->visited.begin(), result->visited.end(), this) != result->visited.end()) {
    return;
  }
  result->visited.push_back(this);
  if (delayed_) {
    result->used_headers = true;  // x-delay decides whether it routes now
    if (!result->delay_spent) {
      const int64_t delay = DelayOf(headers.Get());
      if (delay > 0) {
        result->delayed.push_back(this);
        result->delay = delay;
        return;
      }
    }
  }
  // As in RabbitMQ, a match counts even if it leads nowhere (an exchange that routes to
  // no queue, or one already visited): only an exchange that matched nothing at all uses
  // its alternate.
  if (RouteBindings(routing_keys, headers, result) == 0 && !alternate_exchange_.empty()) {
    RouteToAlternate(routing_keys, headers, result);
  }
}

size_t Exchange::RouteBindings(std::span<const std::string_view> routing_keys,
                               const LazyHeaders& headers, RouteResult* result) const {
  size_t matched = 0;
  auto route_to = [&](const Destination& d) {
    ++matched;
    RouteTo(d, routing_keys, headers, result);
  };
  switch (type_) {
    case ExchangeType::kDirect:
      for (std::string_view key : routing_keys) {
        auto it = direct_.find(key);
        if (it == direct_.end()) continue;
        for (const Destination& d : it->second) route_to(d);
      }
      break;
    case ExchangeType::kFanout:
      for (const Binding& b : bindings_) route_to(b.destination);
      break;
    case ExchangeType::kTopic:
      for (std::string_view key : routing_keys) topic_.Match(key, route_to);
      break;
    case ExchangeType::kHeaders:
      result->used_headers = true;
      for (const Binding& b : bindings_) {
        if (HeadersMatch(b.arguments, headers.Get())) route_to(b.destination);
      }
      break;
  }
  return matched;
}

void Exchange::RouteToAlternate(std::span<const std::string_view> routing_keys,
                                const LazyHeaders& headers, RouteResult* result) const {
  if (vhost_ == nullptr) return;  // an exchange outside any vhost (tests) has no alternates
  if (const Exchange* alternate = vhost_->FindExchange(alternate_exchange_)) {
    warned_missing_alternate_ = false;  // should it go missing again, say so again
    alternate->Route(routing_keys, headers, result);
    return;
  }
  if (!warned_missing_alternate_) {
    warned_missing_alternate_ = true;
    spdlog::warn(
        "alternate exchange '{}' of exchange '{}' in vhost '{}' does not exist: messages "
        "that exchange cannot route are dropped",
        alternate_exchange_, name_, vhost_->name());
  }
}

void Exchange::RouteTo(const Destination& destination,
                       std::span<const std::string_view> routing_keys, const LazyHeaders& headers,
                       RouteResult* result) const {
  if (Queue* const* queue = std::get_if<Queue*>(&destination)) {
    if (std::find(result->queues.begin(), result->queues.end(), *queue) == result->queues.end()) {
      result->queues.push_back(*queue);
    }
    return;
  }
  std::get<Exchange*>(destination)->Route(routing_keys, headers, result);
}

}  // namespace warren::server
