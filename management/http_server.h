// HttpServer: the management API's HTTP/1.1 listener (Boost.Beast), on a thread and
// io_context of its own so that slow HTTP clients never delay the broker's loop. It knows
// nothing of the broker: each request goes to a Handler, whose answer may come from any
// thread (the broker's loop, typically) and is written back on the server's own thread.
//
// Bounded: request headers and bodies have size limits, idle connections are closed, and
// connections beyond a cap are refused.

#pragma once

#include <boost/asio.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <thread>

#include "amqp/status.h"

namespace warren::management {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
// Answers a request; call it exactly once, from any thread. Calls after the server has
// stopped are ignored.
using Respond = std::function<void(Response)>;
// Called on the server's thread for each request. `from_loopback`: the peer's address is a
// loopback one (for users that may only log in from there).
using Handler = std::function<void(Request request, bool from_loopback, Respond respond)>;

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (see HttpServer::port)
  size_t header_limit = 16 * 1024;
  size_t body_limit = 1024 * 1024;
  // A connection that sends nothing (or reads nothing) for this long is closed.
  std::chrono::milliseconds idle_timeout{60000};
  size_t max_connections = 64;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Handler handler);
  // Stops the server if it is running.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket and starts the server's thread. Fails if the address cannot
  // be bound. Call once.
  amqp::Status Start();
  // The port it listens on (after Start).
  uint16_t port() const { return port_; }
  // Closes the listener and every connection, and joins the thread. Answers still to come
  // from the handler are dropped. Safe to call more than once, from any thread but the
  // server's own.
  void Stop();

  class Session;
  // What sessions and pending answers share with the server; see http_server.cpp.
  struct Shared;

 private:
  void DoAccept();
  void OnAccept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);

  HttpServerOptions options_;
  std::shared_ptr<Shared> shared_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace warren::management
