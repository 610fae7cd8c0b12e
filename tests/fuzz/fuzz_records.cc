// The engine's record decoders (what the store gives back, and the SSE message payloads): any
// input decodes or is Corruption; a decoded record encodes to text that decodes to the same encoding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/model.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

template <typename Decode, typename Encode>
void RoundTrip(std::string_view text, Decode decode, Encode encode) {
  auto record = decode(text);
  if (!record.ok()) {
    kefu::fuzz::Expect(record.status().code() == kefu::Status::Code::kCorruption);
    return;
  }
  const std::string once = encode(*record);
  auto again = decode(once);
  kefu::fuzz::Expect(again.ok());
  kefu::fuzz::Expect(encode(*again) == once);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kefu::fuzz::FuzzInput in(data, size);
  const uint8_t kind = in.Byte();
  const std::string_view text = in.Rest();
  switch (kind % 5) {
    case 0: RoundTrip(text, kefu::DecodeMessage, kefu::EncodeMessage); break;
    case 1: RoundTrip(text, kefu::DecodeConversation, kefu::EncodeConversation); break;
    case 2: RoundTrip(text, kefu::DecodeAgent, kefu::EncodeAgent); break;
    case 3: RoundTrip(text, kefu::DecodeTicket, kefu::EncodeTicket); break;
    case 4: RoundTrip(text, kefu::DecodeEvent, kefu::EncodeEvent); break;
  }
  return 0;
}
