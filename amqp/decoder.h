// Decoder: reads AMQP wire primitives (big-endian integers, short and long strings) from
// a byte view.
//
// Failure is sticky: a read past the end, or a value the caller rejects through Fail(),
// marks the decoder failed; later reads return zeros and empty views, and ok() stays
// false. Callers decode a whole structure and check ok() once at the end, which keeps the
// generated decoders straight-line code.

#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace warren::amqp {

class Decoder {
 public:
  // `bytes` must stay live while views returned by this decoder are in use.
  explicit Decoder(std::string_view bytes) : data_(bytes) {}

  bool ok() const { return ok_; }
  // Marks the input malformed; `reason` must be a string literal (it is not copied).
  void Fail(const char* reason) {
    if (ok_) reason_ = reason;
    ok_ = false;
  }
  // Why decoding failed (the first failure); empty while ok().
  const char* failure_reason() const { return ok_ ? "" : reason_; }

  size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }
  size_t position() const { return pos_; }

  uint8_t Octet() {
    if (!Need(1)) return 0;
    return static_cast<uint8_t>(data_[pos_++]);
  }
  uint16_t Short() { return static_cast<uint16_t>(ReadBigEndian(2)); }
  uint32_t Long() { return static_cast<uint32_t>(ReadBigEndian(4)); }
  uint64_t LongLong() { return ReadBigEndian(8); }

  // A short string: one length octet, then that many bytes. Returns a view into the input.
  std::string_view ShortString() { return Bytes(Octet()); }
  // A long string: a 32-bit length, then that many bytes. Returns a view into the input.
  std::string_view LongString() { return Bytes(Long()); }
  // The next `n` bytes, as a view into the input.
  std::string_view Bytes(size_t n) {
    if (!Need(n)) return {};
    std::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  bool Need(size_t n) {
    if (ok_ && remaining() >= n) return true;
    Fail("truncated");
    return false;
  }
  uint64_t ReadBigEndian(size_t n) {
    if (!Need(n)) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
    pos_ += n;
    return v;
  }

  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
  const char* reason_ = "";
};

}  // namespace warren::amqp
