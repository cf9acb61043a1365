// ReadyList: per-priority FIFOs ordered by arrival sequence.

#include "server/ready_list.h"

#include <algorithm>
#include <utility>

namespace warren::server {

namespace {

std::deque<QueuedMessage>::iterator LowerBound(std::deque<QueuedMessage>& fifo, uint64_t seq) {
  return std::lower_bound(fifo.begin(), fifo.end(), seq,
                          [](const QueuedMessage& m, uint64_t s) { return m.seq < s; });
}

}  // namespace

size_t ReadyList::TopLevel() const {
  size_t level = levels_.size() - 1;
  while (level > 0 && levels_[level].empty()) --level;
  return level;
}

QueuedMessage ReadyList::PopFront() {
  auto& fifo = levels_[TopLevel()];
  QueuedMessage m = std::move(fifo.front());
  fifo.pop_front();
  --size_;
  return m;
}

void ReadyList::PushBack(QueuedMessage message) {
  LevelOf(message).push_back(std::move(message));
  ++size_;
}

void ReadyList::Insert(QueuedMessage message) {
  auto& fifo = LevelOf(message);
  // Requeued messages are usually older than everything ready: search from the front.
  fifo.insert(LowerBound(fifo, message.seq), std::move(message));
  ++size_;
}

QueuedMessage* ReadyList::Find(uint64_t seq) {
  for (auto& fifo : levels_) {
    auto it = LowerBound(fifo, seq);
    if (it != fifo.end() && it->seq == seq) return &*it;
  }
  return nullptr;
}

QueuedMessage ReadyList::Remove(uint64_t seq) {
  for (auto& fifo : levels_) {
    auto it = LowerBound(fifo, seq);
    if (it == fifo.end() || it->seq != seq) continue;
    QueuedMessage m = std::move(*it);
    fifo.erase(it);
    --size_;
    return m;
  }
  return QueuedMessage();
}

void ReadyList::Clear() {
  for (auto& fifo : levels_) fifo.clear();
  size_ = 0;
}

}  // namespace warren::server
