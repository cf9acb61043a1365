// VirtualHost: entity lifetime (declare, delete, auto-delete) within one vhost.

#include "server/vhost.h"

#include "server/broker.h"
#include "server/channel.h"

namespace warren::server {

VirtualHost::VirtualHost(Broker* broker, std::string name)
    : broker_(broker), name_(std::move(name)) {
  ExchangeOptions durable;
  durable.durable = true;
  AddExchange("", ExchangeType::kDirect, durable);
  AddExchange("amq.direct", ExchangeType::kDirect, durable);
  AddExchange("amq.fanout", ExchangeType::kFanout, durable);
  AddExchange("amq.topic", ExchangeType::kTopic, durable);
  AddExchange("amq.headers", ExchangeType::kHeaders, durable);
  AddExchange("amq.match", ExchangeType::kHeaders, durable);
}

VirtualHost::~VirtualHost() = default;

Exchange* VirtualHost::FindExchange(std::string_view name) const {
  auto it = exchanges_.find(name);
  return it == exchanges_.end() ? nullptr : it->second.get();
}

Queue* VirtualHost::FindQueue(std::string_view name) const {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : it->second.get();
}

Exchange* VirtualHost::AddExchange(const std::string& name, ExchangeType type,
                                   ExchangeOptions options) {
  auto exchange = std::make_unique<Exchange>(name, type, std::move(options));
  Exchange* raw = exchange.get();
  exchanges_[name] = std::move(exchange);
  ++topology_version_;
  return raw;
}

Queue* VirtualHost::AddQueue(const std::string& name, QueueOptions options) {
  auto queue = std::make_unique<Queue>(this, name, std::move(options));
  Queue* raw = queue.get();
  queues_[name] = std::move(queue);
  ++topology_version_;
  return raw;
}

bool VirtualHost::Bind(Exchange* source, Binding binding) {
  ++topology_version_;
  return source->Bind(std::move(binding));
}

bool VirtualHost::Unbind(Exchange* source, const Binding& binding) {
  ++topology_version_;
  return source->Unbind(binding);
}

void VirtualHost::ForEachExchange(const std::function<void(Exchange&)>& visit) const {
  for (const auto& [name, exchange] : exchanges_) visit(*exchange);
}

void VirtualHost::DeleteExchange(Exchange* exchange) {
  auto owned = exchanges_.find(exchange->name());
  if (owned == exchanges_.end()) return;
  std::unique_ptr<Exchange> doomed = std::move(owned->second);
  exchanges_.erase(owned);
  ++topology_version_;
  // Bindings to it from other exchanges; a source losing its last one may auto-delete.
  std::vector<Exchange*> sources;
  for (const auto& [name, source] : exchanges_) {
    const size_t before = source->bindings().size();
    source->UnbindAll(Destination(exchange));
    if (source->bindings().size() != before) sources.push_back(source.get());
  }
  for (Exchange* source : sources) MaybeAutoDeleteExchange(source);
}

size_t VirtualHost::DeleteQueue(Queue* queue) {
  auto owned = queues_.find(queue->name());
  if (owned == queues_.end()) return 0;
  std::unique_ptr<Queue> doomed = std::move(owned->second);
  queues_.erase(owned);
  ++topology_version_;
  const size_t messages = doomed->message_count();

  std::vector<Exchange*> sources;
  for (const auto& [name, exchange] : exchanges_) {
    const size_t before = exchange->bindings().size();
    exchange->UnbindAll(Destination(queue));
    if (exchange->bindings().size() != before) sources.push_back(exchange.get());
  }
  broker_->ForEachChannel([queue](Channel& channel) { channel.OnQueueDeleted(queue); });
  for (Exchange* source : sources) MaybeAutoDeleteExchange(source);
  return messages;
}

void VirtualHost::DeleteQueuesOwnedBy(const Connection* owner) {
  std::vector<Queue*> owned;
  for (const auto& [name, queue] : queues_) {
    if (queue->options().owner == owner) owned.push_back(queue.get());
  }
  for (Queue* queue : owned) DeleteQueue(queue);
}

void VirtualHost::MaybeAutoDeleteExchange(Exchange* exchange) {
  if (exchange->options().auto_delete && exchange->bindings().empty()) DeleteExchange(exchange);
}

void VirtualHost::MaybeAutoDeleteQueue(Queue* queue) {
  if (queue->options().auto_delete && queue->has_had_consumers() && queue->consumer_count() == 0) {
    DeleteQueue(queue);
  }
}

}  // namespace warren::server
