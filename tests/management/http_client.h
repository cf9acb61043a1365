// A bounded HTTP/1.1 client for the management tests: each call runs its own io_context for
// at most kHttpTimeout, so a server that does not answer fails the test instead of hanging it.

#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace warren::test {

inline constexpr std::chrono::milliseconds kHttpTimeout{5000};

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// A request for `target` with `method`, and a body if it is not empty.
inline HttpRequest MakeRequest(boost::beast::http::verb method, std::string target,
                               std::string body = "") {
  HttpRequest request(method, target, 11);
  request.set(boost::beast::http::field::host, "127.0.0.1");
  if (!body.empty()) {
    request.set(boost::beast::http::field::content_type, "application/json");
    request.body() = std::move(body);
  }
  request.prepare_payload();
  return request;
}

// Sends `request` on `stream` (connected) and reads the answer; nullopt if the server
// closes the connection, errs, or does not answer in time. *ec (if given) says why.
inline std::optional<HttpResponse> Exchange(boost::asio::io_context& io,
                                            boost::beast::tcp_stream& stream,
                                            const HttpRequest& request,
                                            boost::beast::error_code* ec = nullptr) {
  namespace http = boost::beast::http;
  boost::beast::error_code error;
  HttpResponse response;
  boost::beast::flat_buffer buffer;
  bool done = false;
  http::async_write(stream, request, [&](boost::beast::error_code e, size_t) {
    if (e) {
      error = e;
      done = true;
      return;
    }
    http::async_read(stream, buffer, response, [&](boost::beast::error_code e2, size_t) {
      error = e2;
      done = true;
    });
  });
  io.restart();
  io.run_for(kHttpTimeout);
  if (!done) error = boost::asio::error::timed_out;
  if (ec != nullptr) *ec = error;
  if (error) return std::nullopt;
  return response;
}

// Connects `stream` to 127.0.0.1:`port`; false if that fails in time.
inline bool ConnectLoopback(boost::asio::io_context& io, boost::beast::tcp_stream& stream,
                            uint16_t port) {
  boost::beast::error_code error = boost::asio::error::timed_out;
  stream.async_connect(
      boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4::loopback(), port),
      [&](boost::beast::error_code e) { error = e; });
  io.restart();
  io.run_for(kHttpTimeout);
  return !error;
}

// One request on a new connection.
inline std::optional<HttpResponse> Fetch(uint16_t port, const HttpRequest& request) {
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  if (!ConnectLoopback(io, stream, port)) return std::nullopt;
  return Exchange(io, stream, request);
}

}  // namespace warren::test
