// Consuming, verifying and acking deliveries (see consumer.h).

#include "bench/perf/consumer.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "bench/perf/thread_cpu.h"

namespace warren::perf {

namespace {

using amqp::MethodId;
using amqp::Status;

constexpr uint16_t kChannel = 1;
// Longest wait between checks of the stop flag.
constexpr std::chrono::milliseconds kPollInterval{20};
// With -A, pending acks go out once no delivery has arrived for this long, so a prefetch
// smaller than -A, or the run's last messages, do not stall.
constexpr std::chrono::milliseconds kAckQuiet{10};
// Where basic.ack's delivery tag starts in its frame: after the frame header (7 bytes)
// and the class and method ids (4); its flags octet follows the tag's 8 bytes.
constexpr size_t kAckTagOffset = 11;

}  // namespace

Consumer::Consumer(int id, const Options& options, std::vector<std::string> queues, int producers)
    : id_(id),
      options_(options),
      queues_(std::move(queues)),
      producers_(producers),
      limit_(options.consumer_count > 0 ? options.consumer_count : UINT64_MAX) {
  seen_.resize(queues_.size());
  for (auto& per_producer : seen_) per_producer.resize(static_cast<size_t>(producers_));
}

void Consumer::Run(RunControl* control) {
  status_ = Setup();
  if (status_.ok()) status_ = Consume(control);
  ready_.store(true, std::memory_order_release);  // also on failure: nobody waits forever
  if (connection_) connection_->Close();
  cpu_ns_ = ThreadCpuNs();
  finished_.store(true, std::memory_order_release);
}

Status Consumer::Setup() {
  Status status =
      Connection::Open(options_.uri, "warren-perf consumer " + std::to_string(id_), &connection_);
  if (!status.ok()) return status;
  status = connection_->OpenChannel(kChannel);
  if (!status.ok()) return status;
  if (options_.prefetch > 0) {
    amqp::BasicQos qos;
    qos.prefetch_count = options_.prefetch;
    amqp::BasicQosOk ok;
    status = connection_->Call(kChannel, qos, &ok);
    if (!status.ok()) return status;
  }
  amqp::AppendMethodFrame(&ack_frame_, kChannel, amqp::BasicAck{});
  // Deliveries may follow a consume-ok at once, so the consume-oks are awaited in the
  // consuming loop rather than here.
  for (size_t slot = 0; slot < queues_.size(); ++slot) {
    const std::string tag = std::to_string(slot);
    amqp::BasicConsume consume;
    consume.queue = queues_[slot];
    consume.consumer_tag = tag;
    consume.no_ack = options_.auto_ack;
    amqp::AppendMethodFrame(connection_->out(), kChannel, consume);
  }
  if (queues_.empty()) ready_.store(true, std::memory_order_release);
  return connection_->Send();
}

Status Consumer::Consume(RunControl* control) {
  Clock::time_point last_data = Clock::now();
  for (;;) {
    if (control->stop_consuming.load(std::memory_order_relaxed)) return Status::Ok();
    size_t got = 0;
    Status status = connection_->Read(&got);
    if (!status.ok()) return status;
    if (got > 0) {
      const uint64_t now_ns = NowNs();
      status = HandleFrames(control, now_ns);
      if (status.ok()) status = connection_->Flush();
      if (!status.ok()) return status;
      received_count_.store(received_total_, std::memory_order_relaxed);
      distinct_count_.store(distinct_total_, std::memory_order_relaxed);
      last_receive_.store(static_cast<Clock::rep>(now_ns), std::memory_order_relaxed);
      last_data = Clock::now();
      continue;
    }
    const Clock::time_point now = Clock::now();
    if (unacked_ > 0 && now - last_data >= kAckQuiet) {
      AppendAck(last_tag_, true);
      unacked_ = 0;
    }
    status = connection_->Flush();
    if (!status.ok()) return status;
    status = connection_->Wait(unacked_ > 0 ? std::chrono::nanoseconds(kAckQuiet)
                                            : std::chrono::nanoseconds(kPollInterval));
    if (!status.ok()) return status;
  }
}

Status Consumer::HandleFrames(RunControl* control, uint64_t now_ns) {
  amqp::FrameReader& reader = connection_->reader();
  amqp::Frame frame;
  for (;;) {
    const amqp::FrameReader::Result result = reader.Next(&frame);
    if (result == amqp::FrameReader::Result::kNeedMore) return Status::Ok();
    if (result != amqp::FrameReader::Result::kFrame) {
      return ProtocolError("bad frame from the broker: " + reader.error().ToString());
    }
    if (frame.channel == kChannel) {
      bool complete = false;
      switch (frame.type) {
        case amqp::kFrameMethod: {
          const MethodId id = Connection::MethodOf(frame.payload);
          if (id == MethodId::kBasicDeliver) {
            Status status = assembler_.OnMethod(true);
            if (status.ok()) status = OnDeliver(frame.payload.substr(4));
            if (!status.ok()) return status;
            continue;
          }
          if (id == MethodId::kBasicConsumeOk) {
            if (++consume_oks_ == queues_.size()) ready_.store(true, std::memory_order_release);
            continue;
          }
          break;  // to the common handling below
        }
        case amqp::kFrameHeader: {
          amqp::ContentHeader header;
          Status status = assembler_.OnHeader(frame.payload, &header, &complete);
          if (!status.ok()) return ProtocolError(status.ToString());
          if (header.body_size() != options_.body_size) delivery_.bad = true;
          if (complete) Finish(control, now_ns);
          continue;
        }
        case amqp::kFrameBody: {
          Status status = assembler_.OnBody(frame.payload, &complete);
          if (!status.ok()) return ProtocolError(status.ToString());
          OnBody(frame.payload);
          if (complete) Finish(control, now_ns);
          continue;
        }
        default:
          break;
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
}

Status Consumer::OnDeliver(std::string_view arguments) {
  amqp::BasicDeliver deliver;
  Status status = amqp::DecodeMethodArguments(arguments, &deliver);
  if (!status.ok()) return status;
  size_t slot = 0;
  const std::string_view tag = deliver.consumer_tag;
  const auto [end, ec] = std::from_chars(tag.data(), tag.data() + tag.size(), slot);
  if (ec != std::errc() || end != tag.data() + tag.size() || slot >= queues_.size()) {
    return ProtocolError("basic.deliver for unknown consumer tag '" + std::string(tag) + "'");
  }
  delivery_.slot = slot;
  delivery_.delivery_tag = deliver.delivery_tag;
  delivery_.redelivered = deliver.redelivered;
  delivery_.offset = 0;
  delivery_.bad = false;
  return Status::Ok();
}

void Consumer::OnBody(std::string_view payload) {
  Delivery& d = delivery_;
  if (d.offset < kStampSize) {
    const size_t n = std::min(kStampSize - d.offset, payload.size());
    std::memcpy(d.stamp_bytes + d.offset, payload.data(), n);
    d.offset += n;
    payload.remove_prefix(n);
    if (d.offset == kStampSize) d.stamp = ReadStamp(d.stamp_bytes);
  }
  if (payload.empty()) return;
  if (!d.bad &&
      !CheckPattern(d.stamp.producer, d.stamp.sequence, d.offset, payload.data(), payload.size())) {
    d.bad = true;
  }
  d.offset += payload.size();
}

void Consumer::AppendAck(uint64_t tag, bool multiple) {
  // A copy of the frame built in Setup with the tag and flag patched in: cheaper than
  // encoding each ack field by field.
  std::string* out = connection_->out();
  const size_t at = out->size();
  out->append(ack_frame_);
  char* p = out->data() + at + kAckTagOffset;
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<char>(tag & 0xff);
    tag >>= 8;
  }
  p[8] = multiple ? 1 : 0;
}

void Consumer::Finish(RunControl* control, uint64_t now_ns) {
  const Delivery& d = delivery_;
  if (deliveries_ == limit_) return;  // beyond -D: left unacknowledged
  ++deliveries_;
  if (!options_.auto_ack) {
    if (options_.multi_ack_every == 0) {
      AppendAck(d.delivery_tag, false);
    } else {
      last_tag_ = d.delivery_tag;
      if (++unacked_ >= options_.multi_ack_every || deliveries_ == limit_) {
        AppendAck(d.delivery_tag, true);
        unacked_ = 0;
      }
    }
  }
  if (options_.test_drop_every > 0 && deliveries_ % options_.test_drop_every == 0) {
    ++dropped_;
    return;
  }
  ++received_total_;
  if (d.redelivered) ++redelivered_;
  if (d.bad || d.offset < kStampSize) {
    ++corrupt_;
    return;
  }
  std::vector<SequenceSet>& per_producer = seen_[d.slot];
  if (producers_ == 0) {
    if (d.stamp.producer >= per_producer.size()) per_producer.resize(d.stamp.producer + 1u);
  } else if (d.stamp.producer >= producers_ ||
             d.stamp.sequence >=
                 control->published[d.stamp.producer].load(std::memory_order_acquire)) {
    ++corrupt_;
    return;
  }
  if (!per_producer[d.stamp.producer].Insert(d.stamp.sequence)) {
    ++duplicates_;
    return;
  }
  ++distinct_total_;
  latency_.Record(now_ns > d.stamp.timestamp_ns ? now_ns - d.stamp.timestamp_ns : 0);
}

}  // namespace warren::perf
