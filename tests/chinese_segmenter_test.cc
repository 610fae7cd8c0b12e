// Chinese word units: friso's segmenter (kb/chinese_segmenter.h) and how the tokenizer and the
// features use it. Needs friso-dict (tools/setup installs it).
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "kb/chinese_segmenter.h"
#include "kb/text_features.h"
#include "kb/tokenizer.h"

namespace kefu {
namespace {

bool Has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

std::string Joined(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += w;
  return out;
}

TEST_CASE("the shared segmenter loads friso-dict's lexicon and finds the words of a question") {
  const ChineseSegmenter* s = ChineseSegmenter::Shared();
  REQUIRE_MESSAGE(s != nullptr, "friso-dict missing: run tools/setup");
  CHECK(ChineseSegmenter::Shared() == s);  // one per process
  std::vector<std::string> words;
  s->Segment("我想请年假怎么申请", &words);
  CHECK(Has(words, "年假"));
  CHECK(Has(words, "申请"));
  CHECK(Joined(words) == "我想请年假怎么申请");
}

TEST_CASE("a lexicon directory that does not exist gives no segmenter") {
  std::unique_ptr<ChineseSegmenter> s(ChineseSegmenter::Load("/nonexistent/friso/"));
  CHECK(s == nullptr);
}

TEST_CASE("segmenting appends and keeps every character of long and rare runs") {
  const ChineseSegmenter* s = ChineseSegmenter::Shared();
  REQUIRE(s != nullptr);
  std::vector<std::string> words = {"kept"};
  std::string run;
  for (int i = 0; i < 2000; ++i) run += "中华人民共和国";
  run += "𠀀𠀁";  // extension B: four bytes each in UTF-8
  s->Segment(run, &words);
  REQUIRE(words.size() > 1);
  CHECK(words[0] == "kept");
  const bool all_kept = Joined(std::vector<std::string>(words.begin() + 1, words.end())) == run;
  CHECK(all_kept);
  CHECK(words.back() == "𠀁");
}

TEST_CASE("segmenting keeps rare and new characters of every Han block") {
  const ChineseSegmenter* s = ChineseSegmenter::Shared();
  REQUIRE(s != nullptr);
  // Extension A, the newest unified ideographs, compatibility ideographs, next to common words.
  const std::string run = "㐀㐁年假䶵鿕鿿申请豈﨩";
  std::vector<std::string> words;
  s->Segment(run, &words);
  CHECK(Joined(words) == run);
}

TEST_CASE("Tokenize gives a Han run words, pairs or both; other unspaced runs keep pairs") {
  const ChineseSegmenter* s = ChineseSegmenter::Shared();
  REQUIRE(s != nullptr);
  const auto words = Tokenize("年假怎么申请", HanUnits::kWords, s);
  REQUIRE(words.size() == 1);
  CHECK(Has(words[0].units, "年假"));
  CHECK_FALSE(Has(words[0].units, "假怎"));  // a pair across two words

  const auto pairs = Tokenize("年假怎么申请", HanUnits::kPairs, s);
  CHECK(Has(pairs[0].units, "假怎"));

  const auto both = Tokenize("年假怎么申请", HanUnits::kWordsAndPairs, s);
  CHECK(Has(both[0].units, "年假"));
  CHECK(Has(both[0].units, "假怎"));

  const auto kana = Tokenize("ありがとう", HanUnits::kWords, s);
  REQUIRE(kana.size() == 1);
  CHECK(Has(kana[0].units, "あり"));  // friso knows no Japanese: character pairs

  const auto fallback = Tokenize("年假怎么申请", HanUnits::kWords, nullptr);
  CHECK(Has(fallback[0].units, "假怎"));  // no lexicon on the machine: character pairs
}

TEST_CASE("Chinese features: the word block holds words, so a paraphrase shares its words") {
  FeatureOptions options;  // han_units defaults to words
  TextFeatures a, b;
  ExtractFeatures("年假怎么申请", options, &a);
  ExtractFeatures("申请年假要多久", options, &b);
  const auto& wa = a.hashes[kWordBlock];
  const auto& wb = b.hashes[kWordBlock];
  size_t shared = 0;
  for (uint64_t h : wa) shared += std::count(wb.begin(), wb.end(), h) > 0;
  CHECK(shared >= 2);  // 年假, 申请
}

}  // namespace
}  // namespace kefu
