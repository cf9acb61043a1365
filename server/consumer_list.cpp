// ConsumerList: priority bands, each served round-robin, and the single active consumer.

#include "server/consumer_list.h"

#include <algorithm>

#include "server/queue.h"

namespace warren::server {

Consumer* ConsumerList::active() const {
  return single_active_ && !consumers_.empty() ? consumers_.front() : nullptr;
}

void ConsumerList::Add(Consumer* consumer) {
  consumers_.push_back(consumer);
  auto band = std::find_if(bands_.begin(), bands_.end(),
                           [&](const Band& b) { return b.priority <= consumer->priority; });
  if (band == bands_.end() || band->priority != consumer->priority) {
    band = bands_.insert(band, Band{consumer->priority, {}, 0});
  }
  band->members.push_back(consumer);
}

bool ConsumerList::Remove(Consumer* consumer) {
  auto it = std::find(consumers_.begin(), consumers_.end(), consumer);
  if (it == consumers_.end()) return false;
  consumers_.erase(it);
  auto band = std::find_if(bands_.begin(), bands_.end(),
                           [&](const Band& b) { return b.priority == consumer->priority; });
  auto member = std::find(band->members.begin(), band->members.end(), consumer);
  const size_t index = static_cast<size_t>(member - band->members.begin());
  band->members.erase(member);
  // Keep the turn with the consumer that was due (or the one after the removed one).
  if (index < band->next) --band->next;
  if (band->next >= band->members.size()) band->next = 0;
  if (band->members.empty()) bands_.erase(band);
  return true;
}

Consumer* ConsumerList::Next() {
  if (single_active_) {
    Consumer* consumer = active();
    return consumer != nullptr && consumer->channel->CanDeliver(*consumer) ? consumer : nullptr;
  }
  for (Band& band : bands_) {
    const size_t n = band.members.size();
    for (size_t i = 0; i < n; ++i) {
      size_t index = band.next + i;
      if (index >= n) index -= n;
      Consumer* consumer = band.members[index];
      if (!consumer->channel->CanDeliver(*consumer)) continue;
      band.next = index + 1 == n ? 0 : index + 1;
      return consumer;
    }
  }
  return nullptr;
}

}  // namespace warren::server
