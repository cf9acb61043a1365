// Queue types: the x-queue-type argument of queue.declare and the rules each type sets on
// a new queue, as RabbitMQ 3.10 states them (its rabbit_queue_type capabilities and the
// checks of rabbit_amqqueue and rabbit_quorum_queue).
//
// Warren runs every queue the same way; the type is kept so that later code can apply a
// type's semantics (e.g. quorum's delivery limit) by asking QueueOptions::type.

#pragma once

#include <string_view>

#include "amqp/generated/methods.h"
#include "amqp/status.h"
#include "amqp/table.h"

namespace warren::server {

enum class QueueType { kClassic, kQuorum, kStream };

// The type `arguments` (a queue's declare arguments) ask for: classic unless x-queue-type
// is the longstr "quorum" or "stream". Requires arguments that passed CheckQueueType.
QueueType QueueTypeOf(const amqp::FieldTable& arguments);

// True if `x_queue_type` (an x-queue-type argument, nullptr when absent) means classic.
// RabbitMQ takes a missing x-queue-type and "classic" as equivalent on redeclaration.
bool IsClassicQueueType(const amqp::FieldValue* x_queue_type);

// Whether queues of `type` support argument `arg`: false for the arguments RabbitMQ knows
// and refuses for that type (see CheckQueueType). RabbitMQ compares only supported
// arguments when a queue is redeclared.
bool QueueTypeSupports(QueueType type, std::string_view arg);

// The two checks of a declaration that creates a new queue (not passive, no queue of that
// name yet), in RabbitMQ's order. `resource` names the queue for error texts as RabbitMQ
// does: "queue 'q' in vhost '/'". Both fail with 406 PRECONDITION_FAILED and RabbitMQ's
// reply text.
//
// First CheckQueueType:
//  - a quorum queue may not be server-named (declare.queue empty);
//  - x-queue-type must be a longstr naming classic, quorum or stream;
//  - stream queues are refused (Warren does not implement them yet).
// Then RabbitMQ validates the values of the arguments the type supports (and only those:
// x-max-priority "x" on a quorum queue is refused as unsupported, not as a bad value).
// Then CheckQueueTypeRestrictions:
//  - no argument that RabbitMQ knows but the type does not support, the first in wire
//    order reported (x-max-priority on quorum, x-max-age on classic, ...); Warren's classic
//    queues accept x-delivery-limit, which RabbitMQ 3.10 refuses on them;
//  - a quorum queue may not be auto-delete or exclusive and must be durable.
amqp::Status CheckQueueType(const amqp::QueueDeclare& declare, std::string_view resource);
amqp::Status CheckQueueTypeRestrictions(const amqp::QueueDeclare& declare,
                                        std::string_view resource);

}  // namespace warren::server
