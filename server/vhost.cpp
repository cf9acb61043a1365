// VirtualHost: entity lifetime (declare, delete, auto-delete) within one vhost.

#include "server/vhost.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>

#include "server/broker.h"
#include "server/channel.h"
#include "server/delayed_exchange.h"
#include "server/enqueue_routed.h"

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

boost::asio::io_context* VirtualHost::io() const {
  return broker_ != nullptr ? &broker_->io() : nullptr;
}

Exchange* VirtualHost::FindExchange(std::string_view name) const {
  auto it = exchanges_.find(name);
  return it == exchanges_.end() ? nullptr : it->second.get();
}

Queue* VirtualHost::FindQueue(std::string_view name) const {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : it->second.get();
}

DelayedExchange* VirtualHost::FindDelayed(const Exchange* exchange) const {
  auto it = delayed_.find(exchange);
  return it == delayed_.end() ? nullptr : it->second.get();
}

Exchange* VirtualHost::AddExchange(const std::string& name, ExchangeType type,
                                   ExchangeOptions options, bool delayed) {
  auto exchange = std::make_unique<Exchange>(name, type, std::move(options), delayed, this);
  Exchange* raw = exchange.get();
  const ExchangeOptions& o = raw->options();
  if (store_ != nullptr && o.durable) {
    store_->PutExchange(StoredExchange{name_, name, std::string(raw->type_name()), o.auto_delete,
                                       o.internal, o.arguments});
  }
  if (!policies_.empty()) ApplyPolicy(raw);
  if (delayed) {
    // The broker's store, not store_: delayed messages are restored before AttachStore.
    delayed_[raw] = std::make_unique<DelayedExchange>(broker_->io(), broker_->store(), name_, raw);
  }
  exchanges_[name] = std::move(exchange);
  ++topology_version_;
  return raw;
}

Queue* VirtualHost::AddQueue(const std::string& name, QueueOptions options) {
  options.type = QueueTypeOf(options.arguments);
  auto queue = std::make_unique<Queue>(this, name, std::move(options));
  Queue* raw = queue.get();
  if (store_ != nullptr) {
    const QueueOptions& o = raw->options();
    const bool durable = o.durable && !o.exclusive;
    raw->AttachStore(store_, store_->NewQueueId(), durable);
    if (durable)
      store_->PutQueue(StoredQueue{name_, name, raw->store_id(), o.auto_delete, o.arguments});
  }
  queues_[name] = std::move(queue);
  ++topology_version_;
  if (!policies_.empty()) raw->ApplyPolicy(policies_.For(/*queue=*/true, name));
  return raw;
}

void VirtualHost::SetAlternateExchange(Exchange* exchange, std::string name) {
  exchange->set_alternate_exchange(std::move(name));
  ++topology_version_;
}

bool VirtualHost::Bind(Exchange* source, Binding binding) {
  ++topology_version_;
  std::optional<StoredBinding> stored = StoredBindingOf(*source, binding);
  if (!source->Bind(std::move(binding))) return false;
  if (stored) store_->PutBinding(*stored);
  return true;
}

bool VirtualHost::Unbind(Exchange* source, const Binding& binding) {
  ++topology_version_;
  if (!source->Unbind(binding)) return false;
  if (auto stored = StoredBindingOf(*source, binding)) store_->DeleteBinding(*stored);
  return true;
}

std::optional<StoredBinding> VirtualHost::StoredBindingOf(const Exchange& source,
                                                          const Binding& binding) const {
  if (store_ == nullptr || !source.options().durable || source.name().empty()) return std::nullopt;
  StoredBinding stored;
  if (auto* const* queue = std::get_if<Queue*>(&binding.destination)) {
    if (!(*queue)->stores_messages()) return std::nullopt;
    stored.destination = (*queue)->name();
  } else {
    const Exchange* exchange = std::get<Exchange*>(binding.destination);
    if (!exchange->options().durable) return std::nullopt;
    stored.destination = exchange->name();
    stored.to_exchange = true;
  }
  stored.vhost = name_;
  stored.source = source.name();
  stored.routing_key = binding.routing_key;
  stored.arguments = binding.arguments;
  return stored;
}

