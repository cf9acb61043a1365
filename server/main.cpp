// The warren binary: configuration -> broker -> listeners -> run until SIGINT/SIGTERM.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <csignal>
#include <cstdio>

#include "server/broker.h"
#include "server/config.h"

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
  Broker broker(io, config);
  const warren::amqp::Status listening = broker.Listen();
  if (!listening.ok()) {
    spdlog::critical("{}", listening.text());
    return 1;
  }
  spdlog::info(
      "Warren {} started: amqp port {}, management port {} (management API not built yet), "
      "data dir {} (storage not built yet)",
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
