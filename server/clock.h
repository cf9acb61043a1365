// The broker's wall clock, for times that must keep their meaning across a restart: message
// expiry (TTL) and delayed delivery.

#pragma once

#include <chrono>
#include <cstdint>

namespace warren::server {

// Milliseconds since the Unix epoch.
inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace warren::server
