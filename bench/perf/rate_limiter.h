// RateLimiter: a token bucket that holds a producer to -r messages per second.
//
// Tokens accrue continuously at the rate, up to a burst of 10 ms worth (at least one), so
// a producer that sleeps until Delay() has passed sends in small batches and neither
// spins nor bursts after a stall.

#pragma once

#include <chrono>
#include <cstdint>

namespace warren::perf {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // `rate` in messages per second; 0 means unlimited (Take grants everything).
  RateLimiter(double rate, Clock::time_point now);

  // Grants up to `want` messages now and consumes their tokens.
  uint64_t Take(uint64_t want, Clock::time_point now);
  // How long until Take can grant at least one message (zero if it can now).
  std::chrono::nanoseconds Delay(Clock::time_point now) const;

 private:
  void Refill(Clock::time_point now);

  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace warren::perf
