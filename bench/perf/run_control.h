// RunControl: the flags and counters a run's coordinator shares with its producer and
// consumer threads. Everything here is atomic; the hot paths touch it once per batch.

#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

namespace warren::perf {

struct RunControl {
  explicit RunControl(int producers) : published(static_cast<size_t>(producers)) {}

  // Producers wait for this before their first publish (all connected by then).
  std::atomic<bool> go{false};
  std::atomic<bool> stop_publishing{false};
  std::atomic<bool> stop_consuming{false};
  // Per producer: sequence numbers handed out so far (messages written to its buffer).
  // Consumers treat a received sequence number at or above this as corrupt.
  std::vector<std::atomic<uint64_t>> published;
};

}  // namespace warren::perf
