// Configuration loading: defaults < config file < WARREN_* environment < flags.

#include "server/config.h"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <string_view>

namespace warren::server {

namespace {

using amqp::ReplyCode;
using amqp::Status;

Status Invalid(std::string text) { return Status::Error(ReplyCode::kInternalError, text); }

template <class Int>
Status ParseInt(const std::string& key, const std::string& value, Int* out) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() ||
      v > std::numeric_limits<Int>::max()) {
    return Invalid("invalid value '" + value + "' for " + key);
  }
  *out = static_cast<Int>(v);
  return Status::Ok();
}

std::string Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

Status LoadConfigFile(const std::string& path, Config* config) {
  std::ifstream in(path);
  if (!in) return Invalid("cannot read config file " + path);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string text = Trim(line.substr(0, line.find('#')));
    if (text.empty()) continue;
    const size_t eq = text.find('=');
    if (eq == std::string::npos) {
      return Invalid(path + ":" + std::to_string(number) + ": expected 'key = value'");
    }
    Status s = ApplyConfigSetting(Trim(text.substr(0, eq)), Trim(text.substr(eq + 1)), config);
    if (!s.ok()) return Invalid(path + ":" + std::to_string(number) + ": " + s.text());
  }
  return Status::Ok();
}

// Flags and the environment variables that mirror them, as config keys.
struct Option {
  std::string_view flag;
  std::string_view env;
  std::string_view key;
};
constexpr Option kOptions[] = {
    {"--amqp-port", "WARREN_AMQP_PORT", "listeners.tcp.default"},
    {"--management-port", "WARREN_MANAGEMENT_PORT", "management.tcp.port"},
    {"--data-dir", "WARREN_DATA_DIR", "data_dir"},
    {"--log-level", "WARREN_LOG_LEVEL", "log.console.level"},
    {"--bind", "WARREN_BIND", "listeners.tcp.address"},
    {"--fsync", "WARREN_FSYNC", "fsync"},
    {"--queue-memory-budget", "WARREN_QUEUE_MEMORY_BUDGET", "queue_memory_budget"},
};

}  // namespace

Status ApplyConfigSetting(const std::string& key, const std::string& value, Config* config) {
  if (key == "listeners.tcp.default") return ParseInt(key, value, &config->amqp_port);
  if (key == "listeners.tcp.address") {
    config->bind_address = value;
    return Status::Ok();
  }
  if (key == "management.tcp.port") return ParseInt(key, value, &config->management_port);
  if (key == "data_dir") {
    config->data_dir = value;
    return Status::Ok();
  }
  if (key == "log.console.level") {
    config->log_level = value;
    return Status::Ok();
  }
  if (key == "fsync") {
    if (value != "true" && value != "false") {
      return Invalid("invalid value '" + value + "' for fsync (true or false)");
    }
    config->fsync = value == "true";
    return Status::Ok();
  }
  if (key == "queue_memory_budget") return ParseInt(key, value, &config->queue_memory_budget);
  if (key == "heartbeat") return ParseInt(key, value, &config->heartbeat_seconds);
  if (key == "channel_max") return ParseInt(key, value, &config->channel_max);
  if (key == "frame_max") {
    Status s = ParseInt(key, value, &config->frame_max);
    if (s.ok() && config->frame_max < amqp::kFrameMinSize) {
      return Invalid("frame_max must be at least 4096");
    }
    return s;
  }
  if (key == "max_message_size") return ParseInt(key, value, &config->max_message_size);
  if (key == "default_vhost") {
    config->default_vhost = value;
    return Status::Ok();
  }
  if (key == "default_user") {
    config->default_user = value;
    return Status::Ok();
  }
  if (key == "default_pass") {
    config->default_pass = value;
    return Status::Ok();
  }
  if (key == "loopback_users" || key == "loopback_users.guest") {
    // rabbitmq.conf: "loopback_users = none" or "loopback_users.guest = false".
    config->default_user_loopback_only = !(value == "none" || value == "false");
    return Status::Ok();
  }
  return Invalid("unknown config key '" + key + "'");
}

Status LoadConfig(int argc, const char* const* argv, Config* config) {
  // The config file comes first, so find it before applying anything else.
  if (const char* env = std::getenv("WARREN_CONFIG_FILE")) config->config_file = env;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string_view(argv[i]) == "--config") config->config_file = argv[i + 1];
  }
  if (!config->config_file.empty()) {
    Status s = LoadConfigFile(config->config_file, config);
    if (!s.ok()) return s;
  }
  for (const Option& option : kOptions) {
    if (const char* env = std::getenv(std::string(option.env).c_str())) {
      Status s = ApplyConfigSetting(std::string(option.key), env, config);
      if (!s.ok()) return Invalid(std::string(option.env) + ": " + s.text());
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    // --flag=value is the same as --flag value.
    std::optional<std::string> inline_value;
    if (const size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      inline_value = std::string(arg.substr(eq + 1));
      arg = arg.substr(0, eq);
    }
    if (arg == "--version") {
      config->print_version = true;
      continue;
    }
    if (arg == "--config") {
      ++i;  // already applied
      continue;
    }
    const Option* option = nullptr;
    for (const Option& o : kOptions) {
      if (o.flag == arg) option = &o;
    }
    if (option == nullptr) return Invalid("unknown option '" + std::string(arg) + "'");
    if (!inline_value && i + 1 >= argc) return Invalid(std::string(arg) + " needs a value");
    Status s = ApplyConfigSetting(std::string(option->key),
                                  inline_value ? *inline_value : std::string(argv[++i]), config);
    if (!s.ok()) return Invalid(std::string(arg) + ": " + s.text());
  }
  return Status::Ok();
}

}  // namespace warren::server
