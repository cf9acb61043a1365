// Queue types: x-queue-type validation and each type's rules for new queues.

#include "server/queue_type.h"

#include <algorithm>
#include <string>

namespace warren::server {

namespace {

using amqp::ReplyCode;
using amqp::Status;

// The queue arguments RabbitMQ 3.10 knows (rabbit_amqqueue:declare_args and the queue
// types' capabilities) that classic queues refuse ... except x-delivery-limit, which
// RabbitMQ 3.10 refuses on classic queues but Warren supports there as an extension.
constexpr std::string_view kClassicRefuses[] = {
    "x-dead-letter-strategy",
    "x-max-in-memory-length",
    "x-max-in-memory-bytes",
    "x-quorum-initial-group-size",
    "x-max-age",
    "x-initial-cluster-size",
    "x-stream-max-segment-size-bytes",
    "x-queue-leader-locator",
};

// ... and that quorum queues refuse. Arguments RabbitMQ does not know (x-foo) are accepted
// by both, as RabbitMQ accepts them.
constexpr std::string_view kQuorumRefuses[] = {
    "x-max-priority",
    "x-queue-mode",
    "x-queue-version",
    "x-queue-master-locator",
    "x-max-age",
    "x-initial-cluster-size",
    "x-stream-max-segment-size-bytes",
};

// RabbitMQ's module name for a type, which its error texts show.
std::string_view ModuleName(QueueType type) {
  switch (type) {
    case QueueType::kClassic:
      return "rabbit_classic_queue";
    case QueueType::kQuorum:
      return "rabbit_quorum_queue";
    case QueueType::kStream:
      return "rabbit_stream_queue";
  }
  return "rabbit_classic_queue";
}

Status PreconditionFailed(std::string text) {
  return Status::Error(ReplyCode::kPreconditionFailed, std::move(text));
}

// "invalid arg 'x-queue-type' for queue 'q' in vhost '/': <reason>"
Status InvalidQueueType(std::string_view resource, std::string_view reason) {
  return PreconditionFailed("invalid arg 'x-queue-type' for " + std::string(resource) + ": " +
                            std::string(reason));
}

// rabbit_amqqueue:check_queue_type, its reasons printed with ~p.
Status CheckTypeArgument(const amqp::FieldValue* value, std::string_view resource) {
  if (value == nullptr) return Status::Ok();
  const std::string* name =
      std::get_if<std::string>(&static_cast<const amqp::FieldVariant&>(*value));
  if (name == nullptr) {
    return InvalidQueueType(resource,
                            "{unacceptable_type," + std::string(amqp::FieldTypeName(*value)) + "}");
  }
  if (*name != "classic" && *name != "quorum" && *name != "stream") {
    return InvalidQueueType(resource, "\"unsupported queue type '" + *name + "'\"");
  }
  return Status::Ok();
}

// The first argument, in wire order, that `type` refuses.
Status CheckSupportedArguments(QueueType type, const amqp::FieldTable& arguments,
                               std::string_view resource) {
  for (const amqp::FieldEntry& entry : arguments.entries) {
    if (!QueueTypeSupports(type, entry.name)) {
      return PreconditionFailed("invalid arg '" + entry.name + "' for " + std::string(resource) +
                                " of queue type " + std::string(ModuleName(type)));
    }
  }
  return Status::Ok();
}

// rabbit_quorum_queue:declare's property checks, in its order.
Status CheckQuorumProperties(const amqp::QueueDeclare& declare, std::string_view resource) {
  const auto invalid = [&](std::string_view property) {
    return PreconditionFailed("invalid property '" + std::string(property) + "' for " +
                              std::string(resource));
  };
  if (declare.auto_delete) return invalid("auto-delete");
  if (declare.exclusive) return invalid("exclusive-owner");
  if (!declare.durable) return invalid("non-durable");
  return Status::Ok();
}

}  // namespace

QueueType QueueTypeOf(const amqp::FieldTable& arguments) {
  const amqp::FieldValue* value = arguments.Find("x-queue-type");
  if (value == nullptr) return QueueType::kClassic;
  const std::string* name =
      std::get_if<std::string>(&static_cast<const amqp::FieldVariant&>(*value));
  if (name == nullptr) return QueueType::kClassic;
  if (*name == "quorum") return QueueType::kQuorum;
  if (*name == "stream") return QueueType::kStream;
  return QueueType::kClassic;
}

bool QueueTypeSupports(QueueType type, std::string_view arg) {
  const auto refuses = [&](const auto& list) {
    return std::find(std::begin(list), std::end(list), arg) != std::end(list);
  };
  return !(type == QueueType::kQuorum ? refuses(kQuorumRefuses) : refuses(kClassicRefuses));
}

bool IsClassicQueueType(const amqp::FieldValue* x_queue_type) {
  if (x_queue_type == nullptr) return true;
  const std::string* name =
      std::get_if<std::string>(&static_cast<const amqp::FieldVariant&>(*x_queue_type));
  return name != nullptr && *name == "classic";
}

Status CheckQueueType(const amqp::QueueDeclare& declare, std::string_view resource) {
  const QueueType type = QueueTypeOf(declare.arguments);
  if (type == QueueType::kQuorum && declare.queue.empty()) {
    return PreconditionFailed("Cannot declare a server-named queue for type " +
                              std::string(ModuleName(type)));
  }
  Status s = CheckTypeArgument(declare.arguments.Find("x-queue-type"), resource);
  if (!s.ok()) return s;
  if (type == QueueType::kStream) {
    return InvalidQueueType(resource, "stream queues are not supported by Warren yet");
  }
  return Status::Ok();
}

Status CheckQueueTypeRestrictions(const amqp::QueueDeclare& declare, std::string_view resource) {
  const QueueType type = QueueTypeOf(declare.arguments);
  Status s = CheckSupportedArguments(type, declare.arguments, resource);
  if (!s.ok()) return s;
  return type == QueueType::kQuorum ? CheckQuorumProperties(declare, resource) : Status::Ok();
}

}  // namespace warren::server
