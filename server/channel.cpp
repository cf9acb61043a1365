// Channel: the channel-level methods of AMQP 0-9-1 as RabbitMQ 3.10 implements them.

#include "server/channel.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "server/broker.h"
#include "server/connection.h"
#include "server/delayed_exchange.h"
#include "server/direct_reply_to.h"
#include "server/enqueue_routed.h"
#include "server/headers_match.h"
#include "server/message_edit.h"
#include "server/queue_settings.h"
#include "server/queue_type.h"
#include "server/sender_selected.h"
#include "server/vhost.h"

namespace warren::server {

namespace {

using amqp::ReplyCode;
using amqp::Status;

Status Error(ReplyCode code, std::string text) { return Status::Error(code, std::move(text)); }

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string InVhost(std::string_view kind, std::string_view name, const VirtualHost& vhost) {
  return std::string(kind) + " " + Quote(name) + " in vhost " + Quote(vhost.name());
}

Status NoQueue(std::string_view name, const VirtualHost& vhost) {
  return Error(ReplyCode::kNotFound, "no " + InVhost("queue", name, vhost));
}

Status NoExchange(std::string_view name, const VirtualHost& vhost) {
  return Error(ReplyCode::kNotFound, "no " + InVhost("exchange", name, vhost));
}

Status Locked(std::string_view queue, const VirtualHost& vhost) {
  return Error(ReplyCode::kResourceLocked,
               "cannot obtain exclusive access to locked " + InVhost("queue", queue, vhost) +
                   ". It could be originally declared on another connection or the exclusive "
                   "property value does not match that of the original declaration.");
}

Status UnknownDeliveryTag(uint64_t tag) {
  return Error(ReplyCode::kPreconditionFailed, "unknown delivery tag " + std::to_string(tag));
}

Status DefaultExchangeRefused() {
  return Error(ReplyCode::kAccessRefused, "operation not permitted on the default exchange");
}

std::string_view BoolText(bool b) { return b ? "true" : "false"; }

Status Inequivalent(std::string_view arg, std::string_view kind, std::string_view name,
                    const VirtualHost& vhost, std::string_view received, std::string_view current) {
  return Error(ReplyCode::kPreconditionFailed,
               "inequivalent arg " + Quote(arg) + " for " + InVhost(kind, name, vhost) +
                   ": received " + Quote(received) + " but current is " + Quote(current));
}

// A field value as RabbitMQ prints it in error texts: numbers and strings plainly.
std::string FormatFieldValue(const amqp::FieldValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_arithmetic_v<T>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else if constexpr (std::is_same_v<T, amqp::ByteArray>) {
          return v.bytes;
        } else {
          return "...";
        }
      },
      static_cast<const amqp::FieldVariant&>(value));
}

// "received '11' but current is '10'", or with one side missing
// "received none but current is the value '60000' of type 'signedint'".
std::string DescribeArgDifference(const amqp::FieldValue* received,
                                  const amqp::FieldValue* current) {
  auto describe = [&](const amqp::FieldValue* v) -> std::string {
    if (v == nullptr) return "none";
    if (received != nullptr && current != nullptr) return Quote(FormatFieldValue(*v));
    return "the value " + Quote(FormatFieldValue(*v)) + " of type " +
           Quote(amqp::FieldTypeName(*v));
  };
  return "received " + describe(received) + " but current is " + describe(current);
}

// 406 if argument `arg` of a redeclaration (`received`) differs from the entity's
// (`current`); `resource` is "queue 'q' in vhost '/'" or the like.
Status CheckArgEquivalent(std::string_view arg, const amqp::FieldTable& received_arguments,
                          const amqp::FieldTable& current_arguments, std::string_view resource) {
  const amqp::FieldValue* received = received_arguments.Find(arg);
  const amqp::FieldValue* current = current_arguments.Find(arg);
  const bool same = (received == nullptr && current == nullptr) ||
                    (received != nullptr && current != nullptr && *received == *current);
  if (same) return Status::Ok();
  return Error(ReplyCode::kPreconditionFailed, "inequivalent arg " + Quote(arg) + " for " +
                                                   std::string(resource) + ": " +
                                                   DescribeArgDifference(received, current));
}

// The x- arguments RabbitMQ checks for equivalence when a queue is redeclared.
constexpr std::string_view kQueueEquivalenceArgs[] = {
    "x-expires",    "x-message-ttl",      "x-dead-letter-exchange",   "x-dead-letter-routing-key",
    "x-max-length", "x-max-length-bytes", "x-max-priority",           "x-overflow",
    "x-queue-mode", "x-queue-type",       "x-single-active-consumer", "x-delivery-limit",
};

// basic.consume's x-priority, 0 if absent. RabbitMQ takes any integer type but timestamp.
Status ConsumerPriority(const amqp::FieldTable& arguments, std::string_view queue,
                        const VirtualHost& vhost, int64_t* priority) {
  *priority = 0;
  const amqp::FieldValue* value = arguments.Find("x-priority");
  if (value == nullptr) return Status::Ok();
  const std::optional<int64_t> integer = amqp::IntegerValue(*value);
  if (!integer) {
    return Error(ReplyCode::kPreconditionFailed,
                 "invalid arg 'x-priority' for " + InVhost("queue", queue, vhost) +
                     ": \"expected integer, got " + std::string(FieldTypeName(*value)) + "\"");
  }
  *priority = *integer;
  return Status::Ok();
}

}  // namespace

Channel::Channel(Connection* connection, VirtualHost* vhost, uint16_t id)
    : connection_(connection), vhost_(vhost), id_(id) {}

Channel::~Channel() = default;

template <class M>
void Channel::Send(const M& method) {
  connection_->Send(id_, method);
}

Status Channel::HandleFrame(const amqp::Frame& frame) {
  if (closed_) return Status::Ok();
  switch (frame.type) {
    case amqp::kFrameMethod:
      return HandleMethod(frame.payload);
    case amqp::kFrameHeader:
      return OnHeader(frame.payload);
    case amqp::kFrameBody:
      return OnBody(frame.payload);
    default:
      return Status::Ok();
  }
}

