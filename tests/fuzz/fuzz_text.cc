// The text path of every customer message: NormalizeText, Tokenize, and a real matcher's Match and
// Rank (built once from the shop sample KB). Normalised text is valid UTF-8 with no leading,
// trailing or double spaces; tokens are never empty, with character pairs or friso's words for Han
// runs alike, and a Han run's words are valid UTF-8 (friso reads customer text).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/utf8.h"
#include "kb/chinese_segmenter.h"
#include "kb/knowledge_base.h"
#include "kb/matcher.h"
#include "kb/normalize.h"
#include "kb/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

const kefu::Matcher& SharedMatcher() {
  static const std::unique_ptr<kefu::Matcher> matcher = [] {
    auto kb = kefu::LoadKnowledgeBase(std::string(KEFU_SOURCE_DIR) + "/kb/samples/shop-en.json");
    kefu::fuzz::Expect(kb.ok());
    auto built = kefu::Matcher::Build(*kb, kefu::MatcherOptions());
    kefu::fuzz::Expect(built.ok());
    return std::move(*built);
  }();
  return *matcher;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string normalized = kefu::NormalizeText(text);
  kefu::fuzz::Expect(kefu::IsValidUtf8(normalized));
  kefu::fuzz::Expect(normalized.empty() || (normalized.front() != ' ' && normalized.back() != ' '));
  kefu::fuzz::Expect(normalized.find("  ") == std::string::npos);
  for (const kefu::Token& t : kefu::Tokenize(normalized)) {
    kefu::fuzz::Expect(!t.text.empty());
    for (const std::string& unit : t.units) kefu::fuzz::Expect(!unit.empty());
  }
  const auto* segmenter = kefu::ChineseSegmenter::Shared();
  for (const kefu::Token& t : kefu::Tokenize(normalized, kefu::HanUnits::kWords, segmenter)) {
    kefu::fuzz::Expect(!t.text.empty());
    for (const std::string& unit : t.units) kefu::fuzz::Expect(!unit.empty() && kefu::IsValidUtf8(unit));
  }
  const kefu::Matcher& matcher = SharedMatcher();
  (void)matcher.Match(text);
  auto ranked = matcher.Rank(text, 3);
  kefu::fuzz::Expect(ranked.size() <= 3);
  return 0;
}
