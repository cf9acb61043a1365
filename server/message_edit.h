// Message editing: the few places where the broker must change what a publisher sent
// (x-death and x-delivery-count headers, a BCC header stripped, a direct reply-to address
// filled in, an expiration dropped on dead-lettering). A message block is immutable once
// queued, so an edit makes a new block with the same body.

#pragma once

#include <string_view>

#include "amqp/generated/properties.h"
#include "server/message.h"

namespace warren::server {

// Decodes a message's properties. String properties view the message's block: `message`
// must outlive the result. A message whose properties do not decode (they were checked on
// arrival, so only a broker bug could cause it) gives empty properties.
amqp::BasicProperties DecodeProperties(const Message& message);

// A new message with `message`'s body and persistence, published to `exchange` with
// `routing_key`, carrying `properties` instead of the original ones. `properties` may view
// `message` (it is encoded before the new block is filled). The new message is not stored
// (store_id 0).
MessageRef WithProperties(const Message& message, std::string_view exchange,
                          std::string_view routing_key, const amqp::BasicProperties& properties);

}  // namespace warren::server
