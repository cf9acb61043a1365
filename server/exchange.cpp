// Exchange: bindings and routing by exchange type.

#include "server/exchange.h"

#include <algorithm>

#include "amqp/content.h"
#include "server/delayed_exchange.h"
#include "server/headers_match.h"

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

Exchange::Exchange(std::string name, ExchangeType type, ExchangeOptions options, bool delayed)
    : name_(std::move(name)), type_(type), delayed_(delayed), options_(std::move(options)) {}

std::string_view Exchange::type_name() const {
  return delayed_ ? kDelayedMessageType : ExchangeTypeName(type_);
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

void Exchange::Route(std::string_view routing_key, const LazyHeaders& headers,
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
  switch (type_) {
    case ExchangeType::kDirect: {
      auto it = direct_.find(routing_key);
      if (it == direct_.end()) return;
      for (const Destination& d : it->second) RouteTo(d, routing_key, headers, result);
      return;
    }
    case ExchangeType::kFanout:
      for (const Binding& b : bindings_) RouteTo(b.destination, routing_key, headers, result);
      return;
    case ExchangeType::kTopic:
      topic_.Match(routing_key,
                   [&](const Destination& d) { RouteTo(d, routing_key, headers, result); });
      return;
    case ExchangeType::kHeaders:
      result->used_headers = true;
      for (const Binding& b : bindings_) {
        if (HeadersMatch(b.arguments, headers.Get())) {
          RouteTo(b.destination, routing_key, headers, result);
        }
      }
      return;
  }
}

void Exchange::RouteTo(const Destination& destination, std::string_view routing_key,
                       const LazyHeaders& headers, RouteResult* result) const {
  if (Queue* const* queue = std::get_if<Queue*>(&destination)) {
    if (std::find(result->queues.begin(), result->queues.end(), *queue) == result->queues.end()) {
      result->queues.push_back(*queue);
    }
    return;
  }
  std::get<Exchange*>(destination)->Route(routing_key, headers, result);
}

}  // namespace warren::server
