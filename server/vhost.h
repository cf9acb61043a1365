// VirtualHost: a namespace of exchanges and queues (AMQP's virtual host).

#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "server/exchange.h"
#include "server/queue.h"
#include "server/store.h"

namespace warren::server {

class Broker;
class Connection;
class DelayedExchange;

class VirtualHost {
 public:
  // Declares the default exchange and the predeclared amq.* exchanges.
  VirtualHost(Broker* broker, std::string name);
  ~VirtualHost();
  VirtualHost(const VirtualHost&) = delete;
  VirtualHost& operator=(const VirtualHost&) = delete;

  const std::string& name() const { return name_; }
  Broker* broker() const { return broker_; }
  // The broker's event loop, or nullptr for a vhost without a broker (tests).
  boost::asio::io_context* io() const;

  // From now on, durable exchanges, queues and bindings are written to `store` as they
  // are added and deleted, and every new queue gets an id there. Entities restored at
  // start-up are added before this is called, so that they are not written back.
  void AttachStore(Store* store) { store_ = store; }

  Exchange* FindExchange(std::string_view name) const;
  Queue* FindQueue(std::string_view name) const;
  // The messages a delayed exchange of this vhost holds; nullptr if `exchange` is not one.
  DelayedExchange* FindDelayed(const Exchange* exchange) const;

  // Creates an exchange or queue; the name must not be in use. `delayed`: an
  // x-delayed-message exchange routing as `type` (see server/delayed_exchange.h).
  Exchange* AddExchange(const std::string& name, ExchangeType type, ExchangeOptions options,
                        bool delayed = false);
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

  // Dead-letters `message`, which died in `queue` for `reason`, to the queue's dead-letter
  // exchange (see server/dead_letter.h). Republishing happens on the next loop turn, so that
  // a queue dead-lettering never re-enters itself or the channel that caused it.
  void DeadLetter(const Queue& queue, DeathReason reason, MessageRef message);

  // Adds or replaces a validated policy (see ValidatePolicy), writes it to the store when one
  // is attached, and applies the vhost's policies again to every queue and exchange.
  // Returns true if it is new.
  bool PutPolicy(Policy policy);
  // Removes a policy the same way; false if there was none.
  bool RemovePolicy(std::string_view name);
  const PolicySet& policies() const { return policies_; }

  // Every exchange, for unbinding and listing.
  void ForEachExchange(const std::function<void(Exchange&)>& visit) const;

 private:
  // The binding's record, if both of its ends are stored.
  std::optional<StoredBinding> StoredBindingOf(const Exchange& source,
                                               const Binding& binding) const;
  void ForgetBindings(const Exchange& source, const Destination& destination);
  // Applies the policies to every queue and exchange (they changed).
  void ApplyPolicies();
  // Gives `exchange` the alternate exchange its policy names, unless its own
  // alternate-exchange argument does (the argument wins, as in RabbitMQ).
  void ApplyPolicy(Exchange* exchange);
  // Republishes the dead letters gathered since the last call.
  void PublishDeadLetters();

  // A dead-lettered message waiting to be republished.
  struct PendingDeadLetter {
    std::string exchange;
    std::vector<std::string> routing_keys;
    DeathReason reason;
    MessageRef message;
  };

  Broker* broker_;
  Store* store_ = nullptr;
  std::string name_;
  uint64_t topology_version_ = 1;
  NameMap<std::unique_ptr<Exchange>> exchanges_;
  NameMap<std::unique_ptr<Queue>> queues_;
  PolicySet policies_;
  std::vector<PendingDeadLetter> dead_letters_;
  // Lets a posted PublishDeadLetters see that the vhost is gone.
  std::shared_ptr<VirtualHost*> alive_ = std::make_shared<VirtualHost*>(this);
  std::unordered_map<const Exchange*, std::unique_ptr<DelayedExchange>> delayed_;
};

}  // namespace warren::server
