// Planning, declaring and deleting a run's exchange and queues (see topology.h).

#include "bench/perf/topology.h"

namespace warren::perf {

namespace {

// True if a message published with `routing_key` reaches `queue` through `topology`'s
// exchange. Binding keys are literal, so for topic exchanges equality is a match too.
bool Reaches(const Topology& topology, const QueuePlan& queue, std::string_view routing_key) {
  if (topology.exchange.empty()) return queue.name == routing_key;
  if (topology.exchange_type == "fanout") return true;
  return queue.binding_key == routing_key;
}

std::string QueueName(const Options& options, int index, int count) {
  if (options.queue.empty()) return "";  // server-named
  if (count == 1 && options.queues == 0 && options.fanout == 0) return options.queue;
  return options.queue + "-" + std::to_string(index);
}

}  // namespace

Topology PlanTopology(const Options& options, std::string_view run_id) {
  Topology t;
  t.exchange = options.exchange;
  t.exchange_type = options.exchange_type;
  t.declare_exchange = !t.exchange.empty() && t.exchange.rfind("amq.", 0) != 0;
  t.durable_queues = options.persistent;

  const std::string base_key = !options.routing_key.empty() ? options.routing_key
                               : !options.queue.empty()     ? options.queue
                                                            : "warren-perf-" + std::string(run_id);
  int queue_count = options.consumers;  // default: one per consumer
  if (options.queues > 0) queue_count = options.queues;
  if (options.fanout > 0) queue_count = options.fanout;
  if (options.queues == 0 && options.fanout == 0 && !options.queue.empty()) queue_count = 1;

  for (int i = 0; i < queue_count; ++i) {
    QueuePlan q;
    q.name = QueueName(options, i, queue_count);
    q.binding_key = options.queues > 1 ? base_key + "." + std::to_string(i) : base_key;
    t.queues.push_back(std::move(q));
  }
  for (int p = 0; p < options.producers; ++p) {
    ProducerRoute route;
    if (options.queues > 1) {
      route.routing_key = t.queues[static_cast<size_t>(p % queue_count)].binding_key;
    } else {
      route.routing_key = base_key;
    }
    t.producers.push_back(std::move(route));
  }
  t.consumers.resize(static_cast<size_t>(options.consumers));
  if (queue_count > 0) {
    const int c_count = options.consumers;
    for (int c = 0; c < c_count; ++c) {
      if (c_count >= queue_count) {
        t.consumers[static_cast<size_t>(c)].push_back(c % queue_count);
      } else {
        for (int i = c; i < queue_count; i += c_count)
          t.consumers[static_cast<size_t>(c)].push_back(i);
      }
    }
  }
  return t;
}

amqp::Status DeclareTopology(Connection& setup, Topology* t, std::string* warning) {
  if (t->declare_exchange) {
    amqp::ExchangeDeclare declare;
    declare.exchange = t->exchange;
    declare.type = t->exchange_type;
    amqp::ExchangeDeclareOk ok;
    amqp::Status status = setup.Call(1, declare, &ok);
    if (status.code() == amqp::ReplyCode::kPreconditionFailed) {
      *warning = "exchange '" + t->exchange + "' exists with other properties (" + status.text() +
                 "); using it as it is";
      status = setup.OpenChannel(1);
      if (!status.ok()) return status;
      declare.passive = true;
      status = setup.Call(1, declare, &ok);
    }
    if (!status.ok()) return status;
  }
  for (QueuePlan& q : t->queues) {
    amqp::QueueDeclare declare;
    declare.queue = q.name;
    declare.durable = t->durable_queues;
    amqp::QueueDeclareOk ok;
    amqp::Status status = setup.Call(1, declare, &ok);
    if (!status.ok()) return status;
    q.name = std::string(ok.queue);
    q.declared = true;
    if (t->exchange.empty()) continue;
    amqp::QueueBind bind;
    bind.queue = q.name;
    bind.exchange = t->exchange;
    bind.routing_key = q.binding_key;
    amqp::QueueBindOk bind_ok;
    status = setup.Call(1, bind, &bind_ok);
    if (!status.ok()) return status;
  }
  // With the default exchange a routing key names a queue, known only now.
  if (t->exchange.empty() && !t->queues.empty()) {
    for (size_t p = 0; p < t->producers.size(); ++p) {
      t->producers[p].routing_key = t->queues[p % t->queues.size()].name;
    }
  }
  for (ProducerRoute& route : t->producers) {
    route.queues.clear();
    for (size_t i = 0; i < t->queues.size(); ++i) {
      if (Reaches(*t, t->queues[i], route.routing_key)) route.queues.push_back(static_cast<int>(i));
    }
  }
  return amqp::Status::Ok();
}

amqp::Status DeleteQueues(Connection& setup, const Topology& t) {
  constexpr uint16_t kChannel = 2;
  amqp::Status first;
  bool open = false;
  for (const QueuePlan& q : t.queues) {
    if (!q.declared) continue;
    amqp::Status status;
    if (!open) status = setup.OpenChannel(kChannel);
    open = status.ok();
    if (open) {
      amqp::QueueDelete del;
      del.queue = q.name;
      amqp::QueueDeleteOk ok;
      status = setup.Call(kChannel, del, &ok);
      open = status.ok();  // a channel error closed it; the next deletion reopens it
    }
    if (status.ok()) continue;
    if (first.ok()) first = status;
    if (amqp::IsConnectionError(status.code())) return first;
  }
  return first;
}

}  // namespace warren::perf
