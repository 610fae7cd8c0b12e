// The labelled JSONL parser (kefu kb eval/bench files) and the KB built from its rows.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kb/labelled.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto questions = kefu::ParseLabelledQuestions(text, "fuzz.jsonl");
  if (!questions.ok()) return 0;
  auto kb = kefu::KnowledgeBaseFromLabelled(*questions, "oos");
  if (kb.ok()) {
    for (const kefu::KbEntry& e : kb->entries) kefu::fuzz::Expect(kefu::IsValidEntryId(e.id));
  }
  return 0;
}
