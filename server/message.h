// Message: one published message, in one heap block, shared by every queue it was routed to.
//
// The block holds a small fixed header followed by the exchange name, the routing key, the
// raw content-header properties (flags and property list, re-sent unchanged on delivery)
// and the body. One allocation per message, none per queue it reaches.
//
// Broker state has a single owner thread, so the reference count is a plain integer, not
// an atomic.

#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

namespace warren::server {

class Message {
 public:
  // Allocates a message whose body (`body_size` bytes) is filled in afterwards through
  // mutable_body(). `exchange` and `routing_key` are short strings (at most 255 bytes).
  // The new message has no references: wrap it in a MessageRef at once.
  static Message* Create(std::string_view exchange, std::string_view routing_key,
                         std::string_view properties, size_t body_size, bool persistent) {
    const size_t size =
        sizeof(Message) + exchange.size() + routing_key.size() + properties.size() + body_size;
    void* block = ::operator new(size);
    auto* m = new (block)
        Message(exchange.size(), routing_key.size(), properties.size(), body_size, persistent);
    char* p = m->data();
    p = Copy(p, exchange);
    p = Copy(p, routing_key);
    Copy(p, properties);
    return m;
  }
  // The same, with the body given.
  static Message* Create(std::string_view exchange, std::string_view routing_key,
                         std::string_view properties, std::string_view body, bool persistent) {
    Message* m = Create(exchange, routing_key, properties, body.size(), persistent);
    Copy(m->mutable_body(), body);
    return m;
  }

  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  std::string_view exchange() const { return {data(), exchange_size_}; }
  std::string_view routing_key() const { return {data() + exchange_size_, routing_key_size_}; }
  // The content header's property flags and property list, as published.
  std::string_view properties() const {
    return {data() + exchange_size_ + routing_key_size_, properties_size_};
  }
  std::string_view body() const { return {body_start(), body_size_}; }
  char* mutable_body() { return const_cast<char*>(body_start()); }
  // delivery-mode 2; remembered for the storage layer.
  bool persistent() const { return persistent_; }
  // The key of the stored body (Store::AddBody), 0 while it is not stored; `shared`: the
  // body is referenced by more than one stored queue.
  uint64_t store_id() const { return store_id_; }
  bool store_shared() const { return store_shared_; }
  void set_store_id(uint64_t id, bool shared) {
    store_id_ = id;
    store_shared_ = shared;
  }
  // Bytes this message occupies on the heap (without the allocator's own overhead).
  size_t memory_size() const { return sizeof(Message) + (body_start() - data()) + body_size_; }

  uint32_t refs() const { return refs_; }
  void Retain() { ++refs_; }
  // Drops a reference; frees the message when it was the last.
  void Release() {
    if (--refs_ == 0) {
      this->~Message();
      ::operator delete(this);
    }
  }

 private:
  Message(size_t exchange_size, size_t routing_key_size, size_t properties_size, size_t body_size,
          bool persistent)
      : body_size_(body_size),
        properties_size_(static_cast<uint32_t>(properties_size)),
        exchange_size_(static_cast<uint8_t>(exchange_size)),
        routing_key_size_(static_cast<uint8_t>(routing_key_size)),
        persistent_(persistent) {}
  ~Message() = default;

  static char* Copy(char* to, std::string_view from) {
    if (!from.empty()) std::memcpy(to, from.data(), from.size());
    return to + from.size();
  }
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  char* data() { return reinterpret_cast<char*>(this + 1); }
  const char* body_start() const {
    return data() + exchange_size_ + routing_key_size_ + properties_size_;
  }

  uint64_t body_size_;
  uint64_t store_id_ = 0;
  uint32_t properties_size_;
  uint32_t refs_ = 0;
  uint8_t exchange_size_;
  uint8_t routing_key_size_;
  bool persistent_;
  bool store_shared_ = false;
};

// An owning reference to a Message; the last one frees it.
class MessageRef {
 public:
  MessageRef() = default;
  explicit MessageRef(Message* m) : m_(m) {
    if (m_ != nullptr) m_->Retain();
  }
  MessageRef(const MessageRef& other) : m_(other.m_) {
    if (m_ != nullptr) m_->Retain();
  }
  MessageRef(MessageRef&& other) noexcept : m_(std::exchange(other.m_, nullptr)) {}
  MessageRef& operator=(MessageRef other) noexcept {
    std::swap(m_, other.m_);
    return *this;
  }
  ~MessageRef() {
    if (m_ != nullptr) m_->Release();
  }

  Message* get() const { return m_; }
  Message* operator->() const { return m_; }
  Message& operator*() const { return *m_; }
  explicit operator bool() const { return m_ != nullptr; }

 private:
  Message* m_ = nullptr;
};

}  // namespace warren::server
