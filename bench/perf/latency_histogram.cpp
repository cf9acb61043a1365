// Log-linear latency histogram (see latency_histogram.h).

#include "bench/perf/latency_histogram.h"

#include <cmath>

namespace warren::perf {

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  if (other.max_ > max_) max_ = other.max_;
}

uint64_t LatencyHistogram::Middle(int index) {
  if (index < kSub) return static_cast<uint64_t>(index);
  const int exponent = index / kSub - 1 + kSubBits;
  const uint64_t sub = static_cast<uint64_t>(index % kSub);
  const uint64_t width = uint64_t{1} << (exponent - kSubBits);
  const uint64_t low = (uint64_t{1} << exponent) + sub * width;
  return low + width / 2;
}

uint64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const uint64_t middle = Middle(i);
      return middle < max_ ? middle : max_;
    }
  }
  return max_;
}

}  // namespace warren::perf
