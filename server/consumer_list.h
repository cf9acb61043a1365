// ConsumerList: the consumers of one queue, and the choice of which of them takes the next
// message, as RabbitMQ 3.10's classic queues make it.
//
// Consumer priorities (basic.consume's x-priority): a message goes to the highest-priority
// consumer that can take it now (prefetch credit, flow, output buffer); consumers of equal
// priority take turns. A lower-priority consumer gets messages only while every
// higher-priority one is blocked.
//
// Single active consumer (the queue's x-single-active-consumer): only the earliest
// registered consumer still subscribed receives messages, whatever the priorities (in 3.10
// priorities do not pick the active consumer). When it goes, the next in registration
// order takes over.

#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace warren::server {

struct Consumer;

class ConsumerList {
 public:
  // `single_active`: the queue was declared with x-single-active-consumer = true.
  explicit ConsumerList(bool single_active = false) : single_active_(single_active) {}

  bool single_active() const { return single_active_; }
  bool empty() const { return consumers_.empty(); }
  size_t size() const { return consumers_.size(); }
  // Every consumer, in registration order.
  const std::vector<Consumer*>& all() const { return consumers_; }
  // The consumer that receives the queue's messages under single active consumer (the
  // earliest registered); nullptr without single active consumer or without consumers.
  Consumer* active() const;

  // Adds `consumer`, with the priority its `priority` member holds. `consumer` must stay
  // live until Remove.
  void Add(Consumer* consumer);
  // Removes `consumer`; false if it was not in the list.
  bool Remove(Consumer* consumer);

  // The consumer the next message goes to (see the file comment), asking each candidate's
  // channel whether it can take one; nullptr when no consumer can. The consumer returned
  // counts as served: the next call starts after it among consumers of its priority.
  Consumer* Next();

 private:
  // The consumers of one priority, taking turns from `next`.
  struct Band {
    int64_t priority;
    std::vector<Consumer*> members;  // registration order
    size_t next = 0;                 // whose turn it is
  };

  bool single_active_;
  std::vector<Consumer*> consumers_;  // registration order
  std::vector<Band> bands_;           // highest priority first; none empty
};

}  // namespace warren::server
