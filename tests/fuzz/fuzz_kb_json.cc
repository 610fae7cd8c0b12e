// The KB JSON loader: any input is a KB or a list of problems; a valid KB round-trips through
// KnowledgeBaseToJson (knowledge_base.h promises it).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kb/knowledge_base.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto kb = kefu::ParseKnowledgeBaseJson(text, "fuzz.json");
  if (!kb.ok()) {
    kefu::fuzz::Expect(!kb.status().message().empty());
    return 0;
  }
  auto again = kefu::ParseKnowledgeBaseJson(kefu::KnowledgeBaseToJson(*kb), "again.json");
  kefu::fuzz::Expect(again.ok());
  kefu::fuzz::Expect(again->entries.size() == kb->entries.size());
  return 0;
}
