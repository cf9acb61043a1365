// LatencyHistogram: counts of latencies in log-linear buckets, so a consumer records
// millions of samples in fixed memory and percentiles come out within ~3%.
//
// Values below 32 ns have a bucket each; above, every power of two is split into 32
// equal buckets. A percentile is reported as the middle of its bucket.

#pragma once

#include <array>
#include <cstdint>

namespace warren::perf {

class LatencyHistogram {
 public:
  void Record(uint64_t ns) {
    ++counts_[Index(ns)];
    ++count_;
    if (ns > max_) max_ = ns;
  }
  // Adds every sample of `other`.
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  // The value (ns) below which a fraction `q` (0 < q <= 1) of the samples lie; 0 when
  // there are none.
  uint64_t Percentile(double q) const;

 private:
  static constexpr int kSubBits = 5;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;

  static int Index(uint64_t ns) {
    if (ns < kSub) return static_cast<int>(ns);
    const int exponent = 63 - __builtin_clzll(ns);  // >= kSubBits
    const int sub = static_cast<int>((ns >> (exponent - kSubBits)) & (kSub - 1));
    return (exponent - kSubBits + 1) * kSub + sub;
  }
  // The middle of bucket `index`.
  static uint64_t Middle(int index);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace warren::perf
