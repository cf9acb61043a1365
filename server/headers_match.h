// Headers-exchange routing: whether a message's headers satisfy a binding's arguments, with
// the rules of RabbitMQ 3.10's rabbit_exchange_type_headers (see headers_match.cpp, where
// each rule is documented against what RabbitMQ does).

#pragma once

#include "amqp/status.h"
#include "amqp/table.h"

namespace warren::server {

// Checks a headers-exchange binding's arguments, as queue.bind and exchange.bind must before
// adding the binding. A missing x-match is fine; a longstr x-match must be "all", "any",
// "all-with-x" or "any-with-x". Anything else fails with 406 PRECONDITION_FAILED and
// RabbitMQ's text, e.g. `Invalid x-match field value <<"foo">>; expected all, any,
// all-with-x, or any-with-x` or `Invalid x-match field type signedint (value 1); expected
// longstr`.
amqp::Status ValidateHeadersBinding(const amqp::FieldTable& binding_arguments);

// True if a message whose headers are `headers` (empty if it has none) matches a binding
// whose arguments are `binding_arguments`. x-match defaults to "all", and so does any
// x-match value that validation would refuse.
bool HeadersMatch(const amqp::FieldTable& binding_arguments, const amqp::FieldTable& headers);

}  // namespace warren::server