Status Channel::HandleMethod(std::string_view payload) {
  // Errors name the method, even one whose arguments cannot be decoded.
  amqp::Decoder ids(payload);
  class_id_ = ids.Short();
  method_id_ = ids.Short();
  // The methods every message brings are decoded straight into their struct.
  switch (amqp::MakeMethodId(class_id_, method_id_)) {
    case amqp::MethodId::kBasicPublish:
      return HandleHotMethod<amqp::BasicPublish>(payload);
    case amqp::MethodId::kBasicAck:
      return HandleHotMethod<amqp::BasicAck>(payload);
    default:
      break;
  }
  amqp::Method method;
  Status status = amqp::DecodeMethod(payload, &method);
  if (!status.ok()) return status;
  status = assembler_.OnMethod(amqp::InfoOf(method).has_content);
  if (!status.ok()) return status;
  return std::visit([this](const auto& m) { return On(m); }, method);
}

template <class M>
Status Channel::HandleHotMethod(std::string_view payload) {
  M method;
  Status status = amqp::DecodeMethodArguments(payload.substr(4), &method);
  if (!status.ok()) return status;
  status = assembler_.OnMethod(M::kHasContent);
  if (!status.ok()) return status;
  return On(method);
}

template <class M>
Status Channel::On(const M&) {
  return Error(ReplyCode::kCommandInvalid, "unimplemented method");  // RabbitMQ's words
}

// ---------------------------------------------------------------------------------------
// Channel lifecycle

Status Channel::On(const amqp::ChannelClose&) {
  Teardown();
  Send(amqp::ChannelCloseOk{});
  return Status::Ok();
}

Status Channel::On(const amqp::ChannelCloseOk&) { return Status::Ok(); }

Status Channel::On(const amqp::ChannelFlow& m) {
  // As in RabbitMQ, a client may not stop the broker's deliveries this way (basic.qos is
  // the tool for that).
  if (!m.active) return Error(ReplyCode::kNotImplemented, "active=false");
  flow_active_ = m.active;
  Send(amqp::ChannelFlowOk{m.active});
  if (flow_active_) ResumeDeliveries();
  return Status::Ok();
}

void Channel::Teardown() {
  if (closed_) return;
  closed_ = true;
  // Cancel consumers first, so that requeued messages are not offered back to them.
  std::vector<Queue*> consumed;
  for (auto& [tag, consumer] : consumers_) {
    consumer->queue->RemoveConsumer(consumer.get());
    consumed.push_back(consumer->queue);
  }
  consumers_.clear();
  CancelReplies();
  for (Unacked& u : unacked_) u.consumer = nullptr;
  Requeue(std::vector<Unacked>(std::make_move_iterator(unacked_.begin()),
                               std::make_move_iterator(unacked_.end())));
  unacked_.clear();
  for (Queue* queue : consumed) {
    // The queue may already be gone if an earlier one in this list was the same queue.
    if (vhost_->FindQueue(queue->name()) != queue) continue;
    // As RabbitMQ, let the queue push again when a consuming channel goes, even if nothing
    // was requeued: a single active consumer may have handed over to another.
    queue->Dispatch();
    vhost_->MaybeAutoDeleteQueue(queue);
  }
}

// ---------------------------------------------------------------------------------------
// Exchanges

Status Channel::FindExchange(std::string_view name, Exchange** exchange) const {
  *exchange = vhost_->FindExchange(name);
  if (*exchange == nullptr) return NoExchange(name, *vhost_);
  return Status::Ok();
}

Status Channel::On(const amqp::ExchangeDeclare& m) {
  if (m.exchange.empty()) return DefaultExchangeRefused();
  Exchange* existing = vhost_->FindExchange(m.exchange);
  if (m.passive) {
    if (existing == nullptr) return NoExchange(m.exchange, *vhost_);
    if (!m.no_wait) Send(amqp::ExchangeDeclareOk{});
    return Status::Ok();
  }
  // A delayed exchange's routing type comes from its x-delayed-type, checked on creation.
  const bool delayed = m.type == kDelayedMessageType;
  auto type = delayed ? std::optional(ExchangeType::kDirect) : ParseExchangeType(m.type);
  if (!type) {
    return Error(ReplyCode::kCommandInvalid, "invalid exchange type " + Quote(m.type));
  }
  if (existing != nullptr) {
    const ExchangeOptions& o = existing->options();
    if (m.type != existing->type_name()) {
      return Inequivalent("type", "exchange", m.exchange, *vhost_, m.type, existing->type_name());
    }
    if (m.durable != o.durable) {
      return Inequivalent("durable", "exchange", m.exchange, *vhost_, BoolText(m.durable),
                          BoolText(o.durable));
    }
    if (m.auto_delete != o.auto_delete) {
      return Inequivalent("auto_delete", "exchange", m.exchange, *vhost_, BoolText(m.auto_delete),
                          BoolText(o.auto_delete));
    }
    if (m.internal != o.internal) {
      return Inequivalent("internal", "exchange", m.exchange, *vhost_, BoolText(m.internal),
                          BoolText(o.internal));
    }
    // The only argument RabbitMQ compares on an exchange.
    Status s = CheckArgEquivalent("alternate-exchange", m.arguments, o.arguments,
                                  InVhost("exchange", m.exchange, *vhost_));
    if (!s.ok()) return s;
  } else {
    if (m.exchange.starts_with("amq.")) {
      return Error(ReplyCode::kAccessRefused,
                   "exchange name " + Quote(m.exchange) + " contains reserved prefix 'amq.*'");
    }
    const amqp::FieldValue* alternate = m.arguments.Find("alternate-exchange");
    if (alternate != nullptr && alternate->tag() != 'S') {
      return Error(ReplyCode::kPreconditionFailed, "invalid type " +
                                                       Quote(amqp::FieldTypeName(*alternate)) +
                                                       " for arg 'alternate-exchange' in " +
                                                       InVhost("exchange", m.exchange, *vhost_));
    }
    if (delayed) {
      Status s = DelayedTypeOf(m.arguments, &*type);
      if (!s.ok()) return s;
    }
    vhost_->AddExchange(std::string(m.exchange), *type,
                        ExchangeOptions{m.durable, m.auto_delete, m.internal, m.arguments},
                        delayed);
  }
  if (!m.no_wait) Send(amqp::ExchangeDeclareOk{});
  return Status::Ok();
}

