#include "kb/tokenizer.h"

#include <libstemmer.h>

#include <memory>

#include "base/utf8.h"
#include "kb/chinese_segmenter.h"
#include "kb/normalize.h"

namespace kefu {
namespace {

struct StemmerDeleter {
  void operator()(sb_stemmer* s) const { sb_stemmer_delete(s); }
};

// Snowball stemmers keep per-instance state, so each thread has its own.
sb_stemmer* ThreadStemmer() {
  thread_local std::unique_ptr<sb_stemmer, StemmerDeleter> stemmer(sb_stemmer_new("english", "UTF_8"));
  return stemmer.get();
}

bool IsLowerAsciiWord(std::string_view w) {
  for (char c : w) {
    if (c < 'a' || c > 'z') return false;
  }
  return !w.empty();
}

bool IsHan(char32_t cp) {
  return (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0x20000 && cp <= 0x3134F);
}

bool AllHan(std::string_view run) {
  size_t pos = 0;
  while (pos < run.size()) {
    if (!IsHan(DecodeUtf8(run, &pos))) return false;
  }
  return true;
}

void AddPairUnits(const std::string& run, Token* token) {
  std::vector<size_t> starts;
  size_t pos = 0;
  while (pos < run.size()) {
    starts.push_back(pos);
    DecodeUtf8(run, &pos);
  }
  starts.push_back(run.size());
  const size_t chars = starts.size() - 1;
  if (chars == 1) {
    token->units.push_back(run);
    return;
  }
  for (size_t i = 0; i + 1 < chars; ++i) {
    token->units.push_back(run.substr(starts[i], starts[i + 2] - starts[i]));
  }
}

// Words for a run of Han characters when a segmenter is there, character pairs otherwise (and
// for runs of Kana, Thai, ... which the segmenter does not know).
void AddUnspacedUnits(const std::string& run, HanUnits han, const ChineseSegmenter* segmenter, Token* token) {
  if (han == HanUnits::kPairs || segmenter == nullptr || !AllHan(run)) {
    AddPairUnits(run, token);
    return;
  }
  segmenter->Segment(run, &token->units);
  if (han == HanUnits::kWordsAndPairs && token->units.size() > 1) AddPairUnits(run, token);
}

}  // namespace

std::string StemEnglish(std::string_view word) {
  // Short words and non-letters stem to themselves; this also skips the stemmer's cost for them.
  if (word.size() <= 2 || !IsLowerAsciiWord(word)) return std::string(word);
  sb_stemmer* stemmer = ThreadStemmer();
  if (stemmer == nullptr) return std::string(word);
  const sb_symbol* stem = sb_stemmer_stem(stemmer, reinterpret_cast<const sb_symbol*>(word.data()),
                                          static_cast<int>(word.size()));
  if (stem == nullptr) return std::string(word);
  return std::string(reinterpret_cast<const char*>(stem), static_cast<size_t>(sb_stemmer_length(stemmer)));
}

std::vector<Token> Tokenize(std::string_view normalized, HanUnits han, const ChineseSegmenter* segmenter) {
  std::vector<Token> tokens;
  std::string current;
  bool current_unspaced = false;
  auto flush = [&]() {
    if (current.empty()) return;
    Token token;
    token.unspaced = current_unspaced;
    if (current_unspaced) {
      AddUnspacedUnits(current, han, segmenter, &token);
    } else {
      token.units.push_back(StemEnglish(current));
    }
    token.text = std::move(current);
    tokens.push_back(std::move(token));
    current.clear();
  };
  size_t pos = 0;
  while (pos < normalized.size()) {
    const size_t start = pos;
    const char32_t cp = DecodeUtf8(normalized, &pos);
    if (cp == ' ') {
      flush();
      continue;
    }
    const bool unspaced = IsUnspacedScript(cp);
    if (!current.empty() && unspaced != current_unspaced) flush();
    current_unspaced = unspaced;
    current.append(normalized.data() + start, pos - start);
  }
  flush();
  return tokens;
}

}  // namespace kefu
