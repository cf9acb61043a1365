// Queue: arrival order, requeue to original position, round-robin push to consumers,
// and the store's view of it: index entries and paging.

#include "server/queue.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "server/connection.h"
#include "server/vhost.h"

namespace warren::server {

namespace {

// Paging reads at most this many messages at a time.
constexpr size_t kMaxLoadMessages = 4096;

// What a message in memory costs against the queue's budget: its body and, roughly, its
// block's header and names (so that a backlog of empty messages is bounded too).
size_t MemoryCost(size_t body_size) { return body_size + 64; }

}  // namespace

namespace {

// x-single-active-consumer = true (RabbitMQ accepts only a bool there).
bool SingleActiveConsumer(const amqp::FieldTable& arguments) {
  const amqp::FieldValue* value = arguments.Find("x-single-active-consumer");
  return value != nullptr && *value == amqp::FieldValue(true);
}

}  // namespace

Queue::Queue(VirtualHost* vhost, std::string name, QueueOptions options)
    : vhost_(vhost),
      name_(std::move(name)),
      options_(std::move(options)),
      consumers_(SingleActiveConsumer(options_.arguments)) {}

Queue::~Queue() {
  for (auto& weak : paused_publishers_) {
    if (auto publisher = weak.lock()) publisher->ResumePublishing();
  }
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
    m.redelivered = e.delivered || all_redelivered;
    m.delivered_stored = e.delivered;
    m.stored = true;
    m.shared = e.shared;
    ready_bytes_ += m.size;
    ++unloaded_;
    ready_.push_back(std::move(m));
    next_seq_ = std::max(next_seq_, e.seq + 1);
  }
}

std::string Queue::vhost_name() const { return vhost_ != nullptr ? vhost_->name() : ""; }

StoredEntry Queue::EntryOf(const QueuedMessage& m) const {
  return StoredEntry{m.seq, m.body_id, m.size, m.delivered_stored, m.shared};
}

void Queue::Enqueue(MessageRef message) {
  QueuedMessage entry;
  entry.seq = next_seq_++;
  entry.size = static_cast<uint32_t>(message->body().size());
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
  ready_.push_back(std::move(entry));
  Dispatch();
}

void Queue::OnDelivered(QueuedMessage* message) {
  if (message->stored && !message->delivered_stored) {
    message->delivered_stored = true;
    store_->UpdateEntry(store_id_, EntryOf(*message));
  }
}

void Queue::OnSettled(const QueuedMessage& message) { Forget(message); }

void Queue::Forget(const QueuedMessage& message) {
  if (message.stored) store_->RemoveEntry(store_id_, EntryOf(message));
  if (message.paged) store_->RemovePaged(store_id_, message.seq);
}

void Queue::Delete() {
  if (stores_messages_) {
    // One range delete for the index instead of one delete per message.
    for (const QueuedMessage& m : ready_) {
      if (m.stored) store_->DropBody(EntryOf(m));
    }
    store_->RemoveQueueEntries(store_id_);
    store_->DeleteQueue(vhost_name(), name_);
  }
  for (const QueuedMessage& m : ready_) {
    if (m.paged) store_->RemovePaged(store_id_, m.seq);
  }
  ready_.clear();
  ready_bytes_ = loaded_bytes_ = unloaded_ = 0;
}

void Queue::Requeue(QueuedMessage message) {
  message.redelivered = true;
  ready_bytes_ += message.size;
  loaded_bytes_ += MemoryCost(message.size);
  // Requeued messages are usually older than everything ready, so search from the front.
  auto at =
      std::upper_bound(ready_.begin(), ready_.end(), message.seq,
                       [](uint64_t seq, const QueuedMessage& queued) { return seq < queued.seq; });
  ready_.insert(at, std::move(message));
}

std::optional<QueuedMessage> Queue::Take() {
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

QueuedMessage Queue::PopReady() {
  QueuedMessage head = std::move(ready_.front());
  ready_.pop_front();
  ready_bytes_ -= head.size;
  loaded_bytes_ -= MemoryCost(head.size);
  return head;
}

size_t Queue::Purge() {
  const size_t n = ready_.size();
  for (const QueuedMessage& m : ready_) Forget(m);
  ready_.clear();
  ready_bytes_ = loaded_bytes_ = unloaded_ = 0;
  MaybeResumePublishers();
  return n;
}

void Queue::AddConsumer(Consumer* consumer) {
  consumers_.Add(consumer);
  has_had_consumers_ = true;
  Dispatch();
}

void Queue::RemoveConsumer(Consumer* consumer) {
  if (!consumers_.Remove(consumer)) return;
  MaybeResumePublishers();
}

void Queue::Dispatch() {
  if (dispatching_) return;
  dispatching_ = true;
  while (!ready_.empty()) {
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
  for (const QueuedMessage& m : ready_) {
    if (requests.size() == kMaxLoadMessages || (bytes >= budget && !requests.empty())) break;
    if (m.message) continue;
    requests.push_back(LoadRequest{m.seq, m.body_id, m.paged});
    bytes += MemoryCost(m.size);
  }
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
    auto it = std::lower_bound(
        ready_.begin(), ready_.end(), requests[i].seq,
        [](const QueuedMessage& queued, uint64_t seq) { return queued.seq < seq; });
    if (it == ready_.end() || it->seq != requests[i].seq || it->message) continue;
    --unloaded_;
    if (!messages[i]) {
      // Left on disk (a read error must not become a delete): it comes back at the next
      // start, after the messages behind it.
      spdlog::error("queue '{}' in vhost '{}': message {} could not be read; skipped", name_,
                    vhost_name(), it->seq);
      ready_bytes_ -= it->size;
      ready_.erase(it);
      continue;
    }
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
