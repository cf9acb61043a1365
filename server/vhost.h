// VirtualHost: a namespace of exchanges and queues (AMQP's virtual host).

#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "server/exchange.h"
#include "server/queue.h"
#include "server/store.h"

namespace warren::server {

class Broker;
class Connection;

class VirtualHost {
 public:
  // Declares the default exchange and the predeclared amq.* exchanges.
  VirtualHost(Broker* broker, std::string name);
  ~VirtualHost();
  VirtualHost(const VirtualHost&) = delete;
  VirtualHost& operator=(const VirtualHost&) = delete;

  const std::string& name() const { return name_; }
  Broker* broker() const { return broker_; }

  // From now on, durable exchanges, queues and bindings are written to `store` as they
  // are added and deleted, and every new queue gets an id there. Entities restored at
  // start-up are added before this is called, so that they are not written back.
  void AttachStore(Store* store) { store_ = store; }

  Exchange* FindExchange(std::string_view name) const;
  Queue* FindQueue(std::string_view name) const;

  // Creates an exchange or queue; the name must not be in use.
  Exchange* AddExchange(const std::string& name, ExchangeType type, ExchangeOptions options);
  Queue* AddQueue(const std::string& name, QueueOptions options);

  // Adds or removes a binding from `source` (false if it was there already / was not).
  // Bindings change only through these, so that topology_version() sees every change.
  bool Bind(Exchange* source, Binding binding);
  bool Unbind(Exchange* source, const Binding& binding);

  // Replaces `exchange`'s alternate exchange (e.g. from a policy), so that cached routes
  // see the change.
  void SetAlternateExchange(Exchange* exchange, std::string name);

  // Changes whenever an exchange, queue or binding is added or removed, or an alternate
  // exchange changes: a route computed
  // at one version holds until the version changes.
  uint64_t topology_version() const { return topology_version_; }

  // Deletes an exchange and every binding from or to it.
  void DeleteExchange(Exchange* exchange);
  // Deletes a queue: unbinds it, cancels its consumers (telling their channels) and makes
  // every channel forget its unacknowledged deliveries from it. Returns its message count.
  size_t DeleteQueue(Queue* queue);

  // Deletes `exchange` if it is auto-delete and has lost its last binding.
  void MaybeAutoDeleteExchange(Exchange* exchange);
  // Deletes `queue` if it is auto-delete and has lost its last consumer.
  void MaybeAutoDeleteQueue(Queue* queue);

  // Deletes the exclusive queues `owner` declared (its connection is closing).
  void DeleteQueuesOwnedBy(const Connection* owner);

  // Every exchange, for unbinding and listing.
  void ForEachExchange(const std::function<void(Exchange&)>& visit) const;

 private:
  // The binding's record, if both of its ends are stored.
  std::optional<StoredBinding> StoredBindingOf(const Exchange& source,
                                               const Binding& binding) const;
  void ForgetBindings(const Exchange& source, const Destination& destination);

  Broker* broker_;
  Store* store_ = nullptr;
  std::string name_;
  uint64_t topology_version_ = 1;
  NameMap<std::unique_ptr<Exchange>> exchanges_;
  NameMap<std::unique_ptr<Queue>> queues_;
};

}  // namespace warren::server
