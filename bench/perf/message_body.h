// MessageBody: what warren-perf puts in a message body, so that consumers can tell
// which message arrived, when it was sent, and whether its bytes are intact.
//
// Layout (little-endian):
//   bytes 0..7    timestamp: the producer's steady clock, nanoseconds
//   bytes 8..15   producer id (top 16 bits) and sequence number (low 48 bits)
//   bytes 16..    a pattern derived from (producer, sequence): 64-bit words seed + i * k,
//                 word i covering body bytes 8i..8i+7, so a byte moved, lost or changed
//                 anywhere is caught.
// Hence the smallest body is kStampSize (16) bytes.

#pragma once

#include <cstddef>
#include <cstdint>

namespace warren::perf {

inline constexpr size_t kStampSize = 16;
inline constexpr uint64_t kMaxSequence = (uint64_t{1} << 48) - 1;

struct Stamp {
  uint64_t timestamp_ns = 0;
  uint16_t producer = 0;
  uint64_t sequence = 0;  // at most kMaxSequence
};

// Writes `stamp` into body[0, kStampSize).
void WriteStamp(const Stamp& stamp, char* body);
// Reads the stamp from body[0, kStampSize).
Stamp ReadStamp(const char* body);

// Writes the pattern of message (producer, sequence) for body bytes
// [offset, offset + n) to dst[0, n). Requires offset >= kStampSize.
void FillPattern(uint16_t producer, uint64_t sequence, size_t offset, char* dst, size_t n);
// True if src[0, n) holds the pattern for body bytes [offset, offset + n).
bool CheckPattern(uint16_t producer, uint64_t sequence, size_t offset, const char* src, size_t n);

}  // namespace warren::perf
