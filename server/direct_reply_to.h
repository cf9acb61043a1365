// Direct reply-to: RabbitMQ's pseudo-queue amq.rabbitmq.reply-to, for RPC replies that
// bypass queues.
//
// A client consumes from amq.rabbitmq.reply-to (no-ack only, one such consumer per
// channel) and publishes requests with reply_to = amq.rabbitmq.reply-to; the broker
// rewrites that property to an address, amq.rabbitmq.reply-to.<id>.<key>, that names the
// consumer's channel. A reply published to the default exchange with the address as
// routing key goes straight to that channel's consumer, or nowhere if it is gone. As in
// RabbitMQ (which encodes a pid and a random key), the address holds 16 random bytes, so
// that knowing one's own address says nothing about another client's.

#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "server/message.h"

namespace warren::server {

class Channel;

// The pseudo-queue's name, which is also the prefix of every address.
inline constexpr std::string_view kDirectReplyQueue = "amq.rabbitmq.reply-to";

// Whether `routing_key` has the form of a reply address (a message to the default exchange
// with such a key goes to DirectReplyTo::Find's channel, never to a queue).
inline bool IsDirectReplyAddress(std::string_view routing_key) {
  return routing_key.size() > kDirectReplyQueue.size() &&
         routing_key.starts_with(kDirectReplyQueue) && routing_key[kDirectReplyQueue.size()] == '.';
}

// A copy of `message` whose reply_to property is `address` (the publisher's channel's
// reply address) instead of amq.rabbitmq.reply-to.
MessageRef WithReplyAddress(const Message& message, std::string_view address);

// The broker's reply consumers, by address. One per broker: addresses work across
// connections and virtual hosts, as RabbitMQ's do.
class DirectReplyTo {
 public:
  // Gives `channel`'s new reply consumer an address and returns it. `channel` must stay
  // live until Unregister(address).
  std::string Register(Channel* channel);
  void Unregister(std::string_view address);
  // The channel whose reply consumer `address` names, or nullptr (unknown, malformed, or
  // its consumer gone).
  Channel* Find(std::string_view address) const;

 private:
  uint64_t next_id_ = 1;
  std::map<std::string, Channel*, std::less<>> channels_;
};

}  // namespace warren::server
