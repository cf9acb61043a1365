// Token bucket rate limiting (see rate_limiter.h).

#include "bench/perf/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace warren::perf {

RateLimiter::RateLimiter(double rate, Clock::time_point now)
    : rate_(rate), burst_(std::max(1.0, rate / 100)), tokens_(1), last_(now) {}

void RateLimiter::Refill(Clock::time_point now) {
  if (now <= last_) return;
  const double seconds = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + seconds * rate_);
  last_ = now;
}

uint64_t RateLimiter::Take(uint64_t want, Clock::time_point now) {
  if (rate_ <= 0) return want;
  Refill(now);
  const uint64_t granted = std::min<uint64_t>(want, static_cast<uint64_t>(tokens_));
  tokens_ -= static_cast<double>(granted);
  return granted;
}

std::chrono::nanoseconds RateLimiter::Delay(Clock::time_point now) const {
  if (rate_ <= 0) return std::chrono::nanoseconds(0);
  const double seconds = now > last_ ? std::chrono::duration<double>(now - last_).count() : 0;
  const double missing = 1 - (tokens_ + seconds * rate_);
  if (missing <= 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<int64_t>(std::ceil(missing / rate_ * 1e9)));
}

}  // namespace warren::perf
