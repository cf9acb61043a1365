// Direct reply-to: addresses and the registry of reply consumers.

#include "server/direct_reply_to.h"

#include <openssl/rand.h>

#include <random>

#include "server/base64.h"
#include "server/message_edit.h"

namespace warren::server {

namespace {

constexpr size_t kKeySize = 16;

// kKeySize bytes from OpenSSL's generator (or, should it fail, the system's).
std::string RandomKey() {
  std::string key(kKeySize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), kKeySize) != 1) {
    std::random_device device;
    for (char& c : key) c = static_cast<char>(device());
  }
  return key;
}

}  // namespace

MessageRef WithReplyAddress(const Message& message, std::string_view address) {
  amqp::BasicProperties properties = DecodeProperties(message);
  properties.reply_to = address;
  return WithProperties(message, message.exchange(), message.routing_key(), properties);
}

std::string DirectReplyTo::Register(Channel* channel) {
  // The id keeps addresses unique; the key makes them unguessable.
  std::string id(8, '\0');
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<char>(next_id_ >> (56 - 8 * i));
  ++next_id_;
  std::string address =
      std::string(kDirectReplyQueue) + "." + Base64Encode(id) + "." + Base64Encode(RandomKey());
  channels_.emplace(address, channel);
  return address;
}

void DirectReplyTo::Unregister(std::string_view address) {
  auto it = channels_.find(address);
  if (it != channels_.end()) channels_.erase(it);
}

Channel* DirectReplyTo::Find(std::string_view address) const {
  auto it = channels_.find(address);
  return it != channels_.end() ? it->second : nullptr;
}

}  // namespace warren::server
