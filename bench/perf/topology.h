// Topology: the exchange, queues and bindings a run uses, which queues each producer's
// messages reach and which queues each consumer drains, following PerfTest's defaults:
//
//   default      exchange "direct"; one server-named queue per consumer, each bound with
//                the same generated routing key, so every consumer gets every message
//   -u Q         one queue Q, shared by all consumers
//   --queues N   N queues; producer p publishes to queue p mod N (a routing key per queue)
//   --fanout N   a fanout exchange bound to N queues; every message reaches all N
//
// Consumers spread round robin: with C consumers and N queues, consumer c drains queue
// c mod N if C >= N, else every queue i with i mod C == c (so no queue is left undrained).
// Queues are declared (durable with -f persistent) and deleted by the tool.

#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "amqp/status.h"
#include "bench/perf/connection.h"
#include "bench/perf/options.h"

namespace warren::perf {

struct QueuePlan {
  std::string name;         // empty until declared, if the broker names it
  std::string binding_key;  // bound with this key unless the exchange is the default ""
  bool declared = false;    // by this run, so it deletes the queue at the end
};

struct ProducerRoute {
  std::string routing_key;
  std::vector<int> queues;  // indexes into Topology::queues that each message reaches
};

struct Topology {
  std::string exchange;  // "" is the default exchange
  std::string exchange_type;
  bool declare_exchange = false;  // false for "" and amq.*, which exist already
  bool durable_queues = false;
  std::vector<QueuePlan> queues;
  std::vector<ProducerRoute> producers;
  std::vector<std::vector<int>> consumers;  // queues each consumer drains
};

// Plans the run's topology; `run_id` makes generated names and keys unique to the run.
// Routes are complete only after DeclareTopology (server-named queues, default exchange).
Topology PlanTopology(const Options& options, std::string_view run_id);

// On channel 1 of `setup`: declares the exchange (if declare_exchange), the queues
// (recording server-generated names) and the bindings, then fills in every producer's
// route. If the exchange exists with other properties (406), it is used as it is and
// *warning says so. Fails with the broker's channel or connection error.
amqp::Status DeclareTopology(Connection& setup, Topology* topology, std::string* warning);

// Deletes every queue in `topology` that this run declared, on a channel of `setup` opened
// for it (channel 1 may have been closed by a failed declaration). Returns the first
// failure but tries every queue.
amqp::Status DeleteQueues(Connection& setup, const Topology& topology);

}  // namespace warren::perf
