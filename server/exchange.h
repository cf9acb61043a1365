// Exchange: a named router. Bindings attach queues (or other exchanges) to it; Route
// finds the queues a message goes to, through per-type matchers: direct (hash map),
// fanout (list), topic (trie), headers (argument matching), and through the exchange's
// alternate exchange when its own bindings match nothing.

#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "amqp/table.h"
#include "server/topic_matcher.h"

namespace warren::server {

class Exchange;
class Queue;
class VirtualHost;

enum class ExchangeType { kDirect, kFanout, kTopic, kHeaders };

// "direct", "fanout", "topic", "headers"; nullopt for any other name.
std::optional<ExchangeType> ParseExchangeType(std::string_view name);
std::string_view ExchangeTypeName(ExchangeType type);

// Hashes std::string keys so that maps can be searched with a std::string_view (a view
// into a frame) without building a std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

// A map from names to T, searchable by std::string_view.
template <class T>
using NameMap = std::unordered_map<std::string, T, StringHash, std::equal_to<>>;

// What a binding routes to: a queue, or another exchange (exchange.bind).
using Destination = std::variant<Queue*, Exchange*>;

struct Binding {
  Destination destination;
  std::string routing_key;
  amqp::FieldTable arguments;
  bool operator==(const Binding&) const = default;
};

struct ExchangeOptions {
  bool durable = false;
  bool auto_delete = false;
  bool internal = false;
  amqp::FieldTable arguments;
};

// The message headers, decoded only if a headers exchange asks for them.
class LazyHeaders {
 public:
  // `raw_properties`: the content header's property flags and list.
  explicit LazyHeaders(std::string_view raw_properties) : raw_(raw_properties) {}
  // Whether the message has a headers property at all (reads only the property flags).
  bool present() const;
  const amqp::FieldTable& Get() const;

 private:
  std::string_view raw_;
  mutable bool decoded_ = false;
  mutable amqp::FieldTable headers_;
};

// The queues a message is routed to, each once.
struct RouteResult {
  std::vector<Queue*> queues;
  std::vector<const Exchange*> visited;  // exchanges already routed through (cycles)
  bool used_headers = false;             // a headers exchange took part: the route depends on them
  // Delayed exchanges that hold the message for `delay` ms instead of routing it on (see
  // server/delayed_exchange.h). Set `delay_spent` to route a message whose delay has passed:
  // delayed exchanges then route at once.
  std::vector<const Exchange*> delayed;
  int64_t delay = 0;
  bool delay_spent = false;
};

class Exchange {
 public:
  // `delayed`: an x-delayed-message exchange, which routes as `type` (its x-delayed-type)
  // once a message's delay has passed. `vhost`: the virtual host the exchange belongs to,
  // where its alternate exchange is looked up (nullptr: none is followed).
  Exchange(std::string name, ExchangeType type, ExchangeOptions options, bool delayed = false,
           const VirtualHost* vhost = nullptr);
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  const std::string& name() const { return name_; }
  // How bindings match; for a delayed exchange, its x-delayed-type.
  ExchangeType type() const { return type_; }
  bool delayed() const { return delayed_; }
  // The type as declared: "x-delayed-message" for a delayed exchange.
  std::string_view type_name() const;
  const ExchangeOptions& options() const { return options_; }
  const std::vector<Binding>& bindings() const { return bindings_; }

  // Adds a binding; false if the same binding exists already.
  bool Bind(Binding binding);
  // Removes a binding; false if there was no such binding.
  bool Unbind(const Binding& binding);
  // Removes every binding to `destination` (it is being deleted).
  void UnbindAll(const Destination& destination);

  // The name of the exchange that takes the messages this one's bindings do not match
  // (the alternate-exchange argument; "" for none). It is looked up by name at routing
  // time, so it may be declared after this exchange, or deleted.
  const std::string& alternate_exchange() const { return alternate_exchange_; }
  // Replaces the alternate exchange (a policy may override the argument's). Call it
  // through VirtualHost::SetAlternateExchange, which tells the route caches.
  void set_alternate_exchange(std::string name);

  // Adds to *result the queues that a message with `routing_keys` (its routing key, then
  // any CC and BCC keys) and `headers` goes to, following exchange-to-exchange bindings
  // and alternate exchanges as RabbitMQ's rabbit_exchange:route does: an exchange whose
  // bindings match no destination at all passes the message to its alternate exchange.
  // Each exchange is visited once (cycles end there). A missing alternate exchange drops
  // the message, with one warning per exchange. A delayed exchange that holds the message
  // adds itself to result->delayed instead.
  void Route(std::span<const std::string_view> routing_keys, const LazyHeaders& headers,
             RouteResult* result) const;
  // Route with a single routing key.
  void Route(std::string_view routing_key, const LazyHeaders& headers, RouteResult* result) const {
    Route(std::span<const std::string_view>(&routing_key, 1), headers, result);
  }

 private:
  // Adds or removes `binding`'s entry in the type's matcher.
  void Index(const Binding& binding);
  void Unindex(const Binding& binding);
  // Routes to the destinations this exchange's bindings match; returns how many matched.
  size_t RouteBindings(std::span<const std::string_view> routing_keys, const LazyHeaders& headers,
                       RouteResult* result) const;
  void RouteToAlternate(std::span<const std::string_view> routing_keys, const LazyHeaders& headers,
                        RouteResult* result) const;
  void RouteTo(const Destination& destination, std::span<const std::string_view> routing_keys,
               const LazyHeaders& headers, RouteResult* result) const;

  std::string name_;
  ExchangeType type_;
  bool delayed_;
  ExchangeOptions options_;
  const VirtualHost* vhost_;
  std::string alternate_exchange_;
  // Whether the missing alternate exchange was logged, so that a stream of unroutable
  // messages logs it once (routing is otherwise const; the broker loop owns exchanges).
  mutable bool warned_missing_alternate_ = false;
  std::vector<Binding> bindings_;
  NameMap<std::vector<Destination>> direct_;
  TopicMatcher<Destination> topic_;
};

}  // namespace warren::server
