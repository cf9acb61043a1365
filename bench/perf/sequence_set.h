// SequenceSet: which sequence numbers of one producer's messages have been seen, as a
// bitmap, so that losses and duplicates are found exactly at one bit per message.

#pragma once

#include <cstdint>
#include <vector>

namespace warren::perf {

class SequenceSet {
 public:
  // Adds `sequence`; returns false if it was already present. Grows the bitmap by
  // doubling, so the amortised cost stays a few instructions.
  bool Insert(uint64_t sequence) {
    const uint64_t word = sequence / 64;
    if (word >= words_.size()) Grow(word);
    const uint64_t bit = uint64_t{1} << (sequence % 64);
    if (words_[word] & bit) return false;
    words_[word] |= bit;
    ++count_;
    return true;
  }
  bool Contains(uint64_t sequence) const {
    const uint64_t word = sequence / 64;
    return word < words_.size() && (words_[word] >> (sequence % 64) & 1) != 0;
  }
  // Members present.
  uint64_t count() const { return count_; }
  // Word i holds sequences 64i..64i+63 (bit j: 64i+j); words past the end are zero.
  uint64_t Word(uint64_t i) const { return i < words_.size() ? words_[i] : 0; }
  uint64_t word_count() const { return words_.size(); }
  // Makes room for sequences below `n` without growing later.
  void Reserve(uint64_t n) {
    if (n > 0 && (n - 1) / 64 >= words_.size()) Grow((n - 1) / 64);
  }

 private:
  void Grow(uint64_t word) {
    uint64_t size = words_.size() < 1024 ? 1024 : words_.size() * 2;
    while (size <= word) size *= 2;
    words_.resize(size, 0);
  }

  std::vector<uint64_t> words_;
  uint64_t count_ = 0;
};

}  // namespace warren::perf
