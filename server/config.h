// Config: everything the broker is told at start-up, from defaults, a rabbitmq.conf-style
// file, WARREN_* environment variables and command-line flags (later sources win).

#pragma once

#include <cstdint>
#include <string>

#include "amqp/status.h"

namespace warren::server {

struct Config {
  std::string config_file;  // empty: none
  std::string bind_address = "0.0.0.0";
  uint16_t amqp_port = 5672;  // 0: any free port
  uint16_t management_port = 15672;
  std::string data_dir = "./data";
  // Sync the write-ahead log before confirming persistent messages. false is unsafe: a
  // power loss can then lose confirmed messages (the guarantee RabbitMQ's classic queues give).
  bool fsync = true;
  // Bytes of message bodies a queue keeps in memory; the rest waits on disk.
  uint64_t queue_memory_budget = 16ull << 20;
  std::string log_level = "info";  // trace, debug, info, warning, error, critical, off

  // Offered in connection.tune; a client may ask for less.
  uint16_t channel_max = 2047;
  uint32_t frame_max = 131072;
  uint16_t heartbeat_seconds = 60;
  // Largest message body accepted (RabbitMQ's max_message_size default, 128 MiB).
  uint64_t max_message_size = 128ull << 20;

  std::string default_vhost = "/";
  std::string default_user = "guest";
  std::string default_pass = "guest";
  // Users that may connect only from loopback addresses (RabbitMQ's loopback_users).
  bool default_user_loopback_only = true;

  bool print_version = false;
};

// Builds the configuration from defaults, then the file named by --config (or
// WARREN_CONFIG_FILE), then WARREN_* environment variables, then the other flags.
// Fails with a message naming the bad flag, key or value.
amqp::Status LoadConfig(int argc, const char* const* argv, Config* config);

// Applies one rabbitmq.conf-style `key = value` setting (listeners.tcp.default,
// management.tcp.port, log.console.level, heartbeat, frame_max, channel_max,
// max_message_size, default_vhost, default_user, default_pass, loopback_users, fsync,
// queue_memory_budget).
amqp::Status ApplyConfigSetting(const std::string& key, const std::string& value, Config* config);

}  // namespace warren::server
