// Tests for amqp/content.*: content header frames (writing, parsing, lazy property
// access), body frame splitting and the method -> header -> body sequence check.

#include "amqp/content.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "amqp/encoder.h"
#include "amqp/frame.h"
#include "amqp/generated/properties.h"
#include "amqp/table.h"

namespace warren::amqp {
namespace {

using namespace std::string_literals;

BasicProperties AllProperties() {
  BasicProperties p;
  p.content_type = "application/json";
  p.content_encoding = "gzip";
  p.headers = FieldTable{
      {"x-count", int32_t{-7}},
      {"x-nested", FieldTable{{"list", FieldArray{"a", FieldTable{{"deep", 2.5}}, Void{}}},
                              {"when", Timestamp{1700000000}}}},
      {"x-bytes", ByteArray{"\x00\xff"s}},
  };
  p.delivery_mode = 2;
  p.priority = 9;
  p.correlation_id = "corr-1";
  p.reply_to = "amq.rabbitmq.reply-to";
  p.expiration = "60000";
  p.message_id = "msg-42";
  p.timestamp = 0x0102030405060708;
  p.type = "order.created";
  p.user_id = "guest";
  p.app_id = "warren-test";
  p.reserved = "cluster-a";
  return p;
}

// Makes property `p` of *props absent.
void Reset(BasicProperties* props, Property p) {
  switch (p) {
    case Property::kContentType:
      return props->content_type.reset();
    case Property::kContentEncoding:
      return props->content_encoding.reset();
    case Property::kHeaders:
      return props->headers.reset();
    case Property::kDeliveryMode:
      return props->delivery_mode.reset();
    case Property::kPriority:
      return props->priority.reset();
    case Property::kCorrelationId:
      return props->correlation_id.reset();
    case Property::kReplyTo:
      return props->reply_to.reset();
    case Property::kExpiration:
      return props->expiration.reset();
    case Property::kMessageId:
      return props->message_id.reset();
    case Property::kTimestamp:
      return props->timestamp.reset();
    case Property::kType:
      return props->type.reset();
    case Property::kUserId:
      return props->user_id.reset();
    case Property::kAppId:
      return props->app_id.reset();
    case Property::kReserved:
      return props->reserved.reset();
  }
}

// The payload of the single frame in `bytes`, copied out of the reader.
std::string ParseOneFrame(const std::string& bytes, uint8_t expected_type) {
  FrameReader reader(FrameReader::Mode::kFramesOnly, 0);
  reader.Append(bytes);
  Frame frame;
  EXPECT_EQ(reader.Next(&frame), FrameReader::Result::kFrame);
  EXPECT_EQ(frame.type, expected_type);
  const std::string payload(frame.payload);
  EXPECT_EQ(reader.Next(&frame), FrameReader::Result::kNeedMore) << "bytes after the frame";
  return payload;
}

std::string HeaderPayload(const BasicProperties& props, uint64_t body_size) {
  std::string frame;
  EXPECT_TRUE(AppendContentHeaderFrame(&frame, 1, body_size, props));
  return ParseOneFrame(frame, kFrameHeader);
}

// A content header payload with the given class id, body size and raw property bytes.
std::string RawHeaderPayload(uint16_t class_id, uint64_t body_size, std::string_view raw) {
  std::string out;
  Encoder enc(&out);
  enc.Short(class_id);
  enc.Short(0);
  enc.LongLong(body_size);
  enc.Bytes(raw);
  return out;
}

TEST(ContentHeader, AllPropertiesSurviveAFrameRoundTrip) {
  const BasicProperties props = AllProperties();
  std::string frame;
  ASSERT_TRUE(AppendContentHeaderFrame(&frame, 5, 300000, props));

  FrameReader reader(FrameReader::Mode::kFramesOnly);
  reader.Append(frame);
  Frame f;
  ASSERT_EQ(reader.Next(&f), FrameReader::Result::kFrame);
  EXPECT_EQ(f.type, kFrameHeader);
  EXPECT_EQ(f.channel, 5);

  ContentHeader header;
  const Status status = ContentHeader::Parse(f.payload, &header);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(header.class_id(), 60);
  EXPECT_EQ(header.body_size(), 300000u);
  EXPECT_EQ(header.payload(), f.payload);
  for (int i = 0; i < kPropertyCount; ++i) {
    EXPECT_TRUE(header.Has(static_cast<Property>(i))) << kProperties[i].name;
  }

  EXPECT_EQ(header.ShortString(Property::kContentType), "application/json");
  EXPECT_EQ(header.ShortString(Property::kContentEncoding), "gzip");
  EXPECT_EQ(header.Octet(Property::kDeliveryMode), 2);
  EXPECT_EQ(header.Octet(Property::kPriority), 9);
  EXPECT_EQ(header.ShortString(Property::kCorrelationId), "corr-1");
  EXPECT_EQ(header.ShortString(Property::kReplyTo), "amq.rabbitmq.reply-to");
  EXPECT_EQ(header.ShortString(Property::kExpiration), "60000");
  EXPECT_EQ(header.ShortString(Property::kMessageId), "msg-42");
  EXPECT_EQ(header.Timestamp(Property::kTimestamp), 0x0102030405060708u);
  EXPECT_EQ(header.ShortString(Property::kType), "order.created");
  EXPECT_EQ(header.ShortString(Property::kUserId), "guest");
  EXPECT_EQ(header.ShortString(Property::kAppId), "warren-test");
  EXPECT_EQ(header.ShortString(Property::kReserved), "cluster-a");

  std::string encoded_headers;
  Encoder enc(&encoded_headers);
  EncodeFieldTable(enc, *props.headers);
  EXPECT_EQ(header.RawHeaders(), encoded_headers);

  FieldTable headers;
  ASSERT_TRUE(header.DecodeHeaders(&headers).ok());
  EXPECT_EQ(headers, *props.headers);

  EXPECT_EQ(header.DecodeProperties(), props);
}

TEST(ContentHeader, RawPropertiesReemitIdenticalBytes) {
  const std::string payload = HeaderPayload(AllProperties(), 12345);
  ContentHeader header;
  ASSERT_TRUE(ContentHeader::Parse(payload, &header).ok());
  EXPECT_EQ(header.raw_properties(), std::string_view(payload).substr(kContentHeaderPrefixSize));

  std::string from_raw;
  AppendContentHeaderFrame(&from_raw, 9, header.body_size(), header.raw_properties());
  std::string from_props;
  ASSERT_TRUE(AppendContentHeaderFrame(&from_props, 9, 12345, AllProperties()));
  EXPECT_EQ(from_raw, from_props);
  EXPECT_EQ(ParseOneFrame(from_raw, kFrameHeader), payload);
}

TEST(ContentHeader, EachPropertyAloneIsFoundAtItsPlace) {
  // With one property present, the lazy accessor must not be thrown off by the others'
  // absence; with all but one, it must skip every one before it.
  const BasicProperties all = AllProperties();
  for (int i = 0; i < kPropertyCount; ++i) {
    const Property p = static_cast<Property>(i);
    SCOPED_TRACE(kProperties[i].name);
    BasicProperties only = all;
    for (int j = 0; j < kPropertyCount; ++j) {
      if (j != i) Reset(&only, static_cast<Property>(j));
    }
    BasicProperties without = all;
    Reset(&without, p);
    EXPECT_EQ(only.Flags(), kProperties[i].flag);
    EXPECT_EQ(without.Flags(), 0xfffc & ~kProperties[i].flag);
    for (const BasicProperties& props : {only, without}) {
      const std::string payload = HeaderPayload(props, 1);
      ContentHeader header;
      ASSERT_TRUE(ContentHeader::Parse(payload, &header).ok());
      EXPECT_EQ(header.DecodeProperties(), props);
      for (int j = 0; j < kPropertyCount; ++j) {
        const Property q = static_cast<Property>(j);
        const bool present = (props.Flags() & kProperties[j].flag) != 0;
        EXPECT_EQ(header.Has(q), present) << kProperties[j].name;
        switch (kProperties[j].type) {
          case PropertyType::kShortString:
            EXPECT_EQ(header.ShortString(q).has_value(), present);
            break;
          case PropertyType::kOctet:
            EXPECT_EQ(header.Octet(q).has_value(), present);
            break;
          case PropertyType::kTimestamp:
            EXPECT_EQ(header.Timestamp(q).has_value(), present);
            break;
          case PropertyType::kTable:
            EXPECT_EQ(header.RawHeaders().has_value(), present);
            break;
          case PropertyType::kLongString:
            break;
        }
      }
      if (props.user_id) {
        EXPECT_EQ(header.ShortString(Property::kUserId), "guest");
      }
      if (props.timestamp) {
        EXPECT_EQ(header.Timestamp(Property::kTimestamp), *props.timestamp);
      }
      if (props.priority) {
        EXPECT_EQ(header.Octet(Property::kPriority), 9);
      }
      if (props.reserved) {
        EXPECT_EQ(header.ShortString(Property::kReserved), "cluster-a");
      }
    }
  }
}

TEST(ContentHeader, OnlyExpirationAndPriority) {
  BasicProperties props;
  props.expiration = "1000";
  props.priority = 3;
  const std::string payload = HeaderPayload(props, 0x0A0B);
  EXPECT_EQ(payload,
            "\x00\x3c\x00\x00\x00\x00\x00\x00\x00\x00\x0a\x0b"
            "\x09\x00\x03\x04"
            "1000"s);

  ContentHeader header;
  ASSERT_TRUE(ContentHeader::Parse(payload, &header).ok());
  EXPECT_EQ(header.body_size(), 0x0A0Bu);
  EXPECT_EQ(header.ShortString(Property::kExpiration), "1000");
  EXPECT_EQ(header.Octet(Property::kPriority), 3);
  EXPECT_EQ(header.ShortString(Property::kContentType), std::nullopt);
  EXPECT_EQ(header.Octet(Property::kDeliveryMode), std::nullopt);
  EXPECT_EQ(header.Timestamp(Property::kTimestamp), std::nullopt);
  EXPECT_EQ(header.RawHeaders(), std::nullopt);
  FieldTable headers{{"stale", true}};
  ASSERT_TRUE(header.DecodeHeaders(&headers).ok());
  EXPECT_TRUE(headers.empty());

  const BasicProperties decoded = header.DecodeProperties();
  EXPECT_EQ(decoded, props);
  EXPECT_FALSE(decoded.headers.has_value());
  EXPECT_FALSE(decoded.content_type.has_value());
}

TEST(ContentHeader, NoPropertiesAtAll) {
  const std::string payload = HeaderPayload(BasicProperties{}, 0);
  EXPECT_EQ(payload.size(), kContentHeaderPrefixSize + 2);
  ContentHeader header;
  ASSERT_TRUE(ContentHeader::Parse(payload, &header).ok());
  EXPECT_EQ(header.DecodeProperties(), BasicProperties{});
  EXPECT_EQ(header.raw_properties(), "\x00\x00"s);
}

TEST(ContentHeader, ContinuationFlagFollowedByAnEmptyWordIsAccepted) {
  // expiration (0x0100) plus the continuation bit, then a flags word announcing nothing.
  const std::string payload = RawHeaderPayload(60, 5,
                                               "\x01\x01\x00\x00\x02"
                                               "42"s);
  ContentHeader header;
  const Status status = ContentHeader::Parse(payload, &header);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(header.ShortString(Property::kExpiration), "42");
  EXPECT_TRUE(header.Has(Property::kExpiration));
  EXPECT_FALSE(header.Has(Property::kContentType));
  BasicProperties expected;
  expected.expiration = "42";
  EXPECT_EQ(header.DecodeProperties(), expected);
}

TEST(ContentHeader, ChainOfContinuationWordsIsAccepted) {
  const std::string payload = RawHeaderPayload(60, 0, "\x08\x01\x00\x01\x00\x00\x07"s);
  ContentHeader header;
  ASSERT_TRUE(ContentHeader::Parse(payload, &header).ok());
  EXPECT_EQ(header.Octet(Property::kPriority), 7);
  EXPECT_EQ(header.DecodeProperties().priority, 7);
}

TEST(ContentHeader, ContinuationWordAnnouncingPropertiesIsAFrameError) {
  for (const std::string& raw :
       {"\x00\x01\x80\x00\x01x"s, "\x00\x01\x00\x02"s, "\x00\x01\x00\x01\x40\x00"s}) {
    ContentHeader header;
    EXPECT_EQ(ContentHeader::Parse(RawHeaderPayload(60, 0, raw), &header).code(),
              ReplyCode::kFrameError);
  }
}

TEST(ContentHeader, ContinuationBitWithoutAnotherWordIsAFrameError) {
  ContentHeader header;
  EXPECT_EQ(ContentHeader::Parse(RawHeaderPayload(60, 0, "\x00\x01"s), &header).code(),
            ReplyCode::kFrameError);
}

TEST(ContentHeader, UnknownFlagBitIsAFrameError) {
  ContentHeader header;
  EXPECT_EQ(ContentHeader::Parse(RawHeaderPayload(60, 0, "\x00\x02"s), &header).code(),
            ReplyCode::kFrameError);
  // Also next to known properties, with their values present.
  EXPECT_EQ(ContentHeader::Parse(RawHeaderPayload(60, 0, "\x08\x02\x05"s), &header).code(),
            ReplyCode::kFrameError);
}

TEST(ContentHeader, EveryTruncationIsAFrameError) {
  const std::string payload = HeaderPayload(AllProperties(), 99);
  for (size_t n = 0; n < payload.size(); ++n) {
    ContentHeader header;
    EXPECT_EQ(ContentHeader::Parse(std::string_view(payload).substr(0, n), &header).code(),
              ReplyCode::kFrameError)
        << "prefix of " << n << " bytes";
  }
}

TEST(ContentHeader, TrailingBytesAreAFrameError) {
  BasicProperties props;
  props.priority = 1;
  for (const std::string& extra : {"\x00"s, "xyz"s}) {
    ContentHeader header;
    const Status status = ContentHeader::Parse(HeaderPayload(props, 1) + extra, &header);
    EXPECT_EQ(status.code(), ReplyCode::kFrameError);
    EXPECT_FALSE(status.text().empty());
  }
  ContentHeader header;
  EXPECT_EQ(ContentHeader::Parse(HeaderPayload(AllProperties(), 1) + "\x00"s, &header).code(),
            ReplyCode::kFrameError);
}

TEST(ContentHeader, MalformedHeadersTableIsFoundWhenDecoded) {
  // A headers table whose single entry has the unknown type tag 'Z'.
  const std::string payload = RawHeaderPayload(60, 0, "\x20\x00\x00\x00\x00\x03\x01kZ"s);
  ContentHeader header;
  ASSERT_TRUE(ContentHeader::Parse(payload, &header).ok());
  EXPECT_EQ(header.RawHeaders(), "\x00\x00\x00\x03\x01kZ"s);
  FieldTable headers;
  EXPECT_EQ(header.DecodeHeaders(&headers).code(), ReplyCode::kFrameError);
}

TEST(ContentHeader, ShortStringPropertyLongerThan255BytesFailsToEncode) {
  const std::string long_type(256, 't');
  BasicProperties props;
  props.type = long_type;
  std::string out;
  EXPECT_FALSE(AppendContentHeaderFrame(&out, 1, 0, props));
}

// The payloads of the body frames in `bytes`, which must all be on `channel` and within
// `frame_max`.
std::vector<std::string> BodyFrames(const std::string& bytes, uint32_t frame_max,
                                    uint16_t channel) {
  FrameReader reader(FrameReader::Mode::kFramesOnly, frame_max);
  reader.Append(bytes);
  std::vector<std::string> payloads;
  Frame frame;
  FrameReader::Result result;
  while ((result = reader.Next(&frame)) == FrameReader::Result::kFrame) {
    EXPECT_EQ(frame.type, kFrameBody);
    EXPECT_EQ(frame.channel, channel);
    payloads.emplace_back(frame.payload);
  }
  EXPECT_EQ(result, FrameReader::Result::kNeedMore) << reader.error().ToString();
  EXPECT_EQ(reader.buffered(), 0u);
  return payloads;
}

std::string PatternBody(size_t size) {
  std::string body(size, '\0');
  for (size_t i = 0; i < size; ++i) body[i] = static_cast<char>(i * 7 + i / 251);
  return body;
}

TEST(BodyFrames, SplitsAtFrameMaxAndReassembles) {
  const std::string body = PatternBody(10000);
  std::string out;
  AppendBodyFrames(&out, 3, body, 4096);
  const std::vector<std::string> payloads = BodyFrames(out, 4096, 3);
  ASSERT_EQ(payloads.size(), 3u);
  EXPECT_EQ(payloads[0].size(), 4088u);
  EXPECT_EQ(payloads[1].size(), 4088u);
  EXPECT_EQ(payloads[2].size(), 1824u);
  EXPECT_EQ(payloads[0] + payloads[1] + payloads[2], body);
  EXPECT_EQ(out.size(), body.size() + 3 * kFrameOverhead);
}

TEST(BodyFrames, BodyOfExactlyOneFramePayloadTakesOneFrame) {
  const std::string body = PatternBody(4088);
  std::string out;
  AppendBodyFrames(&out, 1, body, 4096);
  const std::vector<std::string> payloads = BodyFrames(out, 4096, 1);
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_EQ(payloads[0], body);

  std::string one_more;
  AppendBodyFrames(&one_more, 1, PatternBody(4089), 4096);
  EXPECT_EQ(BodyFrames(one_more, 4096, 1).size(), 2u);
}

TEST(BodyFrames, SmallestFrameMaxCarriesOneByteEach) {
  std::string out;
  AppendBodyFrames(&out, 1, "abc", kFrameOverhead + 1);
  const std::vector<std::string> payloads = BodyFrames(out, kFrameOverhead + 1, 1);
  EXPECT_EQ(payloads, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(BodyFrames, EmptyBodyTakesNoFrames) {
  std::string out = "unchanged";
  AppendBodyFrames(&out, 1, "", 4096);
  EXPECT_EQ(out, "unchanged");
  AppendBodyFrames(&out, 1, "", 0);
  EXPECT_EQ(out, "unchanged");
}

TEST(BodyFrames, FrameMaxZeroTakesOneFrame) {
  const std::string body = PatternBody(200000);
  std::string out;
  AppendBodyFrames(&out, 2, body, 0);
  const std::vector<std::string> payloads = BodyFrames(out, 0, 2);
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_EQ(payloads[0], body);
}

TEST(ContentAssembler, MethodHeaderAndBodiesComplete) {
  ContentAssembler assembler;
  EXPECT_TRUE(assembler.idle());
  ASSERT_TRUE(assembler.OnMethod(true).ok());
  EXPECT_FALSE(assembler.idle());

  const std::string payload = HeaderPayload(AllProperties(), 10);
  ContentHeader header;
  bool complete = true;
  ASSERT_TRUE(assembler.OnHeader(payload, &header, &complete).ok());
  EXPECT_FALSE(complete);
  EXPECT_EQ(header.body_size(), 10u);
  EXPECT_EQ(header.ShortString(Property::kAppId), "warren-test");
  EXPECT_EQ(assembler.remaining(), 10u);

  ASSERT_TRUE(assembler.OnBody("abcd", &complete).ok());
  EXPECT_FALSE(complete);
  EXPECT_EQ(assembler.remaining(), 6u);
  ASSERT_TRUE(assembler.OnBody("", &complete).ok());
  EXPECT_FALSE(complete);
  ASSERT_TRUE(assembler.OnBody("efghij", &complete).ok());
  EXPECT_TRUE(complete);
  EXPECT_TRUE(assembler.idle());
  EXPECT_EQ(assembler.remaining(), 0u);

  // Ready for the next method.
  EXPECT_TRUE(assembler.OnMethod(false).ok());
  EXPECT_TRUE(assembler.idle());
  EXPECT_TRUE(assembler.OnMethod(true).ok());
  EXPECT_FALSE(assembler.idle());
}

TEST(ContentAssembler, ZeroBodySizeCompletesAtTheHeader) {
  ContentAssembler assembler;
  ASSERT_TRUE(assembler.OnMethod(true).ok());
  const std::string payload = HeaderPayload(BasicProperties{}, 0);
  ContentHeader header;
  bool complete = false;
  ASSERT_TRUE(assembler.OnHeader(payload, &header, &complete).ok());
  EXPECT_TRUE(complete);
  EXPECT_TRUE(assembler.idle());
  EXPECT_EQ(assembler.OnBody("x", &complete).code(), ReplyCode::kUnexpectedFrame);
}

TEST(ContentAssembler, MethodWithoutContentStaysIdle) {
  ContentAssembler assembler;
  ASSERT_TRUE(assembler.OnMethod(false).ok());
  EXPECT_TRUE(assembler.idle());
}

TEST(ContentAssembler, BodyWithoutContentMethodIsUnexpected) {
  ContentAssembler assembler;
  bool complete = false;
  EXPECT_EQ(assembler.OnBody("x", &complete).code(), ReplyCode::kUnexpectedFrame);
}

TEST(ContentAssembler, BodyBeforeHeaderIsUnexpected) {
  ContentAssembler assembler;
  ASSERT_TRUE(assembler.OnMethod(true).ok());
  bool complete = false;
  const Status status = assembler.OnBody("x", &complete);
  EXPECT_EQ(status.code(), ReplyCode::kUnexpectedFrame);
  EXPECT_FALSE(status.text().empty());
}

TEST(ContentAssembler, HeaderWithoutMethodIsUnexpected) {
  ContentAssembler assembler;
  const std::string payload = HeaderPayload(BasicProperties{}, 1);
  ContentHeader header;
  bool complete = false;
  EXPECT_EQ(assembler.OnHeader(payload, &header, &complete).code(), ReplyCode::kUnexpectedFrame);
}

TEST(ContentAssembler, MethodWhileExpectingHeaderIsUnexpected) {
  for (bool has_content : {true, false}) {
    ContentAssembler assembler;
    ASSERT_TRUE(assembler.OnMethod(true).ok());
    EXPECT_EQ(assembler.OnMethod(has_content).code(), ReplyCode::kUnexpectedFrame);
  }
}

TEST(ContentAssembler, MethodWhileExpectingBodyIsUnexpected) {
  for (bool has_content : {true, false}) {
    ContentAssembler assembler;
    ASSERT_TRUE(assembler.OnMethod(true).ok());
    const std::string payload = HeaderPayload(BasicProperties{}, 5);
    ContentHeader header;
    bool complete = true;
    ASSERT_TRUE(assembler.OnHeader(payload, &header, &complete).ok());
    ASSERT_TRUE(assembler.OnBody("ab", &complete).ok());
    EXPECT_EQ(assembler.OnMethod(has_content).code(), ReplyCode::kUnexpectedFrame);
  }
}

TEST(ContentAssembler, SecondHeaderIsUnexpected) {
  ContentAssembler assembler;
  ASSERT_TRUE(assembler.OnMethod(true).ok());
  const std::string payload = HeaderPayload(BasicProperties{}, 5);
  ContentHeader header;
  bool complete = true;
  ASSERT_TRUE(assembler.OnHeader(payload, &header, &complete).ok());
  EXPECT_EQ(assembler.OnHeader(payload, &header, &complete).code(), ReplyCode::kUnexpectedFrame);
}

TEST(ContentAssembler, BodyLargerThanRemainingIsUnexpected) {
  ContentAssembler assembler;
  ASSERT_TRUE(assembler.OnMethod(true).ok());
  const std::string payload = HeaderPayload(BasicProperties{}, 5);
  ContentHeader header;
  bool complete = true;
  ASSERT_TRUE(assembler.OnHeader(payload, &header, &complete).ok());
  ASSERT_TRUE(assembler.OnBody("abc", &complete).ok());
  EXPECT_EQ(assembler.OnBody("def", &complete).code(), ReplyCode::kUnexpectedFrame);
}

TEST(ContentAssembler, HeaderForAnotherClassIsUnexpected) {
  ContentAssembler assembler;
  ASSERT_TRUE(assembler.OnMethod(true).ok());
  const std::string payload = RawHeaderPayload(50, 3, "\x00\x00"s);
  ContentHeader header;
  bool complete = false;
  EXPECT_EQ(assembler.OnHeader(payload, &header, &complete).code(), ReplyCode::kUnexpectedFrame);
}

TEST(ContentAssembler, MalformedHeaderIsAFrameError) {
  ContentAssembler assembler;
  ASSERT_TRUE(assembler.OnMethod(true).ok());
  ContentHeader header;
  bool complete = false;
  EXPECT_EQ(assembler.OnHeader(RawHeaderPayload(60, 3, "\x00\x02"s), &header, &complete).code(),
            ReplyCode::kFrameError);
}

// AppendDelivery is the fast path for deliveries; its bytes must be exactly those of the
// general frame writers.
TEST(AppendDelivery, WritesWhatTheGeneralWritersWrite) {
  BasicProperties properties;
  properties.content_type = "text/plain";
  properties.delivery_mode = 2;
  std::string raw_properties;
  {
    std::string header;
    ASSERT_TRUE(AppendContentHeaderFrame(&header, 1, 0, properties));
    raw_properties = header.substr(7 + 12, header.size() - 7 - 12 - 1);
  }
  const BasicDeliver deliver{"amq.ctag-x", 0x0102030405060708, true, "amq.direct", "key"};
  for (const size_t body_size : {size_t{0}, size_t{1}, size_t{4088}, size_t{4089}, size_t{9000}}) {
    for (const uint32_t frame_max : {uint32_t{0}, uint32_t{4096}}) {
      const std::string body(body_size, 'b');
      std::string expected = "prefix";
      AppendMethodFrame(&expected, 7, deliver);
      AppendContentHeaderFrame(&expected, 7, body.size(), raw_properties);
      AppendBodyFrames(&expected, 7, body, frame_max);
      std::string actual = "prefix";
      AppendDelivery(&actual, 7, deliver, raw_properties, body, frame_max);
      EXPECT_EQ(actual, expected) << "body " << body_size << ", frame_max " << frame_max;
    }
  }
}

}  // namespace
}  // namespace warren::amqp
