// Broker: the owner of all broker state (virtual hosts, users, connections) and the AMQP
// listener. Everything here runs on one event loop thread; nothing is locked.

#pragma once

#include <boost/asio.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "amqp/status.h"
#include "server/config.h"
#include "server/direct_reply_to.h"
#include "server/policy.h"
#include "server/store.h"
#include "server/vhost.h"

namespace warren::server {

class Channel;
class Connection;

struct User {
  std::string name;
  std::string password_hash;  // see server/password.h
  std::string tags;
  bool loopback_only = false;
};

// What Broker::Recover found.
struct RecoveryStats {
  size_t queues = 0;
  size_t messages = 0;
};

class Broker {
 public:
  // `io` must outlive the broker; all of the broker's work runs on it.
  Broker(boost::asio::io_context& io, Config config);
  ~Broker();

  // Restores the entities and messages `store` holds (on a first start: writes the default
  // virtual host, user and permissions to it), then writes every later change to it.
  // Call once, before Listen; `store` must outlive the broker.
  amqp::Status Recover(Store* store, RecoveryStats* stats);
  // The store, or nullptr for a broker that keeps everything in memory.
  Store* store() const { return store_; }
  // Calls `connection`->OnStoreSynced() after the store's next sync.
  void AwaitSync(std::weak_ptr<Connection> connection);

  // Opens the AMQP listener and starts accepting. Fails if the port cannot be bound.
  amqp::Status Listen();
  uint16_t amqp_port() const { return amqp_port_; }

  // Stops accepting and closes every connection with 320 CONNECTION_FORCED; calls `done`
  // when all are gone (or after a grace period).
  void Shutdown(std::function<void()> done);

  boost::asio::io_context& io() { return io_; }
  const Config& config() const { return config_; }
  // A read buffer shared by the loop's connections: each reads into it and handles the
  // frames at once (see amqp::FrameReader::Borrow).
  std::span<char> read_scratch() { return {read_scratch_.get(), kReadScratchSize}; }

  VirtualHost* FindVhost(std::string_view name) const;
  // Checks a user's password, and that a loopback-only user connects from loopback.
  // On failure *why says which (for the log, not for the client).
  const User* Authenticate(std::string_view user, std::string_view password, bool from_loopback,
                           std::string* why) const;

  // Policies (for the management API; like everything here, call on the broker's loop).
  // Adds or replaces `policy` in its virtual host after ValidatePolicy, stores it, and
  // applies it at once to the vhost's queues and exchanges. *created: it is new. Fails with
  // 404 NOT_FOUND if the vhost does not exist, or with ValidatePolicy's 406.
  amqp::Status SetPolicy(Policy policy, bool* created);
  // Deletes a policy and stops applying it; false if there was none.
  bool DeletePolicy(std::string_view vhost, std::string_view name);
  // The policies of `vhost` (every vhost's if empty), by vhost and name.
  std::vector<Policy> ListPolicies(std::string_view vhost) const;
  // A user by name, or nullptr (the management API checks passwords with Authenticate and
  // tags here).
  const User* FindUser(std::string_view name) const;

  void Register(Connection* connection) { connections_.insert(connection); }
  void Unregister(Connection* connection) { connections_.erase(connection); }
  void ForEachChannel(const std::function<void(Channel&)>& visit);

  // The channels that consume from amq.rabbitmq.reply-to, by reply address.
  DirectReplyTo& direct_reply_to() { return direct_reply_to_; }

  // A new random name such as "amq.gen-JzTY20BRgKO-HjmUJj0wLg".
  std::string GenerateName(std::string_view prefix);

 private:
  void DoAccept();
  void OnStoreSynced(uint64_t batch, const amqp::Status& status);
  // Gives recovered delayed messages back to their exchanges (dropping those of exchanges
  // that are gone), which route each when it is due.
  void RestoreDelayed(std::vector<StoredDelayed>& messages);

  static constexpr size_t kReadScratchSize = 64 * 1024;

  boost::asio::io_context& io_;
  Config config_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t amqp_port_ = 0;
  uint64_t next_connection_id_ = 1;
  std::map<std::string, std::unique_ptr<VirtualHost>, std::less<>> vhosts_;
  std::map<std::string, User, std::less<>> users_;
  Store* store_ = nullptr;
  std::vector<std::weak_ptr<Connection>> awaiting_sync_;
  std::unordered_set<Connection*> connections_;
  std::mt19937_64 random_;
  DirectReplyTo direct_reply_to_;
  bool shutting_down_ = false;
  std::unique_ptr<char[]> read_scratch_{new char[kReadScratchSize]};
};

}  // namespace warren::server
