// Message editing: decode, change and re-encode a message's properties.

#include "server/message_edit.h"

#include <string>

#include "amqp/decoder.h"
#include "amqp/encoder.h"

namespace warren::server {

amqp::BasicProperties DecodeProperties(const Message& message) {
  amqp::BasicProperties properties;
  amqp::Decoder dec(message.properties());
  properties.Decode(dec);
  if (!dec.ok()) return amqp::BasicProperties();
  return properties;
}

MessageRef WithProperties(const Message& message, std::string_view exchange,
                          std::string_view routing_key, const amqp::BasicProperties& properties) {
  std::string encoded;
  amqp::Encoder enc(&encoded);
  properties.Encode(enc);
  return MessageRef(
      Message::Create(exchange, routing_key, encoded, message.body(), message.persistent()));
}

}  // namespace warren::server
