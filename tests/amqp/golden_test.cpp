// Cross-implementation check: frames written by pika's encoder (tests/amqp/golden_vectors.py)
// are decoded by Warren's codec and re-encoded, and must come out byte for byte the same.
//
// Usage: amqp_golden_test GOLDEN_FILE (ctest generates the file first).

#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "amqp/content.h"
#include "amqp/frame.h"
#include "amqp/generated/methods.h"

namespace warren::amqp {
namespace {

std::string g_golden_file;

struct Golden {
  std::string name;
  std::string bytes;
};

std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::vector<Golden> LoadGolden() {
  std::vector<Golden> all;
  std::ifstream in(g_golden_file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    Golden g;
    std::string hex;
    fields >> g.name >> hex;
    g.bytes = FromHex(hex);
    all.push_back(std::move(g));
  }
  return all;
}

// The single frame `bytes` holds.
Frame ParseOne(const std::string& bytes, FrameReader* reader) {
  reader->Append(bytes);
  Frame frame;
  EXPECT_EQ(reader->Next(&frame), FrameReader::Result::kFrame);
  Frame rest;
  EXPECT_EQ(reader->Next(&rest), FrameReader::Result::kNeedMore) << "bytes after the frame";
  return frame;
}

class GoldenVectors : public testing::Test {
 protected:
  void SetUp() override {
    all_ = LoadGolden();
    ASSERT_FALSE(all_.empty()) << "no golden vectors in '" << g_golden_file << "'";
  }
  std::vector<Golden> OfType(uint8_t type) const {
    std::vector<Golden> out;
    for (const Golden& g : all_) {
      if (!g.bytes.empty() && static_cast<uint8_t>(g.bytes[0]) == type) out.push_back(g);
    }
    return out;
  }
  // The decoded method of the golden frame `name`.
  Method MethodNamed(const std::string& name) {
    for (const Golden& g : all_) {
      if (g.name != name) continue;
      // The method's strings view the reader's buffer, so the reader must outlive it.
      FrameReader& reader = readers_.emplace_back(FrameReader::Mode::kFramesOnly, 0);
      Method method;
      EXPECT_TRUE(DecodeMethod(ParseOne(g.bytes, &reader).payload, &method).ok());
      return method;
    }
    ADD_FAILURE() << "no golden frame " << name;
    return {};
  }

