// Broker: listener, users, virtual hosts, connection registry, shutdown.

#include "server/broker.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "server/connection.h"

namespace warren::server {

using amqp::ReplyCode;
using amqp::Status;
using boost::asio::ip::tcp;

Broker::Broker(boost::asio::io_context& io, Config config)
    : io_(io), config_(std::move(config)), acceptor_(io), random_(std::random_device{}()) {
  vhosts_[config_.default_vhost] = std::make_unique<VirtualHost>(this, config_.default_vhost);
  users_[config_.default_user] =
      User{config_.default_user, config_.default_pass, config_.default_user_loopback_only};
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

VirtualHost* Broker::FindVhost(std::string_view name) const {
  auto it = vhosts_.find(name);
  return it == vhosts_.end() ? nullptr : it->second.get();
}

const User* Broker::Authenticate(std::string_view user, std::string_view password,
                                 bool from_loopback, std::string* why) const {
  auto it = users_.find(user);
  if (it == users_.end() || it->second.password != password) {
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
