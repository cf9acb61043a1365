// Broker: listener, users, virtual hosts, connection registry, shutdown.

#include "server/broker.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <unordered_map>
#include <vector>

#include "server/connection.h"
#include "server/delayed_exchange.h"
#include "server/password.h"

namespace warren::server {

using amqp::ReplyCode;
using amqp::Status;
using boost::asio::ip::tcp;

Broker::Broker(boost::asio::io_context& io, Config config)
    : io_(io), config_(std::move(config)), acceptor_(io), random_(std::random_device{}()) {
  vhosts_[config_.default_vhost] = std::make_unique<VirtualHost>(this, config_.default_vhost);
  users_[config_.default_user] = User{config_.default_user, HashPassword(config_.default_pass),
                                      "administrator", config_.default_user_loopback_only};
}

Broker::~Broker() = default;

Status Broker::Listen() {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(config_.bind_address, ec);
  if (ec)
    return Status::Error(ReplyCode::kInternalError, "bad bind address " + config_.bind_address);
  const tcp::endpoint endpoint(address, config_.amqp_port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(tcp::socket::max_listen_connections, ec);
  if (ec) {
    return Status::Error(ReplyCode::kInternalError, "cannot listen on " + config_.bind_address +
                                                        ":" + std::to_string(config_.amqp_port) +
                                                        ": " + ec.message());
  }
  amqp_port_ = acceptor_.local_endpoint().port();
  DoAccept();
  return Status::Ok();
}

void Broker::DoAccept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec) {
      if (ec == boost::asio::error::operation_aborted || shutting_down_) return;
      spdlog::warn("accept failed: {}", ec.message());
    } else {
      std::make_shared<Connection>(this, std::move(socket), next_connection_id_++)->Start();
    }
    DoAccept();
  });
}

void Broker::Shutdown(std::function<void()> done) {
  shutting_down_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  const Status forced = Status::Error(ReplyCode::kConnectionForced,
                                      "broker forced connection closure with reason 'shutdown'");
  std::vector<Connection*> open(connections_.begin(), connections_.end());
  for (Connection* c : open) c->Close(forced);
  // Give clients a moment to answer close-ok; connections end on their own timers too.
  auto timer = std::make_shared<boost::asio::steady_timer>(io_);
  auto poll = std::make_shared<std::function<void(int)>>();
  *poll = [this, timer, poll, done](int tries_left) {
    if (connections_.empty() || tries_left == 0) {
      done();
      *poll = nullptr;  // break the cycle
      return;
    }
    timer->expires_after(std::chrono::milliseconds(20));
    timer->async_wait([poll, tries_left](const boost::system::error_code&) {
      if (*poll) (*poll)(tries_left - 1);
    });
  };
  (*poll)(100);
}

Status Broker::Recover(Store* store, RecoveryStats* stats) {
  RecoveredState state;
  Status s = store->Recover(&state);
  if (!s.ok()) return s;
  store_ = store;
  store_->SetSyncCallback(
      [this](uint64_t batch, const Status& status) { OnStoreSynced(batch, status); });

  if (state.vhosts.empty()) {
    // A first start: the defaults are what there is, and they are kept from now on.
    const User& user = users_.begin()->second;
    store_->PutVhost(config_.default_vhost);
    store_->PutUser(StoredUser{user.name, user.password_hash, user.tags});
    store_->PutPermission(
        StoredPermission{config_.default_vhost, config_.default_user, ".*", ".*", ".*"});
  } else if (!state.users.empty()) {
    users_.clear();  // the stored users replace the configured default
  }
  for (const std::string& name : state.vhosts) {
    if (FindVhost(name) == nullptr) vhosts_[name] = std::make_unique<VirtualHost>(this, name);
  }
  for (const StoredUser& u : state.users) {
    users_[u.name] = User{u.name, u.password_hash, u.tags,
                          config_.default_user_loopback_only && u.name == config_.default_user};
  }
  for (Policy& p : state.policies) {
    if (VirtualHost* vhost = FindVhost(p.vhost); vhost != nullptr && ValidatePolicy(p).ok()) {
      vhost->PutPolicy(std::move(p));  // before the store is attached: not written back
    }
  }
  for (const StoredExchange& e : state.exchanges) {
    VirtualHost* vhost = FindVhost(e.vhost);
    const bool delayed = e.type == kDelayedMessageType;
    std::optional<ExchangeType> type = ParseExchangeType(e.type);
    if (ExchangeType inner; delayed && DelayedTypeOf(e.arguments, &inner).ok()) type = inner;
    if (vhost == nullptr || !type || vhost->FindExchange(e.name) != nullptr) continue;
    vhost->AddExchange(e.name, *type, ExchangeOptions{true, e.auto_delete, e.internal, e.arguments},
                       delayed);
  }
  std::unordered_map<uint64_t, Queue*> by_id;
  for (const StoredQueue& q : state.queues) {
    VirtualHost* vhost = FindVhost(q.vhost);
    if (vhost == nullptr || vhost->FindQueue(q.name) != nullptr) continue;
    QueueOptions options;
    options.durable = true;
    options.auto_delete = q.auto_delete;
    options.arguments = q.arguments;
    Queue* queue = vhost->AddQueue(q.name, std::move(options));
    queue->AttachStore(store_, q.id, true);
    by_id[q.id] = queue;
  }
  for (const auto& [id, entries] : state.entries) {
    auto it = by_id.find(id);
    if (it == by_id.end()) continue;
    it->second->Restore(entries, /*all_redelivered=*/!state.clean_shutdown);
    stats->messages += entries.size();
  }
  stats->queues = by_id.size();
  for (const StoredBinding& b : state.bindings) {
    VirtualHost* vhost = FindVhost(b.vhost);
    Exchange* source = vhost != nullptr ? vhost->FindExchange(b.source) : nullptr;
    Destination destination;
    if (b.to_exchange) {
      Exchange* e = vhost != nullptr ? vhost->FindExchange(b.destination) : nullptr;
      destination = e;
      if (e == nullptr) source = nullptr;
    } else {
      Queue* q = vhost != nullptr ? vhost->FindQueue(b.destination) : nullptr;
      destination = q;
      if (q == nullptr) source = nullptr;
    }
    if (source == nullptr) {
      spdlog::warn("binding from '{}' to '{}' in vhost '{}' has a missing end; deleted", b.source,
                   b.destination, b.vhost);
      store_->DeleteBinding(b);
      continue;
    }
    vhost->Bind(source, Binding{destination, b.routing_key, b.arguments});
  }
  RestoreDelayed(state.delayed);
  for (auto& [name, vhost] : vhosts_) vhost->AttachStore(store_);
  return Status::Ok();
}