  std::vector<Golden> all_;
  std::deque<FrameReader> readers_;
};

TEST_F(GoldenVectors, MethodsReencodeToPikasBytes) {
  const std::vector<Golden> methods = OfType(kFrameMethod);
  EXPECT_GE(methods.size(), 20u);
  for (const Golden& g : methods) {
    SCOPED_TRACE(g.name);
    FrameReader reader(FrameReader::Mode::kFramesOnly, 0);
    const Frame frame = ParseOne(g.bytes, &reader);
    Method method;
    const Status status = DecodeMethod(frame.payload, &method);
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(InfoOf(method).name, g.name);
    std::string out;
    ASSERT_TRUE(AppendMethodFrame(&out, frame.channel, method));
    EXPECT_EQ(out, g.bytes);
  }
}

TEST_F(GoldenVectors, ContentHeadersReencodeToPikasBytes) {
  const std::vector<Golden> headers = OfType(kFrameHeader);
  EXPECT_GE(headers.size(), 2u);
  for (const Golden& g : headers) {
    SCOPED_TRACE(g.name);
    FrameReader reader(FrameReader::Mode::kFramesOnly, 0);
    const Frame frame = ParseOne(g.bytes, &reader);
    ContentHeader header;
    const Status status = ContentHeader::Parse(frame.payload, &header);
    ASSERT_TRUE(status.ok()) << status.ToString();

    std::string from_properties;
    ASSERT_TRUE(AppendContentHeaderFrame(&from_properties, frame.channel, header.body_size(),
                                         header.DecodeProperties()));
    EXPECT_EQ(from_properties, g.bytes);
    std::string from_raw;
    AppendContentHeaderFrame(&from_raw, frame.channel, header.body_size(), header.raw_properties());
    EXPECT_EQ(from_raw, g.bytes);
  }
}

TEST_F(GoldenVectors, BodyAndHeartbeatReencodeToPikasBytes) {
  for (const Golden& g : OfType(kFrameBody)) {
    FrameReader reader(FrameReader::Mode::kFramesOnly, 0);
    const Frame frame = ParseOne(g.bytes, &reader);
    std::string out;
    AppendBodyFrames(&out, frame.channel, frame.payload, 131072);
    EXPECT_EQ(out, g.bytes);
  }
  const std::vector<Golden> heartbeats = OfType(kFrameHeartbeat);
  ASSERT_EQ(heartbeats.size(), 1u);
  std::string out;
  AppendHeartbeatFrame(&out);
  EXPECT_EQ(out, heartbeats[0].bytes);
}

TEST_F(GoldenVectors, AllPropertiesDecodeToPikasValues) {
  for (const Golden& g : OfType(kFrameHeader)) {
    if (g.name != "content-header-all-properties") continue;
    FrameReader reader(FrameReader::Mode::kFramesOnly, 0);
    ContentHeader header;
    ASSERT_TRUE(ContentHeader::Parse(ParseOne(g.bytes, &reader).payload, &header).ok());
    EXPECT_EQ(header.body_size(), 300000u);
    EXPECT_EQ(header.ShortString(Property::kContentType), "application/json");
    EXPECT_EQ(header.Octet(Property::kDeliveryMode), 2);
    EXPECT_EQ(header.Octet(Property::kPriority), 9);
    EXPECT_EQ(header.ShortString(Property::kExpiration), "60000");
    EXPECT_EQ(header.Timestamp(Property::kTimestamp), 1795000000u);
    EXPECT_EQ(header.ShortString(Property::kReserved), "cluster-a");
    FieldTable headers;
    ASSERT_TRUE(header.DecodeHeaders(&headers).ok());
    ASSERT_NE(headers.Find("string"), nullptr);
    EXPECT_EQ(*headers.Find("string"), FieldValue("h\xc3\xa9llo"));
    return;
  }
  FAIL() << "no content-header-all-properties frame";
}

TEST_F(GoldenVectors, ArgumentsDecodeToPikasValues) {
  const Method tune = MethodNamed("connection.tune");
  ASSERT_TRUE(std::holds_alternative<ConnectionTune>(tune));
  EXPECT_EQ(std::get<ConnectionTune>(tune), (ConnectionTune{2047, 131072, 60}));

  const Method deliver = MethodNamed("basic.deliver");
  ASSERT_TRUE(std::holds_alternative<BasicDeliver>(deliver));
  EXPECT_EQ(std::get<BasicDeliver>(deliver).delivery_tag, 0x0102030405060708u);
  EXPECT_TRUE(std::get<BasicDeliver>(deliver).redelivered);

  const Method declare = MethodNamed("queue.declare");
  ASSERT_TRUE(std::holds_alternative<QueueDeclare>(declare));
  const QueueDeclare& q = std::get<QueueDeclare>(declare);
  EXPECT_EQ(q.queue, "tasks");
  EXPECT_FALSE(q.passive);
  EXPECT_TRUE(q.durable);
  EXPECT_FALSE(q.exclusive);
  EXPECT_TRUE(q.auto_delete);
  EXPECT_FALSE(q.no_wait);
  const FieldTable& args = q.arguments;
  EXPECT_EQ(*args.Find("int32"), FieldValue(int32_t{-123456}));
  EXPECT_EQ(*args.Find("int64"), FieldValue(int64_t{1} << 40));
  EXPECT_EQ(*args.Find("true"), FieldValue(true));
  EXPECT_EQ(*args.Find("decimal"), FieldValue(Decimal{2, 314}));
  EXPECT_EQ(*args.Find("void"), FieldValue(Void{}));
  EXPECT_EQ(*args.Find("bytes"), FieldValue(ByteArray{std::string("\x00\x01\xfe\xff", 4)}));
  // datetime(2026, 11, 23, 1, 2, 3) UTC
  EXPECT_EQ(*args.Find("timestamp"), FieldValue(Timestamp{1795395723}));
  const FieldValue* nested = args.Find("nested");
  ASSERT_NE(nested, nullptr);
  const FieldTable& inner = std::get<FieldTable>(*std::get<FieldTable>(*nested).Find("inner"));
  const FieldArray& deep = std::get<FieldArray>(*inner.Find("deep"));
  ASSERT_EQ(deep.size(), 4u);
  EXPECT_EQ(deep[1], FieldValue("two"));
  EXPECT_EQ(deep[2], FieldValue(Void{}));
}

}  // namespace
}  // namespace warren::amqp

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc > 1) warren::amqp::g_golden_file = argv[1];
  return RUN_ALL_TESTS();
}
