// HttpServer on its own: answers that come from another thread, keep-alive, and its bounds
// (body size, idle connections, connection cap, answers after Stop).

#include "management/http_server.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <thread>

#include "tests/management/http_client.h"

namespace warren::management {
namespace {

namespace http = boost::beast::http;
using test::Fetch;
using test::MakeRequest;

// Answers every request from a thread of its own, as the broker's loop does.
class OtherThread {
 public:
  OtherThread() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~OtherThread() {
    work_.reset();
    thread_.join();
  }
  Handler EchoHandler() {
    return [this](Request request, bool from_loopback, Respond respond) {
      boost::asio::post(io_, [request = std::move(request), from_loopback, respond] {
        Response response(http::status::ok, 11);
        response.body() = std::string(request.target()) + (from_loopback ? " loopback" : "");
        respond(std::move(response));
      });
    };
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

TEST(HttpServer, AnswersFromAnotherThreadOnAKeptAliveConnection) {
  OtherThread other;
  HttpServer server({}, other.EchoHandler());
  ASSERT_TRUE(server.Start().ok());
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  ASSERT_TRUE(test::ConnectLoopback(io, stream, server.port()));
  for (const char* target : {"/a", "/b"}) {
    auto response = test::Exchange(io, stream, MakeRequest(http::verb::get, target));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result(), http::status::ok);
    EXPECT_EQ(response->body(), std::string(target) + " loopback");
  }
}

TEST(HttpServer, RefusesABodyOverTheLimitWith413) {
  OtherThread other;
  HttpServerOptions options;
  options.body_limit = 100;
  HttpServer server(options, other.EchoHandler());
  ASSERT_TRUE(server.Start().ok());
  auto response = Fetch(server.port(), MakeRequest(http::verb::put, "/x", std::string(101, 'a')));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::payload_too_large);
  response = Fetch(server.port(), MakeRequest(http::verb::put, "/x", std::string(100, 'a')));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result(), http::status::ok);
}

TEST(HttpServer, ClosesIdleConnections) {
  OtherThread other;
  HttpServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(100);
  HttpServer server(options, other.EchoHandler());
  ASSERT_TRUE(server.Start().ok());
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  ASSERT_TRUE(test::ConnectLoopback(io, stream, server.port()));
  boost::beast::error_code error = boost::asio::error::timed_out;
  char byte;
  stream.async_read_some(boost::asio::buffer(&byte, 1),
                         [&](boost::beast::error_code e, size_t) { error = e; });
  const auto start = std::chrono::steady_clock::now();
  io.restart();
  io.run_for(test::kHttpTimeout);
  EXPECT_EQ(error, boost::asio::error::eof);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST(HttpServer, RefusesConnectionsOverTheCap) {
  OtherThread other;
  HttpServerOptions options;
  options.max_connections = 1;
  HttpServer server(options, other.EchoHandler());
  ASSERT_TRUE(server.Start().ok());
  boost::asio::io_context io;
  boost::beast::tcp_stream first(io);
  ASSERT_TRUE(test::ConnectLoopback(io, first, server.port()));
  ASSERT_TRUE(test::Exchange(io, first, MakeRequest(http::verb::get, "/1")));
  EXPECT_FALSE(Fetch(server.port(), MakeRequest(http::verb::get, "/2")));
  // The first connection still works, and once it is gone there is room again.
  ASSERT_TRUE(test::Exchange(io, first, MakeRequest(http::verb::get, "/3")));
  first.close();
  std::optional<test::HttpResponse> later;
  for (int i = 0; i < 50 && !later; ++i) {
    later = Fetch(server.port(), MakeRequest(http::verb::get, "/4"));
    if (!later) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(later);
  EXPECT_EQ(later->body(), "/4 loopback");
}

TEST(HttpServer, StopClosesConnectionsAndDropsAnswersStillToCome) {
  std::promise<Respond> pending;
  auto server = std::make_unique<HttpServer>(
      HttpServerOptions{},
      [&pending](Request, bool, Respond respond) { pending.set_value(std::move(respond)); });
  ASSERT_TRUE(server->Start().ok());
  std::future<std::optional<test::HttpResponse>> answer = std::async(
      std::launch::async,
      [port = server->port()] { return Fetch(port, MakeRequest(http::verb::get, "/slow")); });
  std::future<Respond> respond = pending.get_future();
  ASSERT_EQ(respond.wait_for(test::kHttpTimeout), std::future_status::ready);
  server->Stop();
  EXPECT_FALSE(answer.get());  // closed without an answer
  Respond late = respond.get();
  late(Response(http::status::ok, 11));  // after Stop: ignored
  server.reset();
  late(Response(http::status::ok, 11));  // after the server is gone: ignored too
}

}  // namespace
}  // namespace warren::management
