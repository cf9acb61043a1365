// Channel: one AMQP channel of a connection. It runs the channel's methods against the
// virtual host: declarations, publishing (reassembling content), consuming, acknowledging,
// publisher confirms and transactions.
//
// Deliveries not yet acknowledged are held here, in delivery-tag order, until an ack
// removes them or a reject, nack, recover or the channel's end puts them back in their
// queues.

#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "amqp/content.h"
#include "amqp/frame.h"
#include "amqp/generated/methods.h"
#include "amqp/status.h"
#include "server/exchange.h"
#include "server/queue.h"

namespace warren::server {

class Connection;
class VirtualHost;

class Channel : public DeliverySink {
 public:
  Channel(Connection* connection, VirtualHost* vhost, uint16_t id);
  ~Channel() override;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  uint16_t id() const { return id_; }
  // True once the channel has ended (client's channel.close handled, or torn down).
  bool closed() const { return closed_; }
  bool has_consumers() const { return !consumers_.empty(); }

  // Handles a method, header or body frame of this channel. A failed status is an
  // exception: a channel error (close the channel) or, for hard errors, a connection
  // error; failed_class_id()/failed_method_id() say which method raised it.
  amqp::Status HandleFrame(const amqp::Frame& frame);
  uint16_t failed_class_id() const { return class_id_; }
  uint16_t failed_method_id() const { return method_id_; }

  // Releases everything the channel holds: cancels its consumers, requeues its
  // unacknowledged deliveries in order. Called once, when the channel closes for any
  // reason; the channel handles no further frames.
  void Teardown();

  // For queues: may `consumer` receive another message now (prefetch, flow, the
  // connection's write buffer)?
  bool CanDeliver(const Consumer& consumer) const override;
  // Sends a message to `consumer` (basic.deliver and its content).
  void Deliver(Consumer* consumer, QueuedMessage message) override;
  // The queue is being deleted: cancel consumers on it (basic.cancel to the client) and
  // forget unacknowledged deliveries from it.
  void OnQueueDeleted(Queue* queue);
  // Sends `message`, a reply published to this channel's direct reply-to address, to the
  // channel's reply consumer (dropped if it has none any more).
  void DeliverReply(const Message& message);
  // The connection can take more output again: push to this channel's consumers.
  void ResumeDeliveries();
  // Sends the publisher confirms that are due: for messages handled in the last batch of
  // frames, and for persistent ones once the store has synced them. True while some
  // confirms wait for the store.
  bool FlushConfirms();

 private:
  struct Unacked {
    uint64_t tag;
    Queue* queue;        // nullptr once the queue is deleted
    Consumer* consumer;  // nullptr for basic.get and once the consumer is cancelled
    bool to_consumer;    // counts against the channel's prefetch (not basic.get)
    QueuedMessage message;
  };
  // A complete message waiting to be routed (in a transaction: for commit).
  struct Publish {
    bool mandatory = false;
    MessageRef message;
    // The routing keys of its CC and BCC headers (sender-selected distribution).
    std::vector<std::string> sender_routes;
  };
  // The publish whose content is arriving. The strings keep their capacity from one
  // message to the next.
  struct Incoming {
    // The publish's exchange and routing key (short strings), copied without allocating.
    char names[2 * 255];
    uint8_t exchange_size = 0;
    uint8_t routing_key_size = 0;
    std::string_view exchange() const { return {names, exchange_size}; }
    std::string_view routing_key() const { return {names + exchange_size, routing_key_size}; }
    bool mandatory = false;
    uint64_t body_size = 0;
    uint64_t received = 0;  // body bytes so far
    // The message block, allocated at the header when the body fits in a frame ...
    MessageRef message;
    // ... or, for larger bodies, what arrived so far, gathered until complete.
    std::string properties;
    bool persistent = false;
    std::string staged;
    // reply_to is amq.rabbitmq.reply-to: the channel's reply address goes in its place.
    bool direct_reply_to = false;
  };
  // The channel's consumer of amq.rabbitmq.reply-to (see server/direct_reply_to.h).
  struct ReplyConsumer {
    std::string tag;
    std::string address;  // registered with the broker's DirectReplyTo
  };
  enum class AckKind { kAck, kReject, kNack };
  struct PendingAck {
    AckKind kind;
    uint64_t tag;
    bool multiple;
    bool requeue;
  };

