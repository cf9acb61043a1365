// Message stamps and body patterns (see message_body.h).

#include "bench/perf/message_body.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace warren::perf {

namespace {

constexpr uint64_t kPatternStep = 0x9E3779B97F4A7C15ull;

void StoreLittle(uint64_t v, char* p) {
  if constexpr (std::endian::native != std::endian::little) v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}

uint64_t LoadLittle(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native != std::endian::little) v = __builtin_bswap64(v);
  return v;
}

// splitmix64's finaliser: neighbouring messages get unrelated patterns.
uint64_t Seed(uint16_t producer, uint64_t sequence) {
  uint64_t z = (uint64_t{producer} << 48 | sequence) + kPatternStep;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Pattern word `word` of the message seeded `seed`: body bytes 8*word .. 8*word+7.
uint64_t PatternWord(uint64_t seed, size_t word) { return seed + word * kPatternStep; }

}  // namespace

void WriteStamp(const Stamp& stamp, char* body) {
  StoreLittle(stamp.timestamp_ns, body);
  StoreLittle(uint64_t{stamp.producer} << 48 | (stamp.sequence & kMaxSequence), body + 8);
}

Stamp ReadStamp(const char* body) {
  Stamp stamp;
  stamp.timestamp_ns = LoadLittle(body);
  const uint64_t id = LoadLittle(body + 8);
  stamp.producer = static_cast<uint16_t>(id >> 48);
  stamp.sequence = id & kMaxSequence;
  return stamp;
}

// Both functions below walk body bytes [offset, offset + n) as a partial head word, whole
// words (a plain loop the compiler vectorises) and a partial tail word.

void FillPattern(uint16_t producer, uint64_t sequence, size_t offset, char* dst, size_t n) {
  const uint64_t seed = Seed(producer, sequence);
  size_t word = offset / 8;
  size_t at = 0;
  char bytes[8];
  if (const size_t first = offset % 8; first != 0) {
    at = std::min(n, 8 - first);
    StoreLittle(PatternWord(seed, word++), bytes);
    std::memcpy(dst, bytes + first, at);
  }
  uint64_t w = PatternWord(seed, word);
  for (; n - at >= 8; at += 8, w += kPatternStep) StoreLittle(w, dst + at);
  if (at < n) {
    StoreLittle(w, bytes);
    std::memcpy(dst + at, bytes, n - at);
  }
}

bool CheckPattern(uint16_t producer, uint64_t sequence, size_t offset, const char* src, size_t n) {
  const uint64_t seed = Seed(producer, sequence);
  size_t word = offset / 8;
  size_t at = 0;
  char bytes[8];
  if (const size_t first = offset % 8; first != 0) {
    at = std::min(n, 8 - first);
    StoreLittle(PatternWord(seed, word++), bytes);
    if (std::memcmp(src, bytes + first, at) != 0) return false;
  }
  uint64_t w = PatternWord(seed, word);
  uint64_t differ = 0;
  for (; n - at >= 8; at += 8, w += kPatternStep) differ |= LoadLittle(src + at) ^ w;
  if (differ != 0) return false;
  if (at < n) {
    StoreLittle(w, bytes);
    return std::memcmp(src + at, bytes, n - at) == 0;
  }
  return true;
}

}  // namespace warren::perf
