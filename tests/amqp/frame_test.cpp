// Tests for amqp/frame.*: FrameReader's incremental reading (in any chunking), the
// protocol header, every frame-level error, and the frame writing helpers.

#include "amqp/frame.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "amqp/encoder.h"
#include "amqp/generated/methods.h"
#include "amqp/table.h"

namespace warren::amqp {
namespace {

using namespace std::string_literals;
using Result = FrameReader::Result;
using Mode = FrameReader::Mode;

// A frame copied out of the reader's buffer, so it survives later reads.
struct OwnedFrame {
  uint8_t type = 0;
  uint16_t channel = 0;
  std::string payload;
  bool operator==(const OwnedFrame&) const = default;
};

// One thing the reader reported: a frame, or that the protocol header arrived.
struct Event {
  Result result;
  OwnedFrame frame;
  bool operator==(const Event&) const = default;
};

// The bytes of one frame, built by hand so that any field can be made wrong.
std::string RawFrame(uint8_t type, uint16_t channel, std::string_view payload,
                     uint8_t frame_end = kFrameEnd) {
  std::string out;
  Encoder enc(&out);
  enc.Octet(type);
  enc.Short(channel);
  enc.Long(static_cast<uint32_t>(payload.size()));
  enc.Bytes(payload);
  enc.Octet(frame_end);
  return out;
}

// A frame header (type, channel, size) without payload or frame-end.
std::string RawHeader(uint8_t type, uint16_t channel, uint32_t size) {
  std::string out;
  Encoder enc(&out);
  enc.Octet(type);
  enc.Short(channel);
  enc.Long(size);
  return out;
}

// Takes every result out of `reader` until it needs more bytes or fails; returns the
// final result.
Result Drain(FrameReader* reader, std::vector<Event>* events) {
  for (;;) {
    Frame frame;
    const Result result = reader->Next(&frame);
    if (result == Result::kFrame) {
      events->push_back({result, {frame.type, frame.channel, std::string(frame.payload)}});
    } else if (result == Result::kProtocolHeader) {
      events->push_back({result, {}});
    } else {
      return result;
    }
  }
}

// Feeds `bytes` to a new reader in chunks whose sizes cycle through `chunk_sizes`, taking
// results out after every chunk.
std::vector<Event> ReadInChunks(Mode mode, std::string_view bytes,
                                const std::vector<size_t>& chunk_sizes) {
  FrameReader reader(mode);
  std::vector<Event> events;
  size_t next_size = 0;
  while (!bytes.empty()) {
    const size_t n = std::min(bytes.size(), chunk_sizes[next_size++ % chunk_sizes.size()]);
    reader.Append(bytes.substr(0, n));
    bytes.remove_prefix(n);
    EXPECT_EQ(Drain(&reader, &events), Result::kNeedMore);
  }
  EXPECT_EQ(reader.buffered(), 0u);
  return events;
}

std::vector<Event> ReadAllAtOnce(Mode mode, std::string_view bytes) {
  return ReadInChunks(mode, bytes, {bytes.size()});
}

// A stream as a client sends it: a method frame with a table, content on two channels
// (one with an empty body frame), a heartbeat and a maximum-size frame.
std::string ClientStream() {
  std::string out;
  ConnectionStartOk start_ok;
  start_ok.client_properties = FieldTable{{"product", "test"}, {"n", int32_t{-1}}};
  start_ok.mechanism = "PLAIN";
  start_ok.response = std::string_view("\0guest\0guest", 12);
  start_ok.locale = "en_US";
  EXPECT_TRUE(AppendMethodFrame(&out, 0, start_ok));
  BasicPublish publish;
  publish.routing_key = "rk";
  EXPECT_TRUE(AppendMethodFrame(&out, 1, publish));
  out += RawFrame(kFrameHeader, 1, "\x00\x3c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00"s);
  out += RawFrame(kFrameBody, 1, "hello");
  AppendHeartbeatFrame(&out);
  out += RawFrame(kFrameBody, 0xffff, "");
  out += RawFrame(kFrameBody, 2, std::string(kFrameMinSize - kFrameOverhead, '\xce'));
  out += RawFrame(kFrameMethod, 3, "\x00\x14\x00\x28"s);
  return out;
}

TEST(FrameReader, ReadsSeveralFramesFromOneBuffer) {
  const std::vector<Event> events = ReadAllAtOnce(Mode::kFramesOnly, ClientStream());
  ASSERT_EQ(events.size(), 8u);
  EXPECT_EQ(events[0].frame.type, kFrameMethod);
  EXPECT_EQ(events[0].frame.channel, 0);
  EXPECT_EQ(events[1].frame.channel, 1);
  EXPECT_EQ(events[2].frame.type, kFrameHeader);
  EXPECT_EQ(events[3].frame, (OwnedFrame{kFrameBody, 1, "hello"}));
  EXPECT_EQ(events[4].frame, (OwnedFrame{kFrameHeartbeat, 0, ""}));
  EXPECT_EQ(events[5].frame, (OwnedFrame{kFrameBody, 0xffff, ""}));
  EXPECT_EQ(events[6].frame.payload.size(), kFrameMinSize - kFrameOverhead);
  EXPECT_EQ(events[7].frame, (OwnedFrame{kFrameMethod, 3, "\x00\x14\x00\x28"s}));
  for (const Event& e : events) EXPECT_EQ(e.result, Result::kFrame);
}

TEST(FrameReader, ByteByByteYieldsTheSameFramesAsAllAtOnce) {
  for (Mode mode : {Mode::kFramesOnly, Mode::kExpectProtocolHeader}) {
    const std::string stream =
        (mode == Mode::kExpectProtocolHeader ? std::string(kProtocolHeader) : "") + ClientStream();
    const std::vector<Event> whole = ReadAllAtOnce(mode, stream);
    EXPECT_EQ(whole.size(), mode == Mode::kFramesOnly ? 8u : 9u);
    EXPECT_EQ(ReadInChunks(mode, stream, {1}), whole);
  }
}

TEST(FrameReader, AnyChunkingYieldsTheSameFrames) {
  const std::string stream = std::string(kProtocolHeader) + ClientStream() + ClientStream();
  const std::vector<Event> whole = ReadAllAtOnce(Mode::kExpectProtocolHeader, stream);
  ASSERT_EQ(whole.size(), 17u);
  std::vector<size_t> one_to_seventeen;
  for (size_t i = 1; i <= 17; ++i) one_to_seventeen.push_back(i);
  EXPECT_EQ(ReadInChunks(Mode::kExpectProtocolHeader, stream, one_to_seventeen), whole);
  for (size_t size : {2u, 3u, 7u, 8u, 9u, 100u, 4095u, 4097u}) {
    EXPECT_EQ(ReadInChunks(Mode::kExpectProtocolHeader, stream, {size}), whole)
        << "chunks of " << size;
  }
  EXPECT_EQ(ReadInChunks(Mode::kExpectProtocolHeader, stream, {13, 1, 4500, 2}), whole);
}

TEST(FrameReader, ReadsThroughPrepareReadAndCommitRead) {
  const std::string stream = ClientStream();
  FrameReader reader(Mode::kFramesOnly);
  std::vector<Event> events;
  size_t pos = 0;
  while (pos < stream.size()) {
    char* space = reader.PrepareRead(1000);
    ASSERT_GE(reader.writable(), 1000u);
    // Like a socket read, fill less than was asked for.
    const size_t n = std::min<size_t>(stream.size() - pos, 333);
    std::copy_n(stream.data() + pos, n, space);
    reader.CommitRead(n);
    pos += n;
    EXPECT_EQ(Drain(&reader, &events), Result::kNeedMore);
  }
  EXPECT_EQ(events, ReadAllAtOnce(Mode::kFramesOnly, stream));
}

// The way the broker reads: into a scratch buffer that is overwritten by the next read,
// with only a partial frame kept (KeepRest) or, when something is buffered already, into
// the reader's own buffer.
TEST(FrameReader, BorrowedScratchBufferYieldsTheSameFrames) {
  const std::string stream = std::string(kProtocolHeader) + ClientStream() + ClientStream();
  const std::vector<Event> whole = ReadAllAtOnce(Mode::kExpectProtocolHeader, stream);
  for (size_t chunk : {1u, 5u, 7u, 8u, 64u, 1000u, 4097u, 100000u}) {
    FrameReader reader(Mode::kExpectProtocolHeader);
    std::vector<Event> events;
    std::string scratch;
    for (size_t pos = 0; pos < stream.size(); pos += chunk) {
      const std::string_view piece = std::string_view(stream).substr(pos, chunk);
      if (reader.buffered() == 0) {
        scratch.assign(piece);
        reader.Borrow(scratch.data(), scratch.size());
      } else {
        reader.Append(piece);
      }
      EXPECT_EQ(Drain(&reader, &events), Result::kNeedMore);
      reader.KeepRest();
      scratch.assign(scratch.size(), 'X');  // the next reader's bytes
    }
    EXPECT_EQ(events, whole) << "chunks of " << chunk;
  }
}

TEST(FrameReader, BorrowingWhileSomethingIsBufferedAppends) {
  const std::string stream = ClientStream();
  FrameReader reader(Mode::kFramesOnly);
  reader.Append(std::string_view(stream).substr(0, 3));
  std::string rest = stream.substr(3);
  reader.Borrow(rest.data(), rest.size());
  rest.assign(rest.size(), 'X');  // Borrow had to copy: the reader held a partial frame
  std::vector<Event> events;
  EXPECT_EQ(Drain(&reader, &events), Result::kNeedMore);
  EXPECT_EQ(events, ReadAllAtOnce(Mode::kFramesOnly, stream));
}

TEST(FrameReader, EmptyReaderNeedsMore) {
  for (Mode mode : {Mode::kFramesOnly, Mode::kExpectProtocolHeader}) {
    FrameReader reader(mode);
    Frame frame;
    EXPECT_EQ(reader.Next(&frame), Result::kNeedMore);
  }
}

// A zero-byte chunk (an empty read, the end of a split) before any buffer exists.
TEST(FrameReader, AppendingNothingToAFreshReaderIsHarmless) {
  for (Mode mode : {Mode::kFramesOnly, Mode::kExpectProtocolHeader}) {
    FrameReader reader(mode);
    reader.Append("");
    EXPECT_EQ(reader.buffered(), 0u);
    Frame frame;
    EXPECT_EQ(reader.Next(&frame), Result::kNeedMore);
  }
}

TEST(FrameReader, PartialFrameNeedsMore) {
  const std::string frame_bytes = RawFrame(kFrameBody, 1, "payload");
  FrameReader reader(Mode::kFramesOnly);
  Frame frame;
  for (size_t i = 0; i + 1 < frame_bytes.size(); ++i) {
    reader.Append(frame_bytes.substr(i, 1));
    EXPECT_EQ(reader.Next(&frame), Result::kNeedMore) << "after " << i + 1 << " bytes";
    EXPECT_EQ(reader.buffered(), i + 1);
  }
  reader.Append(frame_bytes.substr(frame_bytes.size() - 1));
  ASSERT_EQ(reader.Next(&frame), Result::kFrame);
  EXPECT_EQ(frame.payload, "payload");
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(FrameReader, AcceptsTheProtocolHeaderThenFrames) {
  FrameReader reader(Mode::kExpectProtocolHeader);
  Frame frame;
  for (size_t i = 0; i + 1 < kProtocolHeader.size(); ++i) {
    reader.Append(kProtocolHeader.substr(i, 1));
    EXPECT_EQ(reader.Next(&frame), Result::kNeedMore) << "after " << i + 1 << " bytes";
  }
  reader.Append(kProtocolHeader.substr(kProtocolHeader.size() - 1));
  reader.Append(RawFrame(kFrameMethod, 0, "\x00\x0a\x00\x0b"s));
  EXPECT_EQ(reader.Next(&frame), Result::kProtocolHeader);
  ASSERT_EQ(reader.Next(&frame), Result::kFrame);
  EXPECT_EQ(frame.type, kFrameMethod);
  EXPECT_EQ(frame.payload, "\x00\x0a\x00\x0b"s);
  EXPECT_EQ(reader.Next(&frame), Result::kNeedMore);
}

TEST(FrameReader, SecondProtocolHeaderIsNotAFrame) {
  FrameReader reader(Mode::kExpectProtocolHeader);
  reader.Append(std::string(kProtocolHeader) + std::string(kProtocolHeader));
  Frame frame;
  EXPECT_EQ(reader.Next(&frame), Result::kProtocolHeader);
  EXPECT_EQ(reader.Next(&frame), Result::kError);  // 'A' is not a frame type
  EXPECT_EQ(reader.error().code(), ReplyCode::kFrameError);
}

TEST(FrameReader, ClientReaderTreatsAProtocolHeaderAsABadFrame) {
  FrameReader reader(Mode::kFramesOnly);
  reader.Append(kProtocolHeader);
  Frame frame;
  EXPECT_EQ(reader.Next(&frame), Result::kError);
  EXPECT_EQ(reader.error().code(), ReplyCode::kFrameError);
}

TEST(FrameReader, RejectsBadProtocolHeaders) {
  const std::vector<std::string> headers = {
      "HTTP/1.1 200 OK\r\n"s,  "GET / HTTP/1.1\r\n"s,
      "AMQP\x01\x01\x00\x09"s,  // AMQP 0-9 as old clients announce it
      "AMQP\x00\x00\x09\x00"s,  // 0-9-0
      "AMQP\x00\x00\x08\x00"s,  // 0-8
      "AMQP\x00\x00\x0a\x00"s,  // 0-10
      "AMQP\x03\x01\x00\x00"s,  // AMQP 1.0 SASL
      "amqp\x00\x00\x09\x01"s,
  };
  for (const std::string& header : headers) {
    FrameReader reader(Mode::kExpectProtocolHeader);
    reader.Append(header);
    Frame frame;
    EXPECT_EQ(reader.Next(&frame), Result::kBadProtocolHeader);
    // Stays failed, even if a good header and frames follow.
    reader.Append(std::string(kProtocolHeader) + RawFrame(kFrameHeartbeat, 0, ""));
    EXPECT_EQ(reader.Next(&frame), Result::kBadProtocolHeader);
    EXPECT_EQ(reader.Next(&frame), Result::kBadProtocolHeader);
  }
}

TEST(FrameReader, RejectsAMismatchingProtocolHeaderBeforeEightBytesArrive) {
  {
    FrameReader reader(Mode::kExpectProtocolHeader);
    reader.Append("G");
    Frame frame;
    EXPECT_EQ(reader.Next(&frame), Result::kBadProtocolHeader);
  }
  {
    // "AMQP" then a wrong fifth byte: rejected at the fifth byte.
    FrameReader reader(Mode::kExpectProtocolHeader);
    Frame frame;
    reader.Append("AMQP");
    EXPECT_EQ(reader.Next(&frame), Result::kNeedMore);
    reader.Append("\x01");
    EXPECT_EQ(reader.Next(&frame), Result::kBadProtocolHeader);
  }
}

TEST(FrameReader, RejectsOversizedFrameBeforePayloadArrives) {
  FrameReader reader(Mode::kFramesOnly);  // frame_max 4096 until tuned
  EXPECT_EQ(reader.frame_max(), kFrameMinSize);
  Frame frame;
  const std::string header = RawHeader(kFrameBody, 1, kFrameMinSize - kFrameOverhead + 1);
  reader.Append(header.substr(0, 6));
  EXPECT_EQ(reader.Next(&frame), Result::kNeedMore);
  reader.Append(header.substr(6));
  EXPECT_EQ(reader.Next(&frame), Result::kError);
  EXPECT_EQ(reader.error().code(), ReplyCode::kFrameError);
  EXPECT_FALSE(reader.error().text().empty());
}

TEST(FrameReader, RejectsAHugeDeclaredSizeAtOnce) {
  FrameReader reader(Mode::kFramesOnly, 131072);
  reader.Append(RawHeader(kFrameMethod, 1, 0xffffffff));
  Frame frame;
  EXPECT_EQ(reader.Next(&frame), Result::kError);
  EXPECT_EQ(reader.error().code(), ReplyCode::kFrameError);
}

TEST(FrameReader, AcceptsAFrameOfExactlyFrameMax) {
  FrameReader reader(Mode::kFramesOnly, 100);
  reader.Append(RawFrame(kFrameBody, 1, std::string(100 - kFrameOverhead, 'x')));
  Frame frame;
  ASSERT_EQ(reader.Next(&frame), Result::kFrame);
  EXPECT_EQ(frame.payload.size(), 100 - kFrameOverhead);
}

TEST(FrameReader, RaisingFrameMaxLetsALargerFrameThrough) {
  const std::string big = RawFrame(kFrameBody, 1, std::string(10000, 'b'));
  {
    FrameReader reader(Mode::kFramesOnly);
    reader.Append(big);
    Frame frame;
    EXPECT_EQ(reader.Next(&frame), Result::kError);
  }
  FrameReader reader(Mode::kFramesOnly);
  reader.set_frame_max(131072);
  EXPECT_EQ(reader.frame_max(), 131072u);
  reader.Append(big);
  Frame frame;
  ASSERT_EQ(reader.Next(&frame), Result::kFrame);
  EXPECT_EQ(frame.payload, std::string(10000, 'b'));
}

TEST(FrameReader, FrameMaxZeroMeansNoLimit) {
  FrameReader reader(Mode::kFramesOnly, 0);
  reader.Append(RawFrame(kFrameBody, 1, std::string(200000, 'z')));
  Frame frame;
  ASSERT_EQ(reader.Next(&frame), Result::kFrame);
  EXPECT_EQ(frame.payload.size(), 200000u);
}

TEST(FrameReader, WrongFrameEndOctetIsAFrameError) {
  for (uint8_t end : {0x00, 0xcd, 0xcf, 0xff}) {
    FrameReader reader(Mode::kFramesOnly);
    reader.Append(RawFrame(kFrameMethod, 1, "\x00\x14\x00\x28"s, end));
    Frame frame;
    EXPECT_EQ(reader.Next(&frame), Result::kError) << int{end};
    EXPECT_EQ(reader.error().code(), ReplyCode::kFrameError);
  }
}

TEST(FrameReader, UnknownFrameTypeIsAFrameErrorFromTheHeaderAlone) {
  for (uint8_t type : {0, 4, 5, 7, 9, 65, 206, 255}) {
    FrameReader reader(Mode::kFramesOnly);
    reader.Append(RawHeader(type, 0, 4));  // payload and frame-end never arrive
    Frame frame;
    EXPECT_EQ(reader.Next(&frame), Result::kError) << "type " << int{type};
    EXPECT_EQ(reader.error().code(), ReplyCode::kFrameError);
  }
}

// RabbitMQ answers a heartbeat on a channel other than 0 with 505, not 501.
TEST(FrameReader, HeartbeatOffChannelZeroIsAnUnexpectedFrame) {
  FrameReader reader(Mode::kFramesOnly);
  reader.Append(RawFrame(kFrameHeartbeat, 1, ""));
  Frame frame;
  EXPECT_EQ(reader.Next(&frame), Result::kError);
  EXPECT_EQ(reader.error().code(), ReplyCode::kUnexpectedFrame);
}

TEST(FrameReader, HeartbeatWithPayloadIsAFrameError) {
  FrameReader reader(Mode::kFramesOnly);
  reader.Append(RawFrame(kFrameHeartbeat, 0, "x"));
  Frame frame;
  EXPECT_EQ(reader.Next(&frame), Result::kError);
  EXPECT_EQ(reader.error().code(), ReplyCode::kFrameError);
}

TEST(FrameReader, ErrorIsSticky) {
  FrameReader reader(Mode::kFramesOnly);
  reader.Append(RawFrame(kFrameHeartbeat, 0, ""));
  reader.Append(RawFrame(kFrameBody, 1, "x", 0));
  reader.Append(RawFrame(kFrameHeartbeat, 0, ""));
  Frame frame;
  EXPECT_EQ(reader.Next(&frame), Result::kFrame);
  EXPECT_EQ(reader.Next(&frame), Result::kError);
  const std::string text = reader.error().text();
  for (int i = 0; i < 3; ++i) {
    reader.Append(RawFrame(kFrameHeartbeat, 0, ""));
    EXPECT_EQ(reader.Next(&frame), Result::kError);
    EXPECT_EQ(reader.error().code(), ReplyCode::kFrameError);
    EXPECT_EQ(reader.error().text(), text);
  }
}

TEST(FrameReader, ErrorTextNamesTheReplyCode) {
  FrameReader reader(Mode::kFramesOnly);
  reader.Append(RawFrame(kFrameBody, 1, "x", 0));
  Frame frame;
  ASSERT_EQ(reader.Next(&frame), Result::kError);
  EXPECT_EQ(reader.error().ToString().rfind("FRAME_ERROR - ", 0), 0u) << reader.error().ToString();
}

TEST(FrameWriting, HeartbeatFrameHasExactBytes) {
  std::string out = "prefix";
  AppendHeartbeatFrame(&out);
  EXPECT_EQ(out, "prefix\x08\x00\x00\x00\x00\x00\x00\xce"s);
}

TEST(FrameWriting, MethodFrameHasExactBytes) {
  std::string out;
  ASSERT_TRUE(AppendMethodFrame(&out, 0x0102, ConnectionTune{2047, 131072, 60}));
  EXPECT_EQ(out,
            "\x01\x01\x02\x00\x00\x00\x0c"
            "\x00\x0a\x00\x1e\x07\xff\x00\x02\x00\x00\x00\x3c\xce"s);
}

TEST(FrameWriting, MethodAndHeartbeatFramesParseBack) {
  QueueDeclare declare;
  declare.queue = "orders";
  declare.durable = true;
  declare.arguments = FieldTable{{"x-max-length", int64_t{1000}}, {"x-queue-type", "quorum"}};
  BasicAck ack;
  ack.delivery_tag = 0xfedcba9876543210;
  ack.multiple = true;

  std::string out;
  ASSERT_TRUE(AppendMethodFrame(&out, 7, declare));
  AppendHeartbeatFrame(&out);
  ASSERT_TRUE(AppendMethodFrame(&out, 65535, ack));

  FrameReader reader(Mode::kFramesOnly);
  reader.Append(out);
  Frame frame;
  Method method;
  ASSERT_EQ(reader.Next(&frame), Result::kFrame);
  EXPECT_EQ(frame.type, kFrameMethod);
  EXPECT_EQ(frame.channel, 7);
  ASSERT_TRUE(DecodeMethod(frame.payload, &method).ok());
  ASSERT_TRUE(std::holds_alternative<QueueDeclare>(method));
  EXPECT_TRUE(std::get<QueueDeclare>(method) == declare);

  ASSERT_EQ(reader.Next(&frame), Result::kFrame);
  EXPECT_EQ(frame.type, kFrameHeartbeat);
  EXPECT_EQ(frame.channel, 0);
  EXPECT_TRUE(frame.payload.empty());

  ASSERT_EQ(reader.Next(&frame), Result::kFrame);
  EXPECT_EQ(frame.channel, 65535);
  ASSERT_TRUE(DecodeMethod(frame.payload, &method).ok());
  ASSERT_TRUE(std::holds_alternative<BasicAck>(method));
  EXPECT_TRUE(std::get<BasicAck>(method) == ack);

  EXPECT_EQ(reader.Next(&frame), Result::kNeedMore);
}

TEST(FrameWriting, BeginAndEndFramePatchTheSize) {
  std::string out;
  Encoder enc(&out);
  const size_t start = BeginFrame(enc, kFrameBody, 3);
  enc.Bytes("abc");
  EndFrame(enc, start);
  EXPECT_EQ(out, RawFrame(kFrameBody, 3, "abc"));
}

TEST(FrameReader, ReleaseIfEmptyFreesAnIdleBuffer) {
  FrameReader reader(Mode::kFramesOnly);
  reader.Append(RawFrame(kFrameBody, 1, std::string(1000, 'a')));
  Frame frame;
  ASSERT_EQ(reader.Next(&frame), Result::kFrame);
  EXPECT_EQ(reader.buffered(), 0u);
  reader.ReleaseIfEmpty();
  EXPECT_EQ(reader.writable(), 0u);
  EXPECT_EQ(reader.Next(&frame), Result::kNeedMore);
  // The reader still works afterwards.
  reader.Append(RawFrame(kFrameBody, 2, "again"));
  ASSERT_EQ(reader.Next(&frame), Result::kFrame);
  EXPECT_EQ(frame.channel, 2);
  EXPECT_EQ(frame.payload, "again");
}

TEST(FrameReader, ReleaseIfEmptyKeepsAPartialFrame) {
  const std::string bytes = RawFrame(kFrameBody, 1, "partial frame payload");
  FrameReader reader(Mode::kFramesOnly);
  reader.Append(bytes.substr(0, 10));
  reader.ReleaseIfEmpty();
  EXPECT_EQ(reader.buffered(), 10u);
  reader.Append(bytes.substr(10));
  Frame frame;
  ASSERT_EQ(reader.Next(&frame), Result::kFrame);
  EXPECT_EQ(frame.payload, "partial frame payload");
}

TEST(FrameReader, ReleaseIfEmptyKeepsAnIncompleteProtocolHeader) {
  FrameReader reader(Mode::kExpectProtocolHeader);
  reader.Append(kProtocolHeader.substr(0, 3));
  Frame frame;
  EXPECT_EQ(reader.Next(&frame), Result::kNeedMore);
  reader.ReleaseIfEmpty();
  reader.Append(kProtocolHeader.substr(3));
  EXPECT_EQ(reader.Next(&frame), Result::kProtocolHeader);
}

}  // namespace
}  // namespace warren::amqp