  amqp::Status HandleMethod(std::string_view payload);
  // HandleMethod for one method type, without going through amqp::Method.
  template <class M>
  amqp::Status HandleHotMethod(std::string_view payload);
  amqp::Status OnHeader(std::string_view payload);
  amqp::Status OnBody(std::string_view payload);
  amqp::Status CompletePublish();

  amqp::Status On(const amqp::ChannelClose& m);
  amqp::Status On(const amqp::ChannelCloseOk& m);
  amqp::Status On(const amqp::ChannelFlow& m);
  amqp::Status On(const amqp::ExchangeDeclare& m);
  amqp::Status On(const amqp::ExchangeDelete& m);
  amqp::Status On(const amqp::ExchangeBind& m);
  amqp::Status On(const amqp::ExchangeUnbind& m);
  amqp::Status On(const amqp::QueueDeclare& m);
  amqp::Status On(const amqp::QueueBind& m);
  amqp::Status On(const amqp::QueueUnbind& m);
  amqp::Status On(const amqp::QueuePurge& m);
  amqp::Status On(const amqp::QueueDelete& m);
  amqp::Status On(const amqp::BasicQos& m);
  amqp::Status On(const amqp::BasicConsume& m);
  amqp::Status On(const amqp::BasicCancel& m);
  amqp::Status On(const amqp::BasicPublish& m);
  amqp::Status On(const amqp::BasicGet& m);
  amqp::Status On(const amqp::BasicAck& m);
  amqp::Status On(const amqp::BasicReject& m);
  amqp::Status On(const amqp::BasicNack& m);
  amqp::Status On(const amqp::BasicRecover& m);
  amqp::Status On(const amqp::BasicRecoverAsync& m);
  amqp::Status On(const amqp::ConfirmSelect& m);
  amqp::Status On(const amqp::TxSelect& m);
  amqp::Status On(const amqp::TxCommit& m);
  amqp::Status On(const amqp::TxRollback& m);
  // Methods a client may not send.
  template <class M>
  amqp::Status On(const M& m);

  // 404 if the message's exchange does not exist, 403 if it is internal.
  amqp::Status CheckPublishExchange(const Message& message) const;
  // The queues `message` goes to if route_cache_ holds them, else nullptr.
  const std::vector<Queue*>* CachedRoute(const Message& message) const;
  // Routes `message` through its exchange with its routing key and `sender_routes` (and
  // caches the result when it can: not when the message's headers took part).
  const std::vector<Queue*>& ComputeRoute(const Message& message,
                                          std::span<const std::string> sender_routes);
  // The queues `publish` goes to: its cached route if there is one, else ComputeRoute's.
  const std::vector<Queue*>& RouteOf(const Publish& publish);
  // Enqueues a complete message in `queues`; sends basic.return if it was mandatory and
  // unroutable. True if the message was written to the store.
  bool Route(const Publish& publish, const std::vector<Queue*>& queues);
  // Hands `message` to the delayed exchanges its route (route_result_) stopped at. True if
  // one of them wrote it to the store.
  bool HoldDelayed(const MessageRef& message);
  amqp::Status Acknowledge(const PendingAck& ack);
  // Removes from unacked_ the deliveries `tag`/`multiple` name (tag 0 with multiple means
  // all); fails with 406 if `tag` is unknown.
  amqp::Status TakeUnacked(uint64_t tag, bool multiple, std::vector<Unacked>* taken);
  // The delivery with `tag`, or unacked_.end().
  std::deque<Unacked>::iterator FindUnacked(uint64_t tag);
  // Puts deliveries back in their queues, in order, and lets the queues dispatch again.
  void Requeue(std::vector<Unacked> deliveries);
  // Releases the credit a delivery held on its consumer and channel.
  void Settle(const Unacked& delivery);
  // After credit came back: lets the queues in `touched` push again, or, under a
  // channel-wide prefetch, every queue this channel consumes from.
  void DispatchAfterSettling(const std::vector<Queue*>& touched);
  void CancelConsumer(std::map<std::string, std::unique_ptr<Consumer>>::iterator it);
  // Direct reply-to: basic.consume on the pseudo-queue, the end of that consumer,
  // reply_to = amq.rabbitmq.reply-to rewritten to the channel's address (406 without a
  // reply consumer), queue.declare of the pseudo-queue or of an address.
  amqp::Status ConsumeReplies(const amqp::BasicConsume& m);
  void CancelReplies();
  amqp::Status SetReplyAddress(Publish* publish) const;
  amqp::Status DeclareReplyQueue(const amqp::QueueDeclare& m);

