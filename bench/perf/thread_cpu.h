// ThreadCpuNs: CPU time the calling thread has used, so a run can report what warren-perf
// itself spends per message (it must stay far below what the broker spends).

#pragma once

#include <time.h>

#include <cstdint>

namespace warren::perf {

// Nanoseconds of CPU (user and system) used by the calling thread so far.
inline uint64_t ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000 + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace warren::perf
