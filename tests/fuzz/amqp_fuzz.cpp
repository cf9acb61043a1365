// libFuzzer target for the wire codec: the frame reader, the method decoder, content
// headers and field tables, on arbitrary bytes.
//
// The input is a byte stream of frames (the seed corpus is pika's golden frames), fed to a
// FrameReader in pieces whose size depends on the input's length. Every
// frame it yields goes to the decoder for its type, and whatever decodes must re-encode
// to bytes that decode to the same thing again (compared as encodings, so NaN floats and
// non-canonical booleans and bit octets do not count as differences).
//
// Run: amqp_fuzz -max_total_time=60 CORPUS_DIR

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "amqp/content.h"
#include "amqp/frame.h"
#include "amqp/generated/methods.h"
#include "amqp/table.h"

namespace warren::amqp {
namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

std::string EncodeMethodFrame(const Method& method) {
  std::string out;
  AppendMethodFrame(&out, 1, method);
  return out;
}

void FuzzMethod(std::string_view payload) {
  Method method;
  if (!DecodeMethod(payload, &method).ok()) return;
  std::string first;
  Encoder enc(&first);
  EncodeMethod(enc, method);
  Check(enc.ok());  // decoded short strings are at most 255 bytes
  Method again;
  Check(DecodeMethod(first, &again).ok());
  Check(again.index() == method.index());
  Check(EncodeMethodFrame(again) == EncodeMethodFrame(method));
}

void FuzzContentHeader(std::string_view payload, ContentAssembler* assembler) {
  ContentHeader header;
  bool complete = false;
  (void)assembler->OnHeader(payload, &header, &complete);
  if (!ContentHeader::Parse(payload, &header).ok()) return;
  for (int i = 0; i < kPropertyCount; ++i) {
    const Property p = static_cast<Property>(i);
    switch (kProperties[i].type) {
      case PropertyType::kShortString:
        Check(header.ShortString(p).has_value() == header.Has(p));
        break;
      case PropertyType::kOctet:
        Check(header.Octet(p).has_value() == header.Has(p));
        break;
      case PropertyType::kTimestamp:
        Check(header.Timestamp(p).has_value() == header.Has(p));
        break;
      case PropertyType::kTable:
      case PropertyType::kLongString:
        break;
    }
  }
  FieldTable headers;
  const bool headers_ok = header.DecodeHeaders(&headers).ok();
  (void)header.RawHeaders();
  if (!headers_ok) return;
  // With a well-formed headers table, the whole property list must decode and re-encode.
  const BasicProperties props = header.DecodeProperties();
  std::string first;
  Check(AppendContentHeaderFrame(&first, 1, header.body_size(), props));
  FrameReader reader(FrameReader::Mode::kFramesOnly, 0);
  reader.Append(first);
  Frame frame;
  Check(reader.Next(&frame) == FrameReader::Result::kFrame);
  ContentHeader reparsed;
  Check(ContentHeader::Parse(frame.payload, &reparsed).ok());
  std::string second;
  Check(AppendContentHeaderFrame(&second, 1, reparsed.body_size(), reparsed.DecodeProperties()));
  Check(first == second);
}

void FuzzTable(std::string_view bytes) {
  Decoder dec(bytes);
  FieldTable table;
  DecodeFieldTable(dec, &table);
  if (!dec.ok()) return;
  std::string first;
  Encoder enc(&first);
  EncodeFieldTable(enc, table);
  Decoder again_dec(first);
  FieldTable again;
  DecodeFieldTable(again_dec, &again);
  Check(again_dec.ok() && again_dec.at_end());
  std::string second;
  Encoder enc2(&second);
  EncodeFieldTable(enc2, again);
  Check(first == second);
}

}  // namespace
}  // namespace warren::amqp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace warren::amqp;
  const size_t chunk = 1 + size % 61;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  FuzzTable(input);

  FrameReader reader(FrameReader::Mode::kFramesOnly, 131072);
  ContentAssembler assembler;
  for (size_t at = 0; at < input.size(); at += chunk) {
    reader.Append(input.substr(at, chunk));
    Frame frame;
    FrameReader::Result result;
    while ((result = reader.Next(&frame)) == FrameReader::Result::kFrame) {
      bool complete = false;
      switch (frame.type) {
        case kFrameMethod: {
          FuzzMethod(frame.payload);
          const MethodInfo* info = nullptr;
          if (frame.payload.size() >= 4) {
            const auto* p = reinterpret_cast<const uint8_t*>(frame.payload.data());
            info = FindMethodInfo(static_cast<uint16_t>(p[0] << 8 | p[1]),
                                  static_cast<uint16_t>(p[2] << 8 | p[3]));
          }
          (void)assembler.OnMethod(info != nullptr && info->has_content);
          break;
        }
        case kFrameHeader:
          FuzzContentHeader(frame.payload, &assembler);
          break;
        case kFrameBody:
          (void)assembler.OnBody(frame.payload, &complete);
          break;
        default:
          break;
      }
    }
    if (result != FrameReader::Result::kNeedMore) break;
  }
  return 0;
}