  // Checks a new queue's x- arguments as RabbitMQ does (406 with its texts).
  amqp::Status CheckQueueArguments(const std::string& name,
                                   const amqp::FieldTable& arguments) const;
  // The message to send for a delivery from `queue` (`get`: by basic.get): the queued
  // one, or, from a queue that counts deliveries, a copy with the x-delivery-count header,
  // kept alive in *holder.
  static const Message& DeliveredForm(const Queue& queue, const QueuedMessage& message, bool get,
                                      MessageRef* holder);

  // Resolves "" to the channel's last declared queue, as the spec allows.
  std::string ResolveQueueName(std::string_view name) const;
  // The queue, or 404 NOT_FOUND; 405 RESOURCE_LOCKED if another connection owns it.
  amqp::Status FindQueue(const std::string& name, Queue** queue) const;
  amqp::Status FindExchange(std::string_view name, Exchange** exchange) const;

  template <class M>
  void Send(const M& method);

  Connection* connection_;
  VirtualHost* vhost_;
  uint16_t id_;
  bool closed_ = false;
  uint16_t class_id_ = 0;  // of the method being handled
  uint16_t method_id_ = 0;

  amqp::ContentAssembler assembler_;
  Incoming incoming_;
  // The last route computed, reused while publishes go to the same exchange and routing
  // key and the vhost's bindings do not change (not for routes that read headers).
  struct RouteCache {
    uint64_t topology_version = 0;  // 0: empty; vhost versions start at 1
    std::string exchange;
    std::string routing_key;
    std::vector<Queue*> queues;
  };
  RouteCache route_cache_;
  RouteResult route_result_;
  std::vector<std::string_view> route_keys_;  // reused by ComputeRoute
  std::vector<Queue*> touched_queues_;  // reused by Acknowledge  // reused by Route, so routing
                                        // allocates nothing per message

  std::string last_queue_;
  std::map<std::string, std::unique_ptr<Consumer>> consumers_;
  std::optional<ReplyConsumer> reply_consumer_;
  uint16_t prefetch_count_ = 0;         // basic.qos global=false: for new consumers
  uint16_t global_prefetch_count_ = 0;  // basic.qos global=true: for the whole channel
  bool flow_active_ = true;

  uint64_t next_delivery_tag_ = 1;
  std::deque<Unacked> unacked_;
  uint32_t consumer_unacked_ = 0;  // unacked deliveries to consumers (for global prefetch)

  bool confirm_mode_ = false;
  uint64_t next_publish_seq_ = 1;
  uint64_t confirmed_up_to_ = 0;  // highest publish seq acknowledged to the client
  uint64_t confirm_up_to_ = 0;    // highest publish seq to acknowledge at the next flush
  // Publishes whose confirm waits until the store has synced `batch`, in order.
  struct DurableWait {
    uint64_t publish_seq;
    uint64_t batch;
  };
  std::deque<DurableWait> durable_waits_;
  // Publishes to nack (a queue refused them: x-overflow reject-publish), in order.
  std::deque<uint64_t> nacked_;
  // tx.commit-oks to send once the store has synced these batches.
  std::deque<uint64_t> commit_waits_;

  bool tx_mode_ = false;
  std::vector<Publish> tx_publishes_;
  std::vector<PendingAck> tx_acks_;
};

}  // namespace warren::server
