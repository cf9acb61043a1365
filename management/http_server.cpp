// HttpServer: accept -> Session: do_read -> on_read -> (the handler, on any thread) ->
// on_response -> do_write -> on_write -> do_read ..., as in Beast's async server example.
//
// Lifetimes: a session is owned by its pending socket operation, and while the handler
// works on its request by itself (self_). An answer that comes from another thread holds
// only a weak pointer to the session and reaches it through Shared::Post, which drops it
// once the server has stopped; so nothing of the server's io_context is ever owned or
// touched by another thread.

#include "management/http_server.h"

#include <boost/beast/core.hpp>
#include <mutex>
#include <optional>
#include <utility>

namespace warren::management {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using net::ip::tcp;

struct HttpServer::Shared {
  Shared(HttpServerOptions options, Handler handler)
      : options(std::move(options)), handler(std::move(handler)) {}

  // Runs `fn` on the server's thread unless the server has stopped.
  void Post(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu);
    if (open) net::post(io, std::move(fn));
  }

  const HttpServerOptions options;
  const Handler handler;
  net::io_context io{1};
  std::mutex mu;
  bool open = true;  // under mu: answers may still be posted to io
  // Server thread only: every session, to close them on Stop and to count them.
  std::list<std::weak_ptr<Session>> sessions;
};

class HttpServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Shared> shared, tcp::socket socket)
      : shared_(std::move(shared)), stream_(std::move(socket)) {
    boost::system::error_code ec;
    const tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
    from_loopback_ = !ec && peer.address().is_loopback();
  }

  void Start() { DoRead(); }

  // Ends the connection and any wait for an answer (server thread only).
  void Close() {
    self_.reset();
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  // The handler's answer to the request (server thread only).
  void OnResponse(Response response) {
    std::shared_ptr<Session> keep = std::move(self_);
    if (keep == nullptr) return;  // closed meanwhile
    DoWrite(std::move(response), keep_alive_);
  }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(shared_->options.header_limit));
    parser_->body_limit(shared_->options.body_limit);
    stream_.expires_after(shared_->options.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == http::error::body_limit)
      return DoWrite(Refusal(http::status::payload_too_large), false);
    if (ec == http::error::header_limit) {
      return DoWrite(Refusal(http::status::request_header_fields_too_large), false);
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      return Close();
    }
    if (ec) return DoWrite(Refusal(http::status::bad_request), false);
    stream_.expires_never();  // the handler's time is not the client's idleness
    Request request = parser_->release();
    keep_alive_ = request.keep_alive();
    head_ = request.method() == http::verb::head;
    self_ = shared_from_this();
    std::weak_ptr<Session> weak = self_;
    std::weak_ptr<Shared> shared = shared_;
    shared_->handler(std::move(request), from_loopback_, [weak, shared](Response response) {
      auto s = shared.lock();
      if (s == nullptr) return;
      auto boxed = std::make_shared<Response>(std::move(response));
      s->Post([weak, boxed] {
        if (auto session = weak.lock()) session->OnResponse(std::move(*boxed));
      });
    });
  }

  void DoWrite(Response response, bool keep_alive) {
    response.keep_alive(keep_alive);
    // A 204 carries no Content-Length at all (RFC 9110 8.6).
    if (response.result() != http::status::no_content) response.prepare_payload();
    if (head_) {
      // A HEAD answer says how long the GET body would be and sends none of it.
      const size_t length = response.body().size();
      response.body().clear();
      response.content_length(length);
    }
    response_ = std::make_shared<Response>(std::move(response));
    stream_.expires_after(shared_->options.idle_timeout);
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this(), keep_alive));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, size_t) {
    response_.reset();
    if (ec || !keep_alive) return Close();
    DoRead();
  }

  static Response Refusal(http::status status) {
    Response response(status, 11);
    return response;
  }

  std::shared_ptr<Shared> shared_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> response_;  // the one being written
  std::shared_ptr<Session> self_;       // set while the handler works on a request
  bool from_loopback_ = false;
  bool keep_alive_ = false;
  bool head_ = false;
};

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : options_(options),
      shared_(std::make_shared<Shared>(std::move(options), std::move(handler))),
      acceptor_(shared_->io) {}

HttpServer::~HttpServer() { Stop(); }

amqp::Status HttpServer::Start() {
  boost::system::error_code ec;
  const net::ip::address address = net::ip::make_address(options_.address, ec);
  if (ec) {
    return amqp::Status::Error(amqp::ReplyCode::kInternalError,
                               "management: bad address '" + options_.address + "'");
  }
  const tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return amqp::Status::Error(amqp::ReplyCode::kInternalError,
                               "management: cannot listen on " + options_.address + ":" +
                                   std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  DoAccept();
  thread_ = std::thread([shared = shared_] { shared->io.run(); });
  return amqp::Status::Ok();
}

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  // Everything closed makes every pending operation complete, so io.run() returns.
  net::post(shared_->io, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& weak : shared_->sessions) {
      if (auto session = weak.lock()) session->Close();
    }
    shared_->sessions.clear();
  });
  thread_.join();
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->open = false;
}

void HttpServer::DoAccept() {
  acceptor_.async_accept(net::make_strand(shared_->io),
                         beast::bind_front_handler(&HttpServer::OnAccept, this));
}

void HttpServer::OnAccept(const boost::system::error_code& ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (!ec) {
    shared_->sessions.remove_if([](const std::weak_ptr<Session>& s) { return s.expired(); });
    if (shared_->sessions.size() >= options_.max_connections) {
      boost::system::error_code ignored;
      socket.close(ignored);  // over the cap: refused
    } else {
      auto session = std::make_shared<Session>(shared_, std::move(socket));
      shared_->sessions.push_back(session);
      session->Start();
    }
  }
  DoAccept();
}

}  // namespace warren::management
