// Batched publishing with confirms, flow control and rate limiting (see producer.h).

#include "bench/perf/producer.h"

#include <algorithm>

#include "amqp/content.h"
#include "bench/perf/message_body.h"
#include "bench/perf/rate_limiter.h"
#include "bench/perf/thread_cpu.h"

namespace warren::perf {

namespace {

using amqp::MethodId;
using amqp::Status;

constexpr uint16_t kChannel = 1;
// Longest wait between checks of the stop flag.
constexpr std::chrono::milliseconds kPollInterval{20};

}  // namespace

Producer::Producer(int id, const Options& options, std::string exchange, std::string routing_key,
                   uint64_t limit)
    : id_(id),
      options_(options),
      exchange_(std::move(exchange)),
      routing_key_(std::move(routing_key)),
      limit_(limit),
      confirms_(options.confirm_window > 0) {}

void Producer::Run(RunControl* control) {
  status_ = Setup();
  ready_.store(true, std::memory_order_release);
  if (status_.ok()) {
    control->go.wait(false);
    status_ = Publish(control);
  }
  if (status_.ok() && !connection_->blocked()) {
    status_ = CloseChannel();
    // The broker has taken in every publish only now; sending ends here, not when the
    // last bytes went into the socket's buffer.
    if (status_.ok() && sent_total_ > 0) {
      last_send_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    }
  }
  if (connection_) connection_->Close();
  cpu_ns_ = ThreadCpuNs();
  finished_.store(true, std::memory_order_release);
}

Status Producer::CloseChannel() {
  amqp::ChannelClose close;
  close.reply_code = 200;
  close.reply_text = "warren-perf done";
  amqp::ChannelCloseOk ok;
  return connection_->Call(kChannel, close, &ok);
}

Status Producer::Setup() {
  Status status =
      Connection::Open(options_.uri, "warren-perf producer " + std::to_string(id_), &connection_);
  if (!status.ok()) return status;
  status = connection_->OpenChannel(kChannel);
  if (!status.ok()) return status;
  if (confirms_) {
    amqp::ConfirmSelectOk ok;
    status = connection_->Call(kChannel, amqp::ConfirmSelect{}, &ok);
    if (!status.ok()) return status;
  }
  if (confirms_ && limit_ <= (uint64_t{1} << 30)) {
    settled_.Reserve(limit_);
    acked_.Reserve(limit_);
  }
  BuildTemplate();
  return Status::Ok();
}

void Producer::BuildTemplate() {
  amqp::BasicPublish publish;
  publish.exchange = exchange_;
  publish.routing_key = routing_key_;
  amqp::AppendMethodFrame(&template_, kChannel, publish);
  amqp::BasicProperties properties;
  if (options_.persistent) properties.delivery_mode = 2;
  amqp::AppendContentHeaderFrame(&template_, kChannel, options_.body_size, properties);
  const size_t body_start = template_.size();
  amqp::AppendBodyFrames(&template_, kChannel, std::string(options_.body_size, '\0'),
                         connection_->frame_max());
  // Walk the body frames: 7 bytes of header (type, channel, size), payload, frame-end.
  size_t at = body_start;
  size_t body_offset = 0;
  while (at < template_.size()) {
    const auto byte = [&](size_t i) { return size_t{static_cast<uint8_t>(template_[i])}; };
    const size_t length =
        byte(at + 3) << 24 | byte(at + 4) << 16 | byte(at + 5) << 8 | byte(at + 6);
    segments_.push_back({at + 7, body_offset, length});
    body_offset += length;
    at += 7 + length + 1;
  }
}

void Producer::AppendBatch(uint64_t n) {
  std::string* out = connection_->out();
  const uint64_t now = NowNs();
  for (uint64_t i = 0; i < n; ++i) {
    const size_t start = out->size();
    out->append(template_);
    char* message = out->data() + start;
    const uint64_t sequence = next_sequence_++;
    const uint16_t producer = static_cast<uint16_t>(id_);
    for (const BodySegment& s : segments_) {
      char* body = message + s.at;
      size_t offset = s.body_offset;
      size_t length = s.length;
      if (offset == 0) {
        WriteStamp(Stamp{now, producer, sequence}, body);
        body += kStampSize;
        offset += kStampSize;
        length -= kStampSize;
      }
      if (length > 0) FillPattern(producer, sequence, offset, body, length);
    }
  }
  if (confirms_) publish_ns_.insert(publish_ns_.end(), n, now);
  batch_messages_ += n;
}

uint64_t Producer::Room(uint64_t batch_max) const {
  if (connection_->has_output() || connection_->blocked()) return 0;
  uint64_t n = std::min(batch_max, limit_ - next_sequence_);
  if (confirms_) {
    const uint64_t window = options_.confirm_window;
    n = std::min(n, outstanding() < window ? window - outstanding() : 0);
  }
  return n;
}

Status Producer::Publish(RunControl* control) {
  const uint64_t batch_max = std::max<uint64_t>(1, kBatchBytes / template_.size());
  RateLimiter limiter(options_.rate, Clock::now());
  std::atomic<uint64_t>& published = control->published[static_cast<size_t>(id_)];
  Clock::time_point drain_deadline{};
  for (;;) {
    // Take in confirms and flow control.
    size_t got = 0;
    Status status = connection_->Read(&got);
    if (status.ok() && got > 0) status = HandleFrames(NowNs());
    if (!status.ok()) return status;

    // Publish a batch once the socket has taken the last one.
    const bool stopping =
        control->stop_publishing.load(std::memory_order_relaxed) || next_sequence_ >= limit_;
    Clock::time_point now = Clock::now();
    if (!stopping) {
      const uint64_t n = limiter.Take(Room(batch_max), now);
      if (n > 0) {
        AppendBatch(n);
        published.store(next_sequence_, std::memory_order_release);
      }
    }
    if (connection_->has_output()) status = connection_->Flush();
    if (!status.ok()) return status;
    if (!connection_->has_output() && batch_messages_ > 0) {
      sent_total_ += batch_messages_;
      batch_messages_ = 0;
      sent_.store(sent_total_, std::memory_order_relaxed);
      last_send_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    }

    if (stopping) {
      if (!connection_->has_output() && (!confirms_ || outstanding() == 0)) return Status::Ok();
      // Still sending (the broker may have stopped reading: connection.blocked) or
      // awaiting confirms: wait, but not forever. What is unsent or unconfirmed then is
      // not counted as sent or required.
      if (drain_deadline == Clock::time_point{}) {
        drain_deadline = now + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(options_.drain_timeout_s));
      }
      if (now >= drain_deadline) return Status::Ok();
    }

    // Go straight on while there is room for another batch; otherwise sleep until the
    // socket, the broker or the rate limiter lets us go on.
    std::chrono::nanoseconds wait = kPollInterval;
    if (!stopping && Room(batch_max) > 0) {
      now = Clock::now();
      const std::chrono::nanoseconds delay = limiter.Delay(now);
      if (delay.count() == 0) continue;
      wait = std::min(wait, std::max(delay, std::chrono::nanoseconds(1000)));
    }
    status = connection_->Wait(wait);
    if (!status.ok()) return status;
  }
}

