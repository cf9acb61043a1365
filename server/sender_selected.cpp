// Sender-selected distribution: CC and BCC routing keys, and the BCC header removed.

#include "server/sender_selected.h"

#include <algorithm>
#include <string_view>

#include "server/message_edit.h"

namespace warren::server {

namespace {

// Appends the longstr elements of header `name`'s array; fails if it is not an array.
amqp::Status AppendRoutes(const amqp::FieldTable& headers, std::string_view name,
                          std::vector<std::string>* routing_keys) {
  const amqp::FieldValue* value = headers.Find(name);
  if (value == nullptr) return amqp::Status::Ok();
  const auto* array =
      std::get_if<amqp::FieldArray>(&static_cast<const amqp::FieldVariant&>(*value));
  if (array == nullptr) {
    return amqp::Status::Error(amqp::ReplyCode::kPreconditionFailed,
                               "invalid message: {unacceptable_type_in_header,\"" +
                                   std::string(name) + "\"," +
                                   std::string(amqp::FieldTypeName(*value)) + "}");
  }
  for (const amqp::FieldValue& element : *array) {
    if (const auto* key =
            std::get_if<std::string>(&static_cast<const amqp::FieldVariant&>(element))) {
      routing_keys->push_back(*key);
    }
  }
  return amqp::Status::Ok();
}

}  // namespace

amqp::Status TakeSenderSelectedRoutes(MessageRef* message, std::vector<std::string>* routing_keys) {
  routing_keys->clear();
  // Views the message, which stays alive until WithProperties has copied what it needs.
  amqp::BasicProperties properties = DecodeProperties(**message);
  if (!properties.headers) return amqp::Status::Ok();
  amqp::Status s = AppendRoutes(*properties.headers, "CC", routing_keys);
  if (s.ok()) s = AppendRoutes(*properties.headers, "BCC", routing_keys);
  if (!s.ok()) {
    routing_keys->clear();
    return s;
  }
  // As RabbitMQ's strip_header: the first BCC entry goes, the (maybe empty) table stays.
  auto& entries = properties.headers->entries;
  auto bcc = std::find_if(entries.begin(), entries.end(),
                          [](const amqp::FieldEntry& e) { return e.name == "BCC"; });
  if (bcc == entries.end()) return amqp::Status::Ok();
  entries.erase(bcc);
  *message =
      WithProperties(**message, (*message)->exchange(), (*message)->routing_key(), properties);
  return amqp::Status::Ok();
}

}  // namespace warren::server