void VirtualHost::ForgetBindings(const Exchange& source, const Destination& destination) {
  if (store_ == nullptr) return;
  for (const Binding& b : source.bindings()) {
    if (b.destination != destination) continue;
    if (auto stored = StoredBindingOf(source, b)) store_->DeleteBinding(*stored);
  }
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
  if (auto delayed = delayed_.find(exchange); delayed != delayed_.end()) {
    delayed->second->Drop();
    delayed_.erase(delayed);
  }
  if (store_ != nullptr && exchange->options().durable) {
    for (const Binding& b : exchange->bindings()) {
      if (auto stored = StoredBindingOf(*exchange, b)) store_->DeleteBinding(*stored);
    }
    store_->DeleteExchange(name_, exchange->name());
  }
  // Bindings to it from other exchanges; a source losing its last one may auto-delete.
  std::vector<Exchange*> sources;
  for (const auto& [name, source] : exchanges_) {
    ForgetBindings(*source, Destination(exchange));
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
  doomed->Delete();

  std::vector<Exchange*> sources;
  for (const auto& [name, exchange] : exchanges_) {
    ForgetBindings(*exchange, Destination(queue));
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

namespace warren::server {

bool VirtualHost::PutPolicy(Policy policy) {
  if (store_ != nullptr) store_->PutPolicy(policy);
  const bool created = policies_.Put(std::move(policy));
  ApplyPolicies();
  return created;
}

bool VirtualHost::RemovePolicy(std::string_view name) {
  if (!policies_.Remove(name)) return false;
  if (store_ != nullptr) store_->DeletePolicy(name_, name);
  ApplyPolicies();
  return true;
}

void VirtualHost::ApplyPolicies() {
  // Applying may delete a queue (x-expires now past): collect first.
  std::vector<Queue*> queues;
  for (const auto& [name, queue] : queues_) queues.push_back(queue.get());
  for (Queue* queue : queues) queue->ApplyPolicy(policies_.For(/*queue=*/true, queue->name()));
  for (const auto& [name, exchange] : exchanges_) ApplyPolicy(exchange.get());
}

void VirtualHost::ApplyPolicy(Exchange* exchange) {
  const amqp::FieldValue* own = exchange->options().arguments.Find("alternate-exchange");
  if (own != nullptr && std::holds_alternative<std::string>(*own)) return;
  std::string alternate;
  if (const Policy* policy = policies_.For(/*queue=*/false, exchange->name())) {
    auto it = policy->definition.find("alternate-exchange");
    if (it != policy->definition.end() && it->is_string()) alternate = it->get<std::string>();
  }
  if (alternate != exchange->alternate_exchange()) {
    SetAlternateExchange(exchange, std::move(alternate));
  }
}

void VirtualHost::DeadLetter(const Queue& queue, DeathReason reason, MessageRef message) {
  const QueueSettings& settings = queue.settings();
  if (!settings.dead_letter_exchange) return;
  const int64_t now = NowMs() / 1000;
  DeadLettered letter =
      MakeDeadLetter(*message, reason, queue.name(), *settings.dead_letter_exchange,
                     settings.dead_letter_routing_key, static_cast<uint64_t>(now));
  const bool first = dead_letters_.empty();
  dead_letters_.push_back(PendingDeadLetter{*settings.dead_letter_exchange,
                                            std::move(letter.routing_keys), reason,
                                            std::move(letter.message)});
  if (!first) return;
  if (io() == nullptr) {
    PublishDeadLetters();
    return;
  }
  boost::asio::post(*io(), [alive = std::weak_ptr<VirtualHost*>(alive_)] {
    if (auto vhost = alive.lock()) (*vhost)->PublishDeadLetters();
  });
}

void VirtualHost::PublishDeadLetters() {
  // Republishing may dead-letter more (a full queue dropping its head): those wait for the
  // next turn, so that a chain of dead-letter exchanges cannot recurse.
  std::vector<PendingDeadLetter> letters = std::move(dead_letters_);
  dead_letters_.clear();
  RouteResult result;
  for (PendingDeadLetter& letter : letters) {
    Exchange* exchange = FindExchange(letter.exchange);
    if (exchange == nullptr) {
      spdlog::debug("dead-letter exchange '{}' in vhost '{}' does not exist; message dropped",
                    letter.exchange, name_);
      continue;
    }
    const LazyHeaders headers(letter.message->properties());
    result.queues.clear();
    result.visited.clear();
    if (!letter.exchange.empty()) {
      // All keys in one walk, so that an alternate exchange is used only if none matched.
      const std::vector<std::string_view> keys(letter.routing_keys.begin(),
                                               letter.routing_keys.end());
      exchange->Route(keys, headers, &result);
    } else {
      // The default exchange routes to the queues named by the keys.
      for (const std::string& key : letter.routing_keys) {
        Queue* queue = FindQueue(key);
        if (queue != nullptr &&
            std::find(result.queues.begin(), result.queues.end(), queue) == result.queues.end()) {
          result.queues.push_back(queue);
        }
      }
    }
    // RabbitMQ drops a message for a queue it already died in, unless a rejection broke
    // the cycle.
    std::erase_if(result.queues, [&](const Queue* target) {
      return IsDeathCycle(headers.Get(), letter.reason, target->name());
    });
    EnqueueRouted(store_, letter.message, result.queues);
  }
}

}  // namespace warren::server
