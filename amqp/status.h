// Status: the outcome of an operation that can fail with an AMQP error.
//
// A failed Status carries the reply code the peer must be told (see ReplyCode in
// generated/constants.h) and a human-readable text. Success carries nothing and costs
// nothing; only failures allocate.

#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "amqp/generated/constants.h"

namespace warren::amqp {

class Status {
 public:
  // A successful status.
  Status() = default;

  static Status Ok() { return Status(); }
  static Status Error(ReplyCode code, std::string text) { return Status(code, std::move(text)); }

  bool ok() const { return code_ == ReplyCode::kReplySuccess; }
  // kReplySuccess (200) when ok().
  ReplyCode code() const { return code_; }
  // Empty when ok().
  const std::string& text() const { return text_; }

  // "FRAME_ERROR - frame-end octet was 0x00, expected 0xCE": the form RabbitMQ uses in
  // connection.close and channel.close reply texts.
  std::string ToString() const;

 private:
  Status(ReplyCode code, std::string text) : code_(code), text_(std::move(text)) {}

  ReplyCode code_ = ReplyCode::kReplySuccess;
  std::string text_;
};

}  // namespace warren::amqp
