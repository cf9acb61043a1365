// Message: one published message, shared by every queue it was routed to.
//
// Broker state has a single owner thread, so the reference count is a plain integer, not
// an atomic. The properties are kept as the raw bytes of the publisher's content header
// (flags and property list) and re-sent unchanged on delivery.

#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace warren::server {

struct Message {
  std::string exchange;
  std::string routing_key;
  std::string properties;  // raw property flags and list, as published
  std::string body;
  bool persistent = false;  // delivery-mode 2; remembered for the storage layer
  uint32_t refs = 0;
};

// An owning reference to a Message; the last one deletes it.
class MessageRef {
 public:
  MessageRef() = default;
  explicit MessageRef(Message* m) : m_(m) { Retain(); }
  MessageRef(const MessageRef& other) : m_(other.m_) { Retain(); }
  MessageRef(MessageRef&& other) noexcept : m_(std::exchange(other.m_, nullptr)) {}
  MessageRef& operator=(MessageRef other) noexcept {
    std::swap(m_, other.m_);
    return *this;
  }
  ~MessageRef() {
    if (m_ != nullptr && --m_->refs == 0) delete m_;
  }

  Message* get() const { return m_; }
  Message* operator->() const { return m_; }
  Message& operator*() const { return *m_; }
  explicit operator bool() const { return m_ != nullptr; }

 private:
  void Retain() {
    if (m_ != nullptr) ++m_->refs;
  }
  Message* m_ = nullptr;
};

}  // namespace warren::server
