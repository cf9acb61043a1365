#include "amqp/status.h"

namespace warren::amqp {

std::string Status::ToString() const {
  std::string out(ReplyCodeName(code_));
  if (!text_.empty()) {
    out += " - ";
    out += text_;
  }
  return out;
}

}  // namespace warren::amqp