void Broker::RestoreDelayed(std::vector<StoredDelayed>& messages) {
  size_t dropped = 0;
  for (StoredDelayed& d : messages) {
    VirtualHost* vhost = FindVhost(d.vhost);
    Exchange* exchange = vhost != nullptr ? vhost->FindExchange(d.exchange) : nullptr;
    DelayedExchange* held = vhost != nullptr ? vhost->FindDelayed(exchange) : nullptr;
    if (held == nullptr) {
      store_->RemoveDelayed(d.vhost, d.exchange, d.due, d.seq);
      ++dropped;
      continue;
    }
    held->Restore(d.due, d.seq, std::move(d.message));
  }
  if (dropped != 0) spdlog::warn("dropped {} delayed messages of missing exchanges", dropped);
}

Status Broker::SetPolicy(Policy policy, bool* created) {
  VirtualHost* vhost = FindVhost(policy.vhost);
  if (vhost == nullptr) {
    return Status::Error(amqp::ReplyCode::kNotFound, "no vhost '" + policy.vhost + "'");
  }
  Status s = ValidatePolicy(policy);
  if (!s.ok()) return s;
  spdlog::info("policy '{}' set in vhost '{}' (pattern '{}', apply-to {}, priority {}): {}",
               policy.name, policy.vhost, policy.pattern, ApplyToName(policy.apply_to),
               policy.priority, policy.definition.dump());
  *created = vhost->PutPolicy(std::move(policy));
  return Status::Ok();
}

bool Broker::DeletePolicy(std::string_view vhost_name, std::string_view name) {
  VirtualHost* vhost = FindVhost(vhost_name);
  if (vhost == nullptr || !vhost->RemovePolicy(name)) return false;
  spdlog::info("policy '{}' deleted in vhost '{}'", name, vhost_name);
  return true;
}

std::vector<Policy> Broker::ListPolicies(std::string_view vhost_name) const {
  std::vector<Policy> out;
  for (const auto& [name, vhost] : vhosts_) {
    if (!vhost_name.empty() && name != vhost_name) continue;
    for (const Policy* p : vhost->policies().All()) out.push_back(*p);
  }
  return out;
}

const User* Broker::FindUser(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

void Broker::AwaitSync(std::weak_ptr<Connection> connection) {
  awaiting_sync_.push_back(std::move(connection));
}

void Broker::OnStoreSynced(uint64_t batch, const Status& status) {
  if (!status.ok()) {
    // Confirms must never cover what is not on disk, and the disk is failing: stop, as
    // RabbitMQ and databases do, rather than go on without durability.
    spdlog::critical("storage: batch {} could not be written ({}); stopping", batch, status.text());
    spdlog::default_logger()->flush();
    std::_Exit(70);
  }
  std::vector<std::weak_ptr<Connection>> waiting;
  waiting.swap(awaiting_sync_);
  for (auto& weak : waiting) {
    if (auto connection = weak.lock()) connection->OnStoreSynced();
  }
}

VirtualHost* Broker::FindVhost(std::string_view name) const {
  auto it = vhosts_.find(name);
  return it == vhosts_.end() ? nullptr : it->second.get();
}

const User* Broker::Authenticate(std::string_view user, std::string_view password,
                                 bool from_loopback, std::string* why) const {
  auto it = users_.find(user);
  if (it == users_.end() || !CheckPassword(it->second.password_hash, password)) {
    *why = "invalid credentials for user '" + std::string(user) + "'";
    return nullptr;
  }
  if (it->second.loopback_only && !from_loopback) {
    *why = "user '" + std::string(user) + "' can only connect via localhost";
    return nullptr;
  }
  return &it->second;
}

void Broker::ForEachChannel(const std::function<void(Channel&)>& visit) {
  for (Connection* c : connections_) c->ForEachChannel(visit);
}

std::string Broker::GenerateName(std::string_view prefix) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string name(prefix);
  for (int i = 0; i < 22; ++i) name.push_back(kAlphabet[random_() % 64]);
  return name;
}

}  // namespace warren::server
