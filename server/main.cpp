// The warren binary: configuration -> broker -> listeners (AMQP, then the management API on
// its own thread) -> run until SIGINT/SIGTERM.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>

#include "management/api.h"
#include "management/http_server.h"
#include "server/broker.h"
#include "server/config.h"
#include "storage/rocks_store.h"

int main(int argc, char** argv) {
  using warren::server::Broker;
  using warren::server::Config;

  Config config;
  const warren::amqp::Status loaded = warren::server::LoadConfig(argc, argv, &config);
  if (!loaded.ok()) {
    std::fprintf(stderr, "warren: %s\n", loaded.text().c_str());
    return 2;
  }
  if (config.print_version) {
    std::printf("warren %s\n", WARREN_VERSION);
    return 0;
  }
  auto logger = spdlog::stderr_color_mt("warren");
  spdlog::set_default_logger(logger);
  const auto level = spdlog::level::from_str(config.log_level);
  if (level == spdlog::level::off && config.log_level != "off") {
    std::fprintf(stderr, "warren: unknown log level '%s'\n", config.log_level.c_str());
    return 2;
  }
  spdlog::set_level(level);

  boost::asio::io_context io(1);
  // Declared before the broker, so that it outlives it.
  std::unique_ptr<warren::storage::RocksStore> store;
  const auto opening = std::chrono::steady_clock::now();
  const warren::amqp::Status opened = warren::storage::RocksStore::Open(
      io, {config.data_dir, config.fsync, static_cast<size_t>(config.queue_memory_budget)}, &store);
  if (!opened.ok()) {
    spdlog::critical("{}", opened.text());
    return 1;
  }
  if (!config.fsync) {
    spdlog::warn("fsync = false: confirmed persistent messages can be lost on a power failure");
  }
  Broker broker(io, config);
  warren::server::RecoveryStats recovered;
  const warren::amqp::Status recovery = broker.Recover(store.get(), &recovered);
  if (!recovery.ok()) {
    spdlog::critical("recovery failed: {}", recovery.text());
    return 1;
  }
  spdlog::info("recovered {} queues, {} messages in {} ms from {}", recovered.queues,
               recovered.messages,
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - opening)
                   .count(),
               config.data_dir);
  const warren::amqp::Status listening = broker.Listen();
  if (!listening.ok()) {
    spdlog::critical("{}", listening.text());
    return 1;
  }
  // The API posts its work to the broker's loop; stopped (and its thread joined) before the
  // broker goes away.
  warren::management::Api api(&broker);
  std::unique_ptr<warren::management::HttpServer> management;
  if (config.management_port != 0) {
    warren::management::HttpServerOptions options;
    options.address = "127.0.0.1";
    options.port = config.management_port;
    management = std::make_unique<warren::management::HttpServer>(
        options, [&api](warren::management::Request request, bool from_loopback,
                        warren::management::Respond respond) {
          api.Handle(std::move(request), from_loopback, std::move(respond));
        });
    const warren::amqp::Status serving = management->Start();
    if (!serving.ok()) {
      spdlog::critical("{}", serving.text());
      return 1;
    }
  }
  spdlog::info("Warren {} started: amqp port {}, management port {}, data dir {}", WARREN_VERSION,
               broker.amqp_port(), management ? std::to_string(management->port()) : "off",
               config.data_dir);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: closing connections and stopping", signal);
    if (management) management->Stop();
    broker.Shutdown([&io] { io.stop(); });
  });
  io.run();
  spdlog::info("stopped");
  return 0;
}
