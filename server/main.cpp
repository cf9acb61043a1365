// The warren binary: configuration -> broker -> listeners -> run until SIGINT/SIGTERM.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>

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
  spdlog::info(
      "Warren {} started: amqp port {}, management port {} (management API not built yet), "
      "data dir {}",
      WARREN_VERSION, broker.amqp_port(), config.management_port, config.data_dir);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: closing connections and stopping", signal);
    broker.Shutdown([&io] { io.stop(); });
  });
  io.run();
  spdlog::info("stopped");
  return 0;
}