Status Producer::HandleFrames(uint64_t now_ns) {
  amqp::FrameReader& reader = connection_->reader();
  amqp::Frame frame;
  for (;;) {
    const amqp::FrameReader::Result result = reader.Next(&frame);
    if (result == amqp::FrameReader::Result::kNeedMore) break;
    if (result != amqp::FrameReader::Result::kFrame) {
      return ProtocolError("bad frame from the broker: " + reader.error().ToString());
    }
    if (frame.type == amqp::kFrameMethod && frame.channel == kChannel) {
      const MethodId id = Connection::MethodOf(frame.payload);
      if (id == MethodId::kBasicAck) {
        amqp::BasicAck ack;
        Status status = amqp::DecodeMethodArguments(frame.payload.substr(4), &ack);
        if (status.ok()) status = Settle(ack.delivery_tag, ack.multiple, true, now_ns);
        if (!status.ok()) return status;
        continue;
      }
      if (id == MethodId::kBasicNack) {
        amqp::BasicNack nack;
        Status status = amqp::DecodeMethodArguments(frame.payload.substr(4), &nack);
        if (status.ok()) status = Settle(nack.delivery_tag, nack.multiple, false, now_ns);
        if (!status.ok()) return status;
        continue;
      }
    }
    bool handled = false;
    Status status = connection_->HandleCommonFrame(frame, &handled);
    if (!status.ok()) return status;
    if (!handled) {
      return ProtocolError("unexpected frame (type " + std::to_string(frame.type) +
                           ") on channel " + std::to_string(frame.channel));
    }
  }
  confirmed_count_.store(acked_.count(), std::memory_order_relaxed);
  return Status::Ok();
}

void Producer::Mark(uint64_t sequence, bool ack, uint64_t now_ns) {
  if (!settled_.Insert(sequence)) return;
  const uint64_t published = publish_ns_[sequence - lowest_unsettled_];
  confirm_latency_.Record(now_ns > published ? now_ns - published : 0);
  if (ack) {
    acked_.Insert(sequence);
  } else {
    ++nacked_;
  }
}

Status Producer::Settle(uint64_t tag, bool multiple, bool ack, uint64_t now_ns) {
  if (!confirms_ || tag == 0 || tag > next_sequence_) {
    return ProtocolError("confirm for delivery tag " + std::to_string(tag) + " but only " +
                         std::to_string(next_sequence_) + " published");
  }
  // Delivery tag t confirms sequence number t - 1: everything on the channel is ours.
  if (multiple) {
    for (uint64_t s = lowest_unsettled_; s < tag; ++s) Mark(s, ack, now_ns);
  } else {
    Mark(tag - 1, ack, now_ns);
  }
  while (settled_.Contains(lowest_unsettled_)) {
    ++lowest_unsettled_;
    publish_ns_.pop_front();
  }
  return Status::Ok();
}

}  // namespace warren::perf
