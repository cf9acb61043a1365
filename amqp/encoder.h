// Encoder: appends AMQP wire primitives (big-endian integers, short and long strings) to
// a std::string used as a byte buffer.
//
// A short string longer than 255 bytes cannot be encoded; the encoder then marks itself
// failed (ok() is false) and writes an empty string in its place, so a caller checks once
// after encoding a whole structure.

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace warren::amqp {

class Encoder {
 public:
  // *out must remain live while this Encoder is in use; bytes are appended to it.
  explicit Encoder(std::string* out) : out_(out) {}

  bool ok() const { return ok_; }
  // Total bytes in the output buffer (not only those written by this encoder).
  size_t size() const { return out_->size(); }

  void Octet(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void Short(uint16_t v) { WriteBigEndian(v, 2); }
  void Long(uint32_t v) { WriteBigEndian(v, 4); }
  void LongLong(uint64_t v) { WriteBigEndian(v, 8); }

  void ShortString(std::string_view s) {
    if (s.size() > 255) {
      ok_ = false;
      s = {};
    }
    Octet(static_cast<uint8_t>(s.size()));
    Bytes(s);
  }
  void LongString(std::string_view s) {
    if (s.size() > UINT32_MAX) {
      ok_ = false;
      s = {};
    }
    Long(static_cast<uint32_t>(s.size()));
    Bytes(s);
  }
  void Bytes(std::string_view s) { out_->append(s); }

  // Overwrites the 32-bit big-endian value at `offset`, written earlier as a placeholder
  // (frame and table sizes are known only after their contents are written).
  void PatchLong(size_t offset, uint32_t v) {
    for (int i = 3; i >= 0; --i) {
      (*out_)[offset + static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
      v >>= 8;
    }
  }

 private:
  void WriteBigEndian(uint64_t v, int n) {
    char buf[8];
    for (int i = n - 1; i >= 0; --i) {
      buf[i] = static_cast<char>(v & 0xff);
      v >>= 8;
    }
    out_->append(buf, static_cast<size_t>(n));
  }

  std::string* out_;
  bool ok_ = true;
};

}  // namespace warren::amqp
