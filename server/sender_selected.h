// Sender-selected distribution: the CC and BCC message headers, arrays of longstr routing
// keys that a publisher adds to its message's routing key (RabbitMQ's rabbit_basic:
// header_routes). The message is routed with every key through the same exchange; BCC is
// removed from the message before it is routed and delivered, CC stays.

#pragma once

#include <string>
#include <vector>

#include "amqp/status.h"
#include "server/message.h"

namespace warren::server {

// Reads the CC and BCC headers of *message into *routing_keys (CC's, then BCC's) and, if
// the message has a BCC header, replaces *message with a copy without it. Elements of the
// arrays that are not longstr are ignored, as RabbitMQ ignores them. Requires a message
// whose properties have a headers table (others carry no CC or BCC: do not call this for
// them, it costs a decode). A CC or BCC header that is not an array fails with 406
// PRECONDITION_FAILED and RabbitMQ's text, e.g. `invalid message:
// {unacceptable_type_in_header,"CC",longstr}`, and leaves *message unchanged.
amqp::Status TakeSenderSelectedRoutes(MessageRef* message, std::vector<std::string>* routing_keys);

}  // namespace warren::server