Status Channel::On(const amqp::ExchangeDelete& m) {
  if (m.exchange.empty()) return DefaultExchangeRefused();
  if (m.exchange.starts_with("amq.")) {
    return Error(ReplyCode::kAccessRefused,
                 "deletion of system " + InVhost("exchange", m.exchange, *vhost_) + " not allowed");
  }
  Exchange* exchange = vhost_->FindExchange(m.exchange);
  if (exchange != nullptr) {
    if (m.if_unused && !exchange->bindings().empty()) {
      return Error(ReplyCode::kPreconditionFailed,
                   InVhost("exchange", m.exchange, *vhost_) + " in use");
    }
    vhost_->DeleteExchange(exchange);
  }
  if (!m.no_wait) Send(amqp::ExchangeDeleteOk{});
  return Status::Ok();
}

Status Channel::On(const amqp::ExchangeBind& m) {
  if (m.source.empty() || m.destination.empty()) return DefaultExchangeRefused();
  Exchange* source;
  Exchange* destination;
  Status s = FindExchange(m.destination, &destination);
  if (s.ok()) s = FindExchange(m.source, &source);
  if (!s.ok()) return s;
  if (source->type() == ExchangeType::kHeaders) {
    s = ValidateHeadersBinding(m.arguments);
    if (!s.ok()) return s;
  }
  vhost_->Bind(source, Binding{destination, std::string(m.routing_key), m.arguments});
  if (!m.no_wait) Send(amqp::ExchangeBindOk{});
  return Status::Ok();
}

