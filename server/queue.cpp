// Queue: arrival order, requeue to original position, round-robin push to consumers, the
// x- argument features (TTL, expiry, limits, priorities, delivery limit, dead-lettering),
// and the store's view of it: index entries and paging.

#include "server/queue.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "amqp/content.h"
#include "server/connection.h"
#include "server/vhost.h"

namespace warren::server {

namespace {

// Paging reads at most this many messages at a time.
constexpr size_t kMaxLoadMessages = 4096;

// What a message in memory costs against the queue's budget: its body and, roughly, its
// block's header and names (so that a backlog of empty messages is bounded too).
size_t MemoryCost(size_t body_size) { return body_size + 64; }

// The properties a queue acts on, read without decoding the others. Most messages have
// neither, which the flags word shows at once.
struct QueueProperties {
  uint8_t priority = 0;
  std::optional<int64_t> expiration;  // ms
};

QueueProperties ReadQueueProperties(const Message& message) {
  QueueProperties out;
  const std::string_view raw = message.properties();
  if (raw.size() < 2) return out;
  const uint16_t flags =
      static_cast<uint16_t>((static_cast<uint8_t>(raw[0]) << 8) | static_cast<uint8_t>(raw[1]));
  const uint16_t wanted = amqp::kProperties[static_cast<size_t>(amqp::Property::kPriority)].flag |
                          amqp::kProperties[static_cast<size_t>(amqp::Property::kExpiration)].flag;
  if ((flags & wanted) == 0) return out;
  amqp::ContentHeader header;
  if (!amqp::ContentHeader::ParseProperties(raw, &header).ok()) return out;
  out.priority = header.Octet(amqp::Property::kPriority).value_or(0);
  if (auto expiration = header.ShortString(amqp::Property::kExpiration)) {
    out.expiration = ParseExpiration(*expiration);
  }
  return out;
}

QueueSettings SettingsOf(const QueueOptions& options) {
  QueueSettings settings;
  // Declared arguments were checked by queue.declare (or when first stored).
  (void)ParseQueueArguments(options.arguments, "", &settings);
  return settings;
}

}  // namespace

Queue::Queue(VirtualHost* vhost, std::string name, QueueOptions options)
    : vhost_(vhost),
      name_(std::move(name)),
      options_(std::move(options)),
      settings_(SettingsOf(options_)),
      ready_(settings_.max_priority),
      consumers_(settings_.single_active_consumer),
      last_used_(NowMs()) {
  if (vhost_ != nullptr) AttachLoop(vhost_->io());
}

Queue::~Queue() {
  for (auto& weak : paused_publishers_) {
    if (auto publisher = weak.lock()) publisher->ResumePublishing();
  }
}

void Queue::AttachLoop(boost::asio::io_context* io) {
  io_ = io;
  if (io_ == nullptr) return;
  ttl_timer_ = std::make_unique<boost::asio::steady_timer>(*io_);
  expiry_timer_ = std::make_unique<boost::asio::steady_timer>(*io_);
  if (settings_.expires) ArmExpiryTimer();
}

void Queue::ApplyPolicy(const Policy* policy) {
  const QueueSettings declared = SettingsOf(options_);
  QueueSettings settings =
      policy != nullptr ? WithPolicy(options_.arguments, declared, policy->definition) : declared;
  policy_name_ = policy != nullptr ? policy->name : "";
  if (settings == settings_) return;
  const bool expires_changed = settings.expires != settings_.expires;
  settings_ = std::move(settings);
  if (expires_changed) {
    if (settings_.expires) {
      ArmExpiryTimer();
    } else if (expiry_timer_) {
      expiry_timer_->cancel();
    }
  }
  DropHeadsOverLimit();
  Dispatch();
}

bool Queue::counts_deliveries() const {
  if (settings_.delivery_limit) return true;
  const amqp::FieldValue* type = options_.arguments.Find("x-queue-type");
  const auto* name = type == nullptr ? nullptr : std::get_if<std::string>(type);
  return name != nullptr && *name == "quorum";
}

void Queue::AttachStore(Store* store, uint64_t id, bool durable) {
  store_ = store;
  store_id_ = id;
  stores_messages_ = durable;
}

void Queue::Restore(const std::vector<StoredEntry>& entries, bool all_redelivered) {
  for (const StoredEntry& e : entries) {
    QueuedMessage m;
    m.seq = e.seq;
    m.body_id = e.body_id;
    m.size = e.size;
    m.priority = std::min(e.priority, ready_.max_priority());
    m.expires_at = e.expires_at;
    m.delivery_count = e.delivery_count;
    m.redelivered = e.delivered || all_redelivered;
    m.delivered_stored = e.delivered;
    m.stored = true;
    m.shared = e.shared;
    ready_bytes_ += m.size;
    ++unloaded_;
    ready_.PushBack(std::move(m));
    next_seq_ = std::max(next_seq_, e.seq + 1);
  }
  ArmTtlTimer();
}

std::string Queue::vhost_name() const { return vhost_ != nullptr ? vhost_->name() : ""; }

StoredEntry Queue::EntryOf(const QueuedMessage& m) const {
  return StoredEntry{m.seq,    m.body_id,  m.size,       m.delivered_stored,
                     m.shared, m.priority, m.expires_at, m.delivery_count};
}

bool Queue::WouldRejectPublish(size_t size) const {
  if (settings_.overflow == Overflow::kDropHead) return false;
  return (settings_.max_length &&
          static_cast<int64_t>(ready_.size()) + 1 > *settings_.max_length) ||
         (settings_.max_length_bytes &&
          static_cast<int64_t>(ready_bytes_ + size) > *settings_.max_length_bytes);
}

Queue::EnqueueResult Queue::Enqueue(MessageRef message) {
  if (WouldRejectPublish(message->body().size())) {
    if (settings_.overflow == Overflow::kRejectPublishDlx && vhost_ != nullptr &&
        settings_.dead_letter_exchange) {
      vhost_->DeadLetter(*this, DeathReason::kMaxLen, std::move(message));
    }
    return EnqueueResult::kRejected;
  }
  QueuedMessage entry;
  entry.seq = next_seq_++;
  entry.size = static_cast<uint32_t>(message->body().size());
  const QueueProperties properties = ReadQueueProperties(*message);
  entry.priority = std::min(properties.priority, ready_.max_priority());
  std::optional<int64_t> ttl = settings_.message_ttl;
  if (properties.expiration && (!ttl || *properties.expiration < *ttl)) ttl = properties.expiration;
  if (ttl) entry.expires_at = NowMs() + *ttl;
  if (stores_messages_ && message->store_id() != 0) {
    entry.stored = true;
    entry.body_id = message->store_id();
    entry.shared = message->store_shared();
    store_->AddEntry(store_id_, EntryOf(entry));
  }
  ready_bytes_ += entry.size;
  if (store_ != nullptr &&
      (unloaded_ > 0 || loaded_bytes_ + MemoryCost(entry.size) > store_->queue_memory_budget())) {
    // Over the memory budget: the body waits on disk (stored ones are there already).
    if (!entry.stored) {
      store_->PageOut(store_id_, entry.seq, *message);
      entry.paged = true;
    }
    ++unloaded_;
  } else {
    loaded_bytes_ += MemoryCost(entry.size);
    entry.message = std::move(message);
  }
  const bool expiring = entry.expires_at != 0;
  ready_.PushBack(std::move(entry));
  Dispatch();
  if (settings_.max_length || settings_.max_length_bytes) DropHeadsOverLimit();
  if (ttl == 0) {
    // A TTL of 0: delivered at once or never (what is due now goes too).
    ExpireMessages(NowMs() + 1);
  } else if (expiring) {
    ArmTtlTimer();
  }
  return EnqueueResult::kEnqueued;
}

bool Queue::OverLimit() const {
  return (settings_.max_length && static_cast<int64_t>(ready_.size()) > *settings_.max_length) ||
         (settings_.max_length_bytes &&
          static_cast<int64_t>(ready_bytes_) > *settings_.max_length_bytes);
}

void Queue::DropHeadsOverLimit() {
  while (!ready_.empty() && OverLimit()) {
    QueuedMessage head = ready_.PopFront();
    Unaccount(head);
    DeadLetter(std::move(head), DeathReason::kMaxLen);
  }
  MaybeResumePublishers();
}

void Queue::OnDelivered(QueuedMessage* message) {
  if (message->stored && !message->delivered_stored) {
    message->delivered_stored = true;
    store_->UpdateEntry(store_id_, EntryOf(*message));
  }
}

void Queue::OnSettled(const QueuedMessage& message) { Forget(message); }

void Queue::Reject(QueuedMessage message) {
  DeadLetter(std::move(message), DeathReason::kRejected);
}

void Queue::DeadLetter(QueuedMessage message, DeathReason reason) {
  if (vhost_ != nullptr && settings_.dead_letter_exchange) {
    MessageRef body = message.message;
    if (!body && store_ != nullptr) {
      // Paged out (an expired or dropped head): read it back to republish it.
      std::vector<MessageRef> read =
          store_->LoadNow(store_id_, {LoadRequest{message.seq, message.body_id, message.paged}});
      if (!read.empty()) body = std::move(read.front());
    }
    if (body) vhost_->DeadLetter(*this, reason, std::move(body));
  }
  Forget(message);
}

void Queue::Forget(const QueuedMessage& message) {
  if (message.stored) store_->RemoveEntry(store_id_, EntryOf(message));
  if (message.paged) store_->RemovePaged(store_id_, message.seq);
}

void Queue::Delete() {
  if (stores_messages_) {
    // One range delete for the index instead of one delete per message.
    ready_.ForEach([this](const QueuedMessage& m) {
      if (m.stored) store_->DropBody(EntryOf(m));
      return true;
    });
    store_->RemoveQueueEntries(store_id_);
    store_->DeleteQueue(vhost_name(), name_);
  }
  ready_.ForEach([this](const QueuedMessage& m) {
    if (m.paged) store_->RemovePaged(store_id_, m.seq);
    return true;
  });
  ready_.Clear();
  ready_bytes_ = loaded_bytes_ = unloaded_ = 0;
  if (ttl_timer_) ttl_timer_->cancel();
  if (expiry_timer_) expiry_timer_->cancel();
}

void Queue::Requeue(QueuedMessage message) {
  if (counts_deliveries() && message.delivery_count < UINT16_MAX) ++message.delivery_count;
  if (settings_.delivery_limit && message.delivery_count > *settings_.delivery_limit) {
    DeadLetter(std::move(message), DeathReason::kDeliveryLimit);
    return;
  }
  message.redelivered = true;
  ready_bytes_ += message.size;
  loaded_bytes_ += MemoryCost(message.size);
  const bool expiring = message.expires_at != 0;
  ready_.Insert(std::move(message));
  if (expiring) ArmTtlTimer();
  // A requeue into a full drop-head queue: the head (likely the requeued one) goes.
  if (OverLimit()) DropHeadsOverLimit();
}

std::optional<QueuedMessage> Queue::Take() {
  Touch();
  ExpireMessages(NowMs());
  while (!ready_.empty() && !ready_.front().message) {
    const size_t before = ready_.size();
    LoadNow();
    // A message that cannot be read is dropped (and logged); try the next.
    if (ready_.size() == before && !ready_.front().message) return std::nullopt;
  }
  if (ready_.empty()) return std::nullopt;
  QueuedMessage head = PopReady();
  MaybeResumePublishers();
  return head;
}

void Queue::Unaccount(const QueuedMessage& m) {
  ready_bytes_ -= m.size;
  if (m.message) {
    loaded_bytes_ -= MemoryCost(m.size);
  } else {
    --unloaded_;
  }
}

QueuedMessage Queue::PopReady() {
  QueuedMessage head = ready_.PopFront();
  Unaccount(head);
  return head;
}

size_t Queue::Purge() {
  const size_t n = ready_.size();
  ready_.ForEach([this](const QueuedMessage& m) {
    Forget(m);
    return true;
  });
  ready_.Clear();
  ready_bytes_ = loaded_bytes_ = unloaded_ = 0;
  MaybeResumePublishers();
  return n;
}

void Queue::ExpireMessages(int64_t now) {
  std::vector<QueuedMessage> expired;
  ready_.PopLevelFrontsWhile(
      [now](const QueuedMessage& m) { return m.expires_at != 0 && m.expires_at < now; },
      [&](QueuedMessage m) { expired.push_back(std::move(m)); });
  for (QueuedMessage& m : expired) {
    Unaccount(m);
    DeadLetter(std::move(m), DeathReason::kExpired);
  }
  if (!expired.empty()) MaybeResumePublishers();
  ArmTtlTimer();
}

void Queue::ArmTtlTimer() {
  if (!ttl_timer_) return;
  int64_t next = 0;
  ready_.ForEachLevelFront([&next](const QueuedMessage& m) {
    if (m.expires_at != 0 && (next == 0 || m.expires_at < next)) next = m.expires_at;
  });
  if (next == ttl_deadline_) return;
  ttl_deadline_ = next;
  if (next == 0) {
    ttl_timer_->cancel();
    return;
  }
  // Expired means past expires_at by at least a millisecond (see ExpireMessages).
  const int64_t wait = std::max<int64_t>(next + 1 - NowMs(), 0);
  ttl_timer_->expires_after(std::chrono::milliseconds(wait));
  std::weak_ptr<Queue*> alive = alive_;
  ttl_timer_->async_wait([alive](const boost::system::error_code& error) {
    if (error) return;
    if (auto queue = alive.lock()) (*queue)->OnTtlTimer();
  });
}

void Queue::OnTtlTimer() {
  ttl_deadline_ = 0;
  ExpireMessages(NowMs());
  Dispatch();
}

void Queue::Touch() {
  last_used_ = NowMs();
  if (settings_.expires && consumers_.empty()) ArmExpiryTimer();
}

void Queue::ArmExpiryTimer() {
  if (!expiry_timer_ || !settings_.expires) return;
  const int64_t wait = std::max<int64_t>(last_used_ + *settings_.expires - NowMs(), 0);
  expiry_timer_->expires_after(std::chrono::milliseconds(wait));
  std::weak_ptr<Queue*> alive = alive_;
  expiry_timer_->async_wait([alive](const boost::system::error_code& error) {
    if (error) return;
    if (auto queue = alive.lock()) (*queue)->OnExpiryTimer();
  });
}

void Queue::OnExpiryTimer() {
  // A consumer keeps the queue in use; its leaving (RemoveConsumer) starts the countdown.
  if (!consumers_.empty() || vhost_ == nullptr) return;
  if (NowMs() < last_used_ + *settings_.expires) {
    ArmExpiryTimer();
    return;
  }
  spdlog::debug("queue '{}' in vhost '{}' expired (x-expires {} ms)", name_, vhost_name(),
                *settings_.expires);
  vhost_->DeleteQueue(this);  // destroys this queue: nothing may follow
}

void Queue::AddConsumer(Consumer* consumer) {
  consumers_.Add(consumer);
  has_had_consumers_ = true;
  last_used_ = NowMs();
  Dispatch();
}

void Queue::RemoveConsumer(Consumer* consumer) {
  if (!consumers_.Remove(consumer)) return;
  if (consumers_.empty()) Touch();
  MaybeResumePublishers();
}

void Queue::Dispatch() {
  if (dispatching_) return;
  dispatching_ = true;
  int64_t now = 0;  // read once, and only if a message has a TTL
  while (!ready_.empty()) {
    if (ready_.front().expires_at != 0) {
      if (now == 0) now = NowMs();
      if (ready_.front().expires_at < now) {
        ExpireMessages(now);
        continue;
      }
    }
    if (!ready_.front().message) break;  // paged out: wait for the read
    Consumer* consumer = consumers_.Next();
    if (consumer == nullptr) break;  // nobody can take one now
    consumer->channel->Deliver(consumer, PopReady());
  }
  dispatching_ = false;
  // Read ahead while there are consumers to drain what is on disk (and always when the head
  // itself waits on disk, however small the budget).
  if (unloaded_ > 0 && !consumers_.empty() && store_ != nullptr &&
      (loaded_bytes_ < store_->queue_memory_budget() / 2 || !ready_.front().message)) {
    RequestLoad();
  }
  MaybeResumePublishers();
}

std::vector<LoadRequest> Queue::NextLoad() const {
  std::vector<LoadRequest> requests;
  const size_t budget = std::max<size_t>(store_->queue_memory_budget() / 2, 1);
  size_t bytes = 0;
  ready_.ForEach([&](const QueuedMessage& m) {
    if (requests.size() == kMaxLoadMessages || (bytes >= budget && !requests.empty())) {
      return false;
    }
    if (!m.message) {
      requests.push_back(LoadRequest{m.seq, m.body_id, m.paged});
      bytes += MemoryCost(m.size);
    }
    return true;
  });
  return requests;
}

void Queue::RequestLoad() {
  if (loading_ || unloaded_ == 0) return;
  std::vector<LoadRequest> requests = NextLoad();
  if (requests.empty()) return;
  loading_ = true;
  std::weak_ptr<Queue*> alive = alive_;
  std::vector<LoadRequest> asked = requests;
  store_->Load(store_id_, std::move(requests),
               [alive, asked = std::move(asked)](std::vector<MessageRef> messages) {
                 auto queue = alive.lock();
                 if (!queue) return;
                 (*queue)->loading_ = false;
                 (*queue)->OnLoaded(asked, std::move(messages));
                 (*queue)->Dispatch();
               });
}

void Queue::LoadNow() {
  std::vector<LoadRequest> requests = NextLoad();
  if (requests.empty()) return;
  OnLoaded(requests, store_->LoadNow(store_id_, requests));
}

void Queue::OnLoaded(const std::vector<LoadRequest>& requests, std::vector<MessageRef> messages) {
  for (size_t i = 0; i < requests.size() && i < messages.size(); ++i) {
    QueuedMessage* it = ready_.Find(requests[i].seq);
    if (it == nullptr || it->message) continue;
    if (!messages[i]) {
      // Left on disk (a read error must not become a delete): it comes back at the next
      // start, after the messages behind it.
      spdlog::error("queue '{}' in vhost '{}': message {} could not be read; skipped", name_,
                    vhost_name(), it->seq);
      QueuedMessage lost = ready_.Remove(requests[i].seq);
      Unaccount(lost);
      continue;
    }
    --unloaded_;
    if (it->stored) messages[i]->set_store_id(it->body_id, it->shared);
    if (it->paged) {
      store_->RemovePaged(store_id_, it->seq);
      it->paged = false;
    }
    it->message = std::move(messages[i]);
    loaded_bytes_ += MemoryCost(it->size);
  }
}

void Queue::AddPausedPublisher(std::weak_ptr<Connection> publisher) {
  paused_publishers_.push_back(std::move(publisher));
}

void Queue::MaybeResumePublishers() {
  if (paused_publishers_.empty()) return;
  if (!consumers_.empty() &&
      (ready_.size() > kFlowHighMessages / 2 || ready_bytes_ > kFlowHighBytes / 2)) {
    return;
  }
  std::vector<std::weak_ptr<Connection>> publishers = std::move(paused_publishers_);
  paused_publishers_.clear();
  for (auto& weak : publishers) {
    if (auto publisher = weak.lock()) publisher->ResumePublishing();
  }
}

}  // namespace warren::server
