// ReadyList: a queue's ready messages in delivery order. A priority queue keeps one FIFO per
// priority level and delivers from the highest non-empty level; any other queue has one
// level. Within a level messages are ordered by their arrival sequence number, which is
// where a requeued message goes back to.

#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "server/queued_message.h"

namespace warren::server {

class ReadyList {
 public:
  // `max_priority` 0: one level; otherwise levels 0..max_priority.
  explicit ReadyList(uint8_t max_priority = 0) : levels_(size_t{max_priority} + 1) {}

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  uint8_t max_priority() const { return static_cast<uint8_t>(levels_.size() - 1); }

  // The next message to deliver: the oldest of the highest priority. Requires !empty().
  QueuedMessage& front() { return levels_[TopLevel()].front(); }
  // Removes and returns front().
  QueuedMessage PopFront();
  // Appends a message that arrived after every message of its priority (message.priority
  // must be at most max_priority()).
  void PushBack(QueuedMessage message);
  // Puts a message back at its sequence position within its priority (a requeue).
  void Insert(QueuedMessage message);
  // The message with `seq`, or nullptr.
  QueuedMessage* Find(uint64_t seq);
  // Removes the message with `seq` (which must be there) and returns it.
  QueuedMessage Remove(uint64_t seq);
  void Clear();

  // Visits messages in delivery order while `visit` returns true.
  template <class Visit>
  void ForEach(Visit visit) const {
    for (size_t level = levels_.size(); level-- > 0;) {
      for (const QueuedMessage& m : levels_[level]) {
        if (!visit(m)) return;
      }
    }
  }
  // Calls `visit` on the first message of each non-empty level (the only ones that can
  // expire first: each level is in arrival order).
  template <class Visit>
  void ForEachLevelFront(Visit visit) const {
    for (const auto& level : levels_) {
      if (!level.empty()) visit(level.front());
    }
  }
  // Removes the first message of each level while `expired` says so, passing each to
  // `take`, highest level first.
  template <class Expired, class Take>
  void PopLevelFrontsWhile(Expired expired, Take take) {
    for (size_t level = levels_.size(); level-- > 0;) {
      auto& fifo = levels_[level];
      while (!fifo.empty() && expired(fifo.front())) {
        QueuedMessage m = std::move(fifo.front());
        fifo.pop_front();
        --size_;
        take(std::move(m));
      }
    }
  }

 private:
  size_t TopLevel() const;
  std::deque<QueuedMessage>& LevelOf(const QueuedMessage& m) { return levels_[m.priority]; }

  std::vector<std::deque<QueuedMessage>> levels_;
  size_t size_ = 0;
};

}  // namespace warren::server