Status Channel::On(const amqp::ExchangeUnbind& m) {
  if (m.source.empty() || m.destination.empty()) return DefaultExchangeRefused();
  Exchange* source = vhost_->FindExchange(m.source);
  Exchange* destination = vhost_->FindExchange(m.destination);
  if (source != nullptr && destination != nullptr) {
    if (vhost_->Unbind(source, Binding{destination, std::string(m.routing_key), m.arguments})) {
      vhost_->MaybeAutoDeleteExchange(source);
    }
  }
  if (!m.no_wait) Send(amqp::ExchangeUnbindOk{});
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Queues

std::string Channel::ResolveQueueName(std::string_view name) const {
  return name.empty() ? last_queue_ : std::string(name);
}

Status Channel::FindQueue(const std::string& name, Queue** queue) const {
  *queue = vhost_->FindQueue(name);
  if (*queue == nullptr) return NoQueue(name, *vhost_);
  const Connection* owner = (*queue)->options().owner;
  if (owner != nullptr && owner != connection_) return Locked(name, *vhost_);
  return Status::Ok();
}

Status Channel::CheckQueueArguments(const std::string& name,
                                    const amqp::FieldTable& arguments) const {
  // RabbitMQ's channel checks the dead-letter exchange's type first, in its own words.
  if (const amqp::FieldValue* dlx = arguments.Find("x-dead-letter-exchange")) {
    if (!std::holds_alternative<std::string>(*dlx)) {
      return Error(ReplyCode::kPreconditionFailed,
                   "invalid type " + Quote(amqp::FieldTypeName(*dlx)) +
                       " for arg 'x-dead-letter-exchange' in " + InVhost("queue", name, *vhost_));
    }
  }
  // Arguments the queue's type refuses are reported by CheckQueueTypeRestrictions instead.
  const QueueType type = QueueTypeOf(arguments);
  amqp::FieldTable supported;
  for (const amqp::FieldEntry& e : arguments.entries) {
    if (QueueTypeSupports(type, e.name)) supported.entries.push_back(e);
  }
  QueueSettings settings;
  return ParseQueueArguments(supported, InVhost("queue", name, *vhost_), &settings);
}

Status Channel::On(const amqp::QueueDeclare& m) {
  if (m.queue.starts_with(kDirectReplyQueue)) return DeclareReplyQueue(m);
  std::string name(m.queue);
  if (m.passive) {
    Queue* queue;
    Status s = FindQueue(ResolveQueueName(name), &queue);
    if (!s.ok()) return s;
    queue->Touch();
    last_queue_ = queue->name();
    if (!m.no_wait) {
      Send(amqp::QueueDeclareOk{queue->name(), static_cast<uint32_t>(queue->message_count()),
                                static_cast<uint32_t>(queue->consumer_count())});
    }
    return Status::Ok();
  }
  if (name.empty()) name = connection_->broker()->GenerateName("amq.gen-");
  Queue* queue = vhost_->FindQueue(name);
  if (queue != nullptr) {
    Status s = FindQueue(name, &queue);
    if (!s.ok()) return s;
    const QueueOptions& o = queue->options();
    if (m.durable != o.durable) {
      return Inequivalent("durable", "queue", name, *vhost_, BoolText(m.durable),
                          BoolText(o.durable));
    }
    if (m.auto_delete != o.auto_delete) {
      return Inequivalent("auto_delete", "queue", name, *vhost_, BoolText(m.auto_delete),
                          BoolText(o.auto_delete));
    }
    // RabbitMQ checks exclusivity strictly on redeclaration.
    if (m.exclusive != o.exclusive) return Locked(name, *vhost_);
    for (std::string_view arg : kQueueEquivalenceArgs) {
      if (!QueueTypeSupports(o.type, arg)) continue;  // RabbitMQ ignores what it refuses
      if (arg == "x-queue-type" && IsClassicQueueType(m.arguments.Find(arg)) &&
          IsClassicQueueType(o.arguments.Find(arg))) {
        continue;
      }
      s = CheckArgEquivalent(arg, m.arguments, o.arguments, InVhost("queue", name, *vhost_));
      if (!s.ok()) return s;
    }
  } else {
    if (name.starts_with("amq.") && !m.queue.empty()) {
      return Error(ReplyCode::kAccessRefused,
                   "queue name " + Quote(name) + " contains reserved prefix 'amq.*'");
    }
    // RabbitMQ validates the values of the arguments between the two type checks.
    Status s = CheckQueueType(m, InVhost("queue", name, *vhost_));
    if (s.ok()) s = CheckQueueArguments(name, m.arguments);
    if (s.ok()) s = CheckQueueTypeRestrictions(m, InVhost("queue", name, *vhost_));
    if (!s.ok()) return s;
    QueueOptions options;
    options.durable = m.durable;
    options.exclusive = m.exclusive;
    options.auto_delete = m.auto_delete;
    options.owner = m.exclusive ? connection_ : nullptr;
    options.arguments = m.arguments;
    queue = vhost_->AddQueue(name, std::move(options));
  }
  queue->Touch();
  last_queue_ = name;
  if (!m.no_wait) {
    Send(amqp::QueueDeclareOk{queue->name(), static_cast<uint32_t>(queue->message_count()),
                              static_cast<uint32_t>(queue->consumer_count())});
  }
  return Status::Ok();
}

Status Channel::On(const amqp::QueueBind& m) {
  if (m.exchange.empty()) return DefaultExchangeRefused();
  Queue* queue;
  Status s = FindQueue(ResolveQueueName(m.queue), &queue);
  if (!s.ok()) return s;
  Exchange* exchange;
  s = FindExchange(m.exchange, &exchange);
  if (!s.ok()) return s;
  if (exchange->type() == ExchangeType::kHeaders) {
    s = ValidateHeadersBinding(m.arguments);
    if (!s.ok()) return s;
  }
  // An empty routing key with an empty queue name means the last declared queue's name.
  std::string routing_key(m.routing_key);
  if (routing_key.empty() && m.queue.empty()) routing_key = queue->name();
  vhost_->Bind(exchange, Binding{queue, std::move(routing_key), m.arguments});
  if (!m.no_wait) Send(amqp::QueueBindOk{});
  return Status::Ok();
}

Status Channel::On(const amqp::QueueUnbind& m) {
  if (m.exchange.empty()) return DefaultExchangeRefused();
  Queue* queue;
  Status s = FindQueue(ResolveQueueName(m.queue), &queue);
  if (!s.ok()) return s;
  Exchange* exchange;
  s = FindExchange(m.exchange, &exchange);
  if (!s.ok()) return s;
  if (vhost_->Unbind(exchange, Binding{queue, std::string(m.routing_key), m.arguments})) {
    vhost_->MaybeAutoDeleteExchange(exchange);
  }
  Send(amqp::QueueUnbindOk{});
  return Status::Ok();
}

Status Channel::On(const amqp::QueuePurge& m) {
  Queue* queue;
  Status s = FindQueue(ResolveQueueName(m.queue), &queue);
  if (!s.ok()) return s;
  const size_t purged = queue->Purge();
  if (!m.no_wait) Send(amqp::QueuePurgeOk{static_cast<uint32_t>(purged)});
  return Status::Ok();
}

Status Channel::On(const amqp::QueueDelete& m) {
  const std::string name = ResolveQueueName(m.queue);
  Queue* queue = vhost_->FindQueue(name);
  size_t messages = 0;
  if (queue != nullptr) {
    Status s = FindQueue(name, &queue);
    if (!s.ok()) return s;
    if (m.if_unused && queue->consumer_count() != 0) {
      return Error(ReplyCode::kPreconditionFailed, InVhost("queue", name, *vhost_) + " in use");
    }
    if (m.if_empty && queue->message_count() != 0) {
      return Error(ReplyCode::kPreconditionFailed, InVhost("queue", name, *vhost_) + " not empty");
    }
    messages = vhost_->DeleteQueue(queue);
  }
  if (!m.no_wait) Send(amqp::QueueDeleteOk{static_cast<uint32_t>(messages)});
  return Status::Ok();
}

void Channel::OnQueueDeleted(Queue* queue) {
  for (auto it = consumers_.begin(); it != consumers_.end();) {
    if (it->second->queue != queue) {
      ++it;
      continue;
    }
    if (connection_->consumer_cancel_notify()) Send(amqp::BasicCancel{it->first, true});
    for (Unacked& u : unacked_) {
      if (u.consumer == it->second.get()) u.consumer = nullptr;
    }
    it = consumers_.erase(it);
  }
  for (Unacked& u : unacked_) {
    if (u.queue != queue) continue;
    queue->OnSettled(u.message);
    u.queue = nullptr;
  }
}

// ---------------------------------------------------------------------------------------
// Publishing

Status Channel::On(const amqp::BasicPublish& m) {
  if (m.immediate) return Error(ReplyCode::kNotImplemented, "immediate=true");
  // Copied: the frame buffer these views point into may move before the content arrives.
  // The strings keep their capacity, so this allocates nothing in the steady state.
  // (Both are short strings: the decoder guarantees at most 255 bytes each.)
  if (!m.exchange.empty()) std::memcpy(incoming_.names, m.exchange.data(), m.exchange.size());
  if (!m.routing_key.empty()) {
    std::memcpy(incoming_.names + m.exchange.size(), m.routing_key.data(), m.routing_key.size());
  }
  incoming_.exchange_size = static_cast<uint8_t>(m.exchange.size());
  incoming_.routing_key_size = static_cast<uint8_t>(m.routing_key.size());
  incoming_.mandatory = m.mandatory;
  incoming_.message = MessageRef();
  return Status::Ok();
}

Status Channel::OnHeader(std::string_view payload) {
  class_id_ = amqp::BasicPublish::kClassId;
  method_id_ = amqp::BasicPublish::kMethodId;
  amqp::ContentHeader header;
  bool complete = false;
  Status s = assembler_.OnHeader(payload, &header, &complete);
  if (!s.ok()) return s;
  const uint64_t body_size = header.body_size();
  const uint64_t max_size = connection_->broker()->config().max_message_size;
  if (body_size > max_size) {
    return Error(ReplyCode::kPreconditionFailed, "message size " + std::to_string(body_size) +
                                                     " is larger than configured max size " +
                                                     std::to_string(max_size));
  }
  if (const auto user_id = header.ShortString(amqp::Property::kUserId)) {
    if (*user_id != connection_->user()) {
      return Error(ReplyCode::kPreconditionFailed, "user_id property set to " + Quote(*user_id) +
                                                       " but authenticated user was " +
                                                       Quote(connection_->user()));
    }
  }
  if (const auto expiration = header.ShortString(amqp::Property::kExpiration)) {
    Status bad = ValidateExpiration(*expiration);
    if (!bad.ok()) return bad;
  }
  const bool persistent = header.Octet(amqp::Property::kDeliveryMode) == 2;
  // The flag test keeps messages without reply_to free of any decoding here.
  incoming_.direct_reply_to = header.Has(amqp::Property::kReplyTo) &&
                              header.ShortString(amqp::Property::kReplyTo) == kDirectReplyQueue;
  incoming_.body_size = body_size;
  incoming_.received = 0;
  if (body_size <= connection_->frame_max()) {
    // The usual case: the message block is allocated now and the body frames are copied
    // straight into it.
    incoming_.message = MessageRef(Message::Create(incoming_.exchange(), incoming_.routing_key(),
                                                   header.raw_properties(),
                                                   static_cast<size_t>(body_size), persistent));
  } else {
    // A large message is gathered in incoming_.staged as its frames arrive, so that a header
    // alone cannot make the broker allocate the whole declared size.
    incoming_.properties.assign(header.raw_properties());
    incoming_.persistent = persistent;
    incoming_.staged.clear();
  }
  return complete ? CompletePublish() : Status::Ok();
}

Status Channel::OnBody(std::string_view payload) {
  class_id_ = amqp::BasicPublish::kClassId;
  method_id_ = amqp::BasicPublish::kMethodId;
  bool complete = false;
  Status s = assembler_.OnBody(payload, &complete);
  if (!s.ok()) return s;
  if (incoming_.message) {
    std::memcpy(incoming_.message->mutable_body() + incoming_.received, payload.data(),
                payload.size());
  } else {
    incoming_.staged.append(payload);
  }
  incoming_.received += payload.size();
  return complete ? CompletePublish() : Status::Ok();
}

Status Channel::CompletePublish() {
  if (!incoming_.message) {
    incoming_.message =
        MessageRef(Message::Create(incoming_.exchange(), incoming_.routing_key(),
                                   incoming_.properties, incoming_.staged, incoming_.persistent));
    // Do not keep a large message's worth of capacity per channel.
    std::string().swap(incoming_.staged);
  }
  Publish publish{incoming_.mandatory, std::move(incoming_.message), {}};
  // Only a message with headers can carry CC or BCC; RabbitMQ checks the exchange first.
  if (LazyHeaders(publish.message->properties()).present()) {
    Status s = CheckPublishExchange(*publish.message);
    if (s.ok()) s = TakeSenderSelectedRoutes(&publish.message, &publish.sender_routes);
    if (!s.ok()) return s;
  }
  if (tx_mode_) {
    Status s = CheckPublishExchange(*publish.message);
    if (s.ok() && incoming_.direct_reply_to) s = SetReplyAddress(&publish);
    if (!s.ok()) return s;
    tx_publishes_.push_back(std::move(publish));
    return Status::Ok();
  }
  // A cached route means the exchange existed and was not internal at this version.
  const std::vector<Queue*>* queues =
      publish.sender_routes.empty() ? CachedRoute(*publish.message) : nullptr;
  if (queues == nullptr) {
    Status s = CheckPublishExchange(*publish.message);
    if (!s.ok()) return s;
  }
  if (incoming_.direct_reply_to) {
    Status s = SetReplyAddress(&publish);
    if (!s.ok()) return s;
  }
  if (queues == nullptr) queues = &ComputeRoute(*publish.message, publish.sender_routes);
  Route(publish, *queues);
  return Status::Ok();
}

Status Channel::CheckPublishExchange(const Message& message) const {
  Exchange* exchange;
  Status s = FindExchange(message.exchange(), &exchange);
  if (!s.ok()) return s;
  if (exchange->options().internal) {
    return Error(ReplyCode::kAccessRefused,
                 "cannot publish to internal " + InVhost("exchange", message.exchange(), *vhost_));
  }
  return Status::Ok();
}

const std::vector<Queue*>* Channel::CachedRoute(const Message& message) const {
  const RouteCache& c = route_cache_;
  if (c.topology_version != vhost_->topology_version()) return nullptr;
  const std::string_view exchange = message.exchange();
  const std::string_view routing_key = message.routing_key();
  if (c.exchange.size() != exchange.size() || c.routing_key.size() != routing_key.size() ||
      std::memcmp(c.exchange.data(), exchange.data(), exchange.size()) != 0 ||
      std::memcmp(c.routing_key.data(), routing_key.data(), routing_key.size()) != 0) {
    return nullptr;
  }
  return &c.queues;
}

const std::vector<Queue*>& Channel::ComputeRoute(const Message& message,
                                                 std::span<const std::string> sender_routes) {
  RouteResult& result = route_result_;
  result.queues.clear();
  result.visited.clear();
  result.used_headers = false;
  result.delayed.clear();
  route_keys_.assign(1, message.routing_key());
  route_keys_.insert(route_keys_.end(), sender_routes.begin(), sender_routes.end());
  if (message.exchange().empty()) {
    // The default exchange: each key names a queue.
    for (std::string_view key : route_keys_) {
      Queue* queue = vhost_->FindQueue(key);
      if (queue != nullptr &&
          std::find(result.queues.begin(), result.queues.end(), queue) == result.queues.end()) {
        result.queues.push_back(queue);
      }
    }
  } else if (const Exchange* exchange = vhost_->FindExchange(message.exchange())) {
    exchange->Route(route_keys_, LazyHeaders(message.properties()), &result);
  }
  // The route depends on this message's CC and BCC headers: not for the cache.
  if (!sender_routes.empty()) return result.queues;
  if (result.used_headers) {
    route_cache_.topology_version = 0;  // the next message may have other headers
    return result.queues;
  }
  route_cache_.topology_version = vhost_->topology_version();
  route_cache_.exchange.assign(message.exchange());
  route_cache_.routing_key.assign(message.routing_key());
  route_cache_.queues.assign(result.queues.begin(), result.queues.end());
  return route_cache_.queues;
}

const std::vector<Queue*>& Channel::RouteOf(const Publish& publish) {
  const std::vector<Queue*>* queues =
      publish.sender_routes.empty() ? CachedRoute(*publish.message) : nullptr;
  return queues != nullptr ? *queues : ComputeRoute(*publish.message, publish.sender_routes);
}

bool Channel::Route(const Publish& publish, const std::vector<Queue*>& queues) {
  const Message& message = *publish.message;
  // A reply to a direct reply-to address reaches no queue; as in RabbitMQ it still counts
  // as unroutable below (a mandatory one comes back even though it was delivered).
  if (queues.empty() && message.exchange().empty() && IsDirectReplyAddress(message.routing_key())) {
    if (Channel* channel = connection_->broker()->direct_reply_to().Find(message.routing_key())) {
      channel->DeliverReply(message);
    }
  }
  // A message that a delayed exchange holds counts as unroutable here, as with RabbitMQ's
  // delayed-message plugin: whether it will reach a queue is only known when it is due.
  if (queues.empty() && publish.mandatory) {
    connection_->SendWithContent(
        id_,
        amqp::BasicReturn{static_cast<uint16_t>(ReplyCode::kNoRoute), "NO_ROUTE",
                          message.exchange(), message.routing_key()},
        message);
  }
  // Enqueueing delivers to consumers but never routes or changes bindings, so `queues`
  // stays valid throughout. Queues at their length limit with x-overflow
  // reject-publish(-dlx) refuse the message, and the publisher gets a nack.
  const EnqueueOutcome outcome =
      EnqueueRouted(connection_->broker()->store(), publish.message, queues);
  const bool rejected = outcome.rejected;
  bool stored = outcome.stored;
  for (Queue* queue : queues) {
    if (queue->over_flow_limit() && connection_->PausePublishing()) {
      queue->AddPausedPublisher(connection_->weak_from_this());
    }
  }
  stored |= HoldDelayed(publish.message);
  if (!confirm_mode_) return stored;
  confirm_up_to_ = next_publish_seq_++;
  if (rejected) nacked_.push_back(confirm_up_to_);
  // Confirmed only once its batch is on disk.
  if (stored) {
    durable_waits_.push_back(
        DurableWait{confirm_up_to_, connection_->broker()->store()->last_write_batch()});
  }
  return stored;
}

bool Channel::HoldDelayed(const MessageRef& message) {
  // route_result_.delayed is this message's: a route through a delayed exchange is never
  // cached, and the list is emptied after each use, so a cached route finds it empty.
  bool stored = false;
  for (const Exchange* exchange : route_result_.delayed) {
    stored |= vhost_->FindDelayed(exchange)->Hold(message, route_result_.delay);
  }
  route_result_.delayed.clear();
  return stored;
}

bool Channel::FlushConfirms() {
  if (closed_) {
    durable_waits_.clear();
    commit_waits_.clear();
    return false;
  }
  if (!commit_waits_.empty()) {
    const uint64_t synced = connection_->broker()->store()->synced_batch();
    while (!commit_waits_.empty() && commit_waits_.front() <= synced) {
      Send(amqp::TxCommitOk{});
      commit_waits_.pop_front();
    }
  }
  uint64_t up_to = confirm_up_to_;
  if (!durable_waits_.empty()) {
    const uint64_t synced = connection_->broker()->store()->synced_batch();
    while (!durable_waits_.empty() && durable_waits_.front().batch <= synced) {
      durable_waits_.pop_front();
    }
    // Confirms go out in order: nothing from the first publish still waiting on.
    if (!durable_waits_.empty()) up_to = std::min(up_to, durable_waits_.front().publish_seq - 1);
  }
  // Nacks go one by one; the acks before and between them as ranges.
  auto ack_up_to = [this](uint64_t seq) {
    if (seq <= confirmed_up_to_) return;
    Send(amqp::BasicAck{seq, seq - confirmed_up_to_ > 1});
    confirmed_up_to_ = seq;
  };
  while (!nacked_.empty() && nacked_.front() <= up_to) {
    const uint64_t nack = nacked_.front();
    nacked_.pop_front();
    ack_up_to(nack - 1);
    Send(amqp::BasicNack{nack, false, false});
    confirmed_up_to_ = nack;
  }
  ack_up_to(up_to);
  return !durable_waits_.empty() || !commit_waits_.empty();
}

Status Channel::On(const amqp::ConfirmSelect& m) {
  if (tx_mode_) {
    return Error(ReplyCode::kPreconditionFailed, "cannot switch from tx to confirm mode");
  }
  confirm_mode_ = true;
  if (!m.nowait) Send(amqp::ConfirmSelectOk{});
  return Status::Ok();
}

Status Channel::On(const amqp::TxSelect&) {
  if (confirm_mode_) {
    return Error(ReplyCode::kPreconditionFailed, "cannot switch from confirm to tx mode");
  }
  tx_mode_ = true;
  Send(amqp::TxSelectOk{});
  return Status::Ok();
}

Status Channel::On(const amqp::TxCommit&) {
  if (!tx_mode_) return Error(ReplyCode::kPreconditionFailed, "channel is not transactional");
  std::vector<Publish> publishes = std::move(tx_publishes_);
  std::vector<PendingAck> acks = std::move(tx_acks_);
  tx_publishes_.clear();
  tx_acks_.clear();
  bool stored = false;
  for (const Publish& p : publishes) {
    stored |= Route(p, RouteOf(p));
  }
  for (const PendingAck& a : acks) {
    Status s = Acknowledge(a);
    if (!s.ok()) return s;
  }
  if (stored) {
    // As in RabbitMQ, commit-ok means the transaction's persistent messages are on disk.
    commit_waits_.push_back(connection_->broker()->store()->last_write_batch());
  } else {
    Send(amqp::TxCommitOk{});
  }
  return Status::Ok();
}

Status Channel::On(const amqp::TxRollback&) {
  if (!tx_mode_) return Error(ReplyCode::kPreconditionFailed, "channel is not transactional");
  tx_publishes_.clear();
  tx_acks_.clear();
  Send(amqp::TxRollbackOk{});
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Consuming

Status Channel::On(const amqp::BasicQos& m) {
  if (m.prefetch_size != 0) {
    return Error(ReplyCode::kNotImplemented,
                 "prefetch_size!=0 (" + std::to_string(m.prefetch_size) + ")");
  }
  if (m.global) {
    global_prefetch_count_ = m.prefetch_count;
  } else {
    prefetch_count_ = m.prefetch_count;
  }
  Send(amqp::BasicQosOk{});
  ResumeDeliveries();
  return Status::Ok();
}

Status Channel::On(const amqp::BasicConsume& m) {
  if (m.queue == kDirectReplyQueue) return ConsumeReplies(m);
  Queue* queue;
  Status s = FindQueue(ResolveQueueName(m.queue), &queue);
  if (!s.ok()) return s;
  int64_t priority;
  s = ConsumerPriority(m.arguments, queue->name(), *vhost_, &priority);
  if (!s.ok()) return s;
  std::string tag(m.consumer_tag);
  if (tag.empty()) tag = connection_->broker()->GenerateName("amq.ctag-");
  if (consumers_.count(tag) != 0) {
    return Error(ReplyCode::kNotAllowed, "attempt to reuse consumer tag " + Quote(tag));
  }
  const bool queue_has_exclusive = std::any_of(queue->consumers().begin(), queue->consumers().end(),
                                               [](const Consumer* c) { return c->exclusive; });
  // RabbitMQ 3.10 refuses an exclusive consumer on a single-active-consumer queue outright.
  const bool exclusive_refused =
      m.exclusive && (queue->consumer_count() != 0 || queue->single_active_consumer());
  if (queue_has_exclusive || exclusive_refused) {
    return Error(ReplyCode::kAccessRefused,
                 InVhost("queue", queue->name(), *vhost_) + " in exclusive use");
  }
  auto consumer = std::make_unique<Consumer>();
  consumer->channel = this;
  consumer->queue = queue;
  consumer->tag = tag;
  consumer->no_ack = m.no_ack;
  consumer->exclusive = m.exclusive;
  consumer->prefetch_count = prefetch_count_;
  consumer->priority = priority;
  consumer->arguments = m.arguments;
  Consumer* raw = consumer.get();
  consumers_[tag] = std::move(consumer);
  // consume-ok goes out before the first delivery.
  if (!m.no_wait) Send(amqp::BasicConsumeOk{tag});
  queue->AddConsumer(raw);
  return Status::Ok();
}

void Channel::CancelConsumer(std::map<std::string, std::unique_ptr<Consumer>>::iterator it) {
  Consumer* consumer = it->second.get();
  Queue* queue = consumer->queue;
  queue->RemoveConsumer(consumer);
  for (Unacked& u : unacked_) {
    if (u.consumer == consumer) u.consumer = nullptr;
  }
  consumers_.erase(it);
  vhost_->MaybeAutoDeleteQueue(queue);
}

Status Channel::On(const amqp::BasicCancel& m) {
  if (reply_consumer_ && reply_consumer_->tag == m.consumer_tag) {
    CancelReplies();
  } else if (auto it = consumers_.find(std::string(m.consumer_tag)); it != consumers_.end()) {
    CancelConsumer(it);
  }
  if (!m.no_wait) Send(amqp::BasicCancelOk{m.consumer_tag});
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Direct reply-to

Status Channel::ConsumeReplies(const amqp::BasicConsume& m) {
  std::string tag(m.consumer_tag);
  // In RabbitMQ's order: the tag, then no-ack, then one reply consumer per channel.
  if (consumers_.count(tag) != 0) {
    return Error(ReplyCode::kNotAllowed, "attempt to reuse consumer tag " + Quote(tag));
  }
  if (!m.no_ack) {
    return Error(ReplyCode::kPreconditionFailed, "reply consumer cannot acknowledge");
  }
  if (reply_consumer_) return Error(ReplyCode::kPreconditionFailed, "reply consumer already set");
  if (tag.empty()) tag = connection_->broker()->GenerateName("amq.ctag-");
  reply_consumer_ = ReplyConsumer{tag, connection_->broker()->direct_reply_to().Register(this)};
  if (!m.no_wait) Send(amqp::BasicConsumeOk{tag});
  return Status::Ok();
}

void Channel::CancelReplies() {
  if (!reply_consumer_) return;
  connection_->broker()->direct_reply_to().Unregister(reply_consumer_->address);
  reply_consumer_.reset();
}

Status Channel::SetReplyAddress(Publish* publish) const {
  if (!reply_consumer_) {
    return Error(ReplyCode::kPreconditionFailed, "fast reply consumer does not exist");
  }
  publish->message = WithReplyAddress(*publish->message, reply_consumer_->address);
  return Status::Ok();
}

void Channel::DeliverReply(const Message& message) {
  if (closed_ || !reply_consumer_) return;
  // Replies are never acknowledged; as in RabbitMQ they carry the channel's next delivery
  // tag without using it up.
  connection_->SendDelivery(id_,
                            amqp::BasicDeliver{reply_consumer_->tag, next_delivery_tag_, false,
                                               message.exchange(), message.routing_key()},
                            message);
}

Status Channel::DeclareReplyQueue(const amqp::QueueDeclare& m) {
  // As RabbitMQ: whatever the flags, the pseudo-queue and live addresses "exist" (with no
  // messages and one consumer); any other name with its prefix does not.
  if (m.queue != kDirectReplyQueue &&
      connection_->broker()->direct_reply_to().Find(m.queue) == nullptr) {
    return NoQueue(m.queue, *vhost_);
  }
  last_queue_ = std::string(m.queue);
  if (!m.no_wait) Send(amqp::QueueDeclareOk{m.queue, 0, 1});
  return Status::Ok();
}

bool Channel::CanDeliver(const Consumer& consumer) const {
  if (closed_ || !flow_active_ || !connection_->writable()) return false;
  if (consumer.no_ack) return true;
  if (consumer.prefetch_count != 0 && consumer.unacked >= consumer.prefetch_count) return false;
  return global_prefetch_count_ == 0 || consumer_unacked_ < global_prefetch_count_;
}

const Message& Channel::DeliveredForm(const Queue& queue, const QueuedMessage& message, bool get,
                                      MessageRef* holder) {
  const Message& m = *message.message;
  // Quorum queues leave the header off a consumer's first delivery but not basic.get's.
  if ((message.delivery_count == 0 && !get) || !queue.counts_deliveries()) return m;
  // As quorum queues do: redeliveries say how often the message came back.
  amqp::BasicProperties properties = DecodeProperties(m);
  if (!properties.headers) properties.headers.emplace();
  properties.headers->Set("x-delivery-count", int64_t{message.delivery_count});
  *holder = WithProperties(m, m.exchange(), m.routing_key(), properties);
  return **holder;
}

void Channel::Deliver(Consumer* consumer, QueuedMessage message) {
  const uint64_t tag = next_delivery_tag_++;
  MessageRef counted;
  const Message& m = DeliveredForm(*consumer->queue, message, false, &counted);
  connection_->SendDelivery(
      id_,
      amqp::BasicDeliver{consumer->tag, tag, message.redelivered, m.exchange(), m.routing_key()},
      m);
  if (consumer->no_ack) {
    consumer->queue->OnSettled(message);
    return;
  }
  consumer->queue->OnDelivered(&message);
  ++consumer->unacked;
  ++consumer_unacked_;
  unacked_.push_back(Unacked{tag, consumer->queue, consumer, true, std::move(message)});
}

void Channel::ResumeDeliveries() {
  std::vector<Queue*> queues;
  for (auto& [tag, consumer] : consumers_) queues.push_back(consumer->queue);
  for (Queue* queue : queues) queue->Dispatch();
}

Status Channel::On(const amqp::BasicGet& m) {
  Queue* queue;
  Status s = FindQueue(ResolveQueueName(m.queue), &queue);
  if (!s.ok()) return s;
  std::optional<QueuedMessage> message = queue->Take();
  if (!message) {
    Send(amqp::BasicGetEmpty{});
    return Status::Ok();
  }
  const uint64_t tag = next_delivery_tag_++;
  MessageRef counted;
  const Message& msg = DeliveredForm(*queue, *message, true, &counted);
  connection_->SendWithContent(
      id_,
      amqp::BasicGetOk{tag, message->redelivered, msg.exchange(), msg.routing_key(),
                       static_cast<uint32_t>(queue->message_count())},
      msg);
  if (m.no_ack) {
    queue->OnSettled(*message);
  } else {
    queue->OnDelivered(&*message);
    unacked_.push_back(Unacked{tag, queue, nullptr, false, std::move(*message)});
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Acknowledgements

std::deque<Channel::Unacked>::iterator Channel::FindUnacked(uint64_t tag) {
  auto it = std::lower_bound(unacked_.begin(), unacked_.end(), tag,
                             [](const Unacked& u, uint64_t t) { return u.tag < t; });
  return it != unacked_.end() && it->tag == tag ? it : unacked_.end();
}

Status Channel::TakeUnacked(uint64_t tag, bool multiple, std::vector<Unacked>* taken) {
  if (multiple) {
    if (tag != 0 && (unacked_.empty() || unacked_.front().tag > tag)) {
      return UnknownDeliveryTag(tag);
    }
    while (!unacked_.empty() && (tag == 0 || unacked_.front().tag <= tag)) {
      taken->push_back(std::move(unacked_.front()));
      unacked_.pop_front();
    }
    return Status::Ok();
  }
  auto it = FindUnacked(tag);
  if (it == unacked_.end()) return UnknownDeliveryTag(tag);
  taken->push_back(std::move(*it));
  unacked_.erase(it);
  return Status::Ok();
}

void Channel::Settle(const Unacked& delivery) {
  // A cancelled consumer's deliveries still hold channel-wide credit until settled.
  if (delivery.to_consumer) --consumer_unacked_;
  if (delivery.consumer != nullptr) --delivery.consumer->unacked;
}

void Channel::DispatchAfterSettling(const std::vector<Queue*>& touched) {
  if (global_prefetch_count_ != 0) {
    ResumeDeliveries();
    return;
  }
  for (Queue* queue : touched) queue->Dispatch();
}

void Channel::Requeue(std::vector<Unacked> deliveries) {
  std::vector<Queue*> touched;
  for (Unacked& u : deliveries) {
    Settle(u);
    if (u.queue == nullptr) continue;
    u.queue->Requeue(std::move(u.message));
    if (std::find(touched.begin(), touched.end(), u.queue) == touched.end()) {
      touched.push_back(u.queue);
    }
  }
  DispatchAfterSettling(touched);
}

Status Channel::Acknowledge(const PendingAck& ack) {
  if (ack.kind != AckKind::kAck && ack.requeue) {
    std::vector<Unacked> taken;
    Status s = TakeUnacked(ack.tag, ack.multiple, &taken);
    if (!s.ok()) return s;
    Requeue(std::move(taken));
    return Status::Ok();
  }
  // Settled in place, so that an ack allocates nothing.
  std::vector<Queue*>& touched = touched_queues_;
  touched.clear();
  const bool reject = ack.kind != AckKind::kAck;
  auto settle = [&](Unacked& u) {
    Settle(u);
    if (u.queue != nullptr) {
      if (reject) {
        u.queue->Reject(std::move(u.message));
      } else {
        u.queue->OnSettled(u.message);
      }
    }
    if (u.consumer != nullptr && u.queue != nullptr &&
        std::find(touched.begin(), touched.end(), u.queue) == touched.end()) {
      touched.push_back(u.queue);
    }
  };
  if (ack.multiple) {
    if (ack.tag != 0 && (unacked_.empty() || unacked_.front().tag > ack.tag)) {
      return UnknownDeliveryTag(ack.tag);
    }
    while (!unacked_.empty() && (ack.tag == 0 || unacked_.front().tag <= ack.tag)) {
      settle(unacked_.front());
      unacked_.pop_front();
    }
  } else {
    auto it = FindUnacked(ack.tag);
    if (it == unacked_.end()) return UnknownDeliveryTag(ack.tag);
    settle(*it);
    unacked_.erase(it);
  }
  DispatchAfterSettling(touched);
  return Status::Ok();
}

Status Channel::On(const amqp::BasicAck& m) {
  PendingAck ack{AckKind::kAck, m.delivery_tag, m.multiple, false};
  if (tx_mode_) {
    tx_acks_.push_back(ack);
    return Status::Ok();
  }
  return Acknowledge(ack);
}

Status Channel::On(const amqp::BasicReject& m) {
  PendingAck ack{AckKind::kReject, m.delivery_tag, false, m.requeue};
  if (tx_mode_) {
    tx_acks_.push_back(ack);
    return Status::Ok();
  }
  return Acknowledge(ack);
}

Status Channel::On(const amqp::BasicNack& m) {
  PendingAck ack{AckKind::kNack, m.delivery_tag, m.multiple, m.requeue};
  if (tx_mode_) {
    tx_acks_.push_back(ack);
    return Status::Ok();
  }
  return Acknowledge(ack);
}

Status Channel::On(const amqp::BasicRecover& m) {
  if (!m.requeue) return Error(ReplyCode::kNotImplemented, "requeue=false");
  std::vector<Unacked> all(std::make_move_iterator(unacked_.begin()),
                           std::make_move_iterator(unacked_.end()));
  unacked_.clear();
  Requeue(std::move(all));
  Send(amqp::BasicRecoverOk{});
  return Status::Ok();
}

Status Channel::On(const amqp::BasicRecoverAsync& m) {
  if (!m.requeue) return Error(ReplyCode::kNotImplemented, "requeue=false");
  std::vector<Unacked> all(std::make_move_iterator(unacked_.begin()),
                           std::make_move_iterator(unacked_.end()));
  unacked_.clear();
  Requeue(std::move(all));
  return Status::Ok();
}

}  // namespace warren::server
