#include "kb/text_features.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>

#include "base/utf8.h"
#include "kb/chinese_segmenter.h"
#include "kb/normalize.h"
#include "kb/tokenizer.h"

namespace kefu {
namespace {

uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

uint64_t FnvExtend(uint64_t h, std::string_view bytes) {
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  return h;
}

uint64_t Finish(uint64_t h) {
  h = Mix(h);
  return h == 0 ? 1 : h;
}

uint64_t HashBytes(std::string_view s, uint64_t seed) { return Finish(FnvExtend(kFnvOffset ^ seed, s)); }

constexpr uint64_t kSeeds[kNumBlocks] = {0x1111, 0x2222, 0x3333};

// Hashes of the n-grams (min_n <= n <= max_n code points) of " token ", computed by extending
// one FNV state per start position, so no n-gram string is built. A lone padding space is
// not an n-gram.
void AddCharNgrams(std::string_view token, int min_n, int max_n, std::vector<uint64_t>* out) {
  thread_local std::vector<std::string_view> chars;
  chars.clear();
  chars.emplace_back(" ");
  size_t pos = 0;
  while (pos < token.size()) {
    const size_t start = pos;
    DecodeUtf8(token, &pos);
    chars.push_back(token.substr(start, pos - start));
  }
  chars.emplace_back(" ");
  const int count = static_cast<int>(chars.size());
  for (int i = 0; i < count; ++i) {
    uint64_t h = kFnvOffset ^ kSeeds[kCharBlock];
    for (int n = 1; n <= max_n && i + n <= count; ++n) {
      h = FnvExtend(h, chars[i + n - 1]);
      if (n < min_n || (n == 1 && (i == 0 || i == count - 1))) continue;
      out->push_back(Finish(h));
    }
  }
}

// 1 + ln(count) for the small counts that short texts have.
float SublinearTf(size_t count) {
  static const float kTable[] = {0.0f, 1.0f, 1.6931472f, 2.0986123f, 2.3862944f, 2.6094379f, 2.7917595f, 2.9459102f};
  return count < 8 ? kTable[count] : static_cast<float>(1.0 + std::log(static_cast<double>(count)));
}

}  // namespace

void ExtractFeatures(std::string_view text, const FeatureOptions& options, TextFeatures* out) {
  ExtractNormalizedFeatures(NormalizeText(text), options, out);
}

void ExtractNormalizedFeatures(std::string_view normalized, const FeatureOptions& options, TextFeatures* out) {
  for (auto& block : out->hashes) block.clear();
  // The lexicon (about 0.2 s and 20 MB) loads only once a text could hold Han characters: their
  // UTF-8 starts with a byte of 0xE3 or above, and an English-only KB never loads it.
  const bool may_have_han = std::any_of(normalized.begin(), normalized.end(),
                                        [](char c) { return static_cast<unsigned char>(c) >= 0xE3; });
  const ChineseSegmenter* segmenter =
      options.han_units != HanUnits::kPairs && may_have_han ? ChineseSegmenter::Shared() : nullptr;
  const std::vector<Token> tokens = Tokenize(normalized, options.han_units, segmenter);
  std::vector<uint64_t>& units = out->hashes[kWordBlock];
  for (const Token& token : tokens) {
    for (const std::string& unit : token.units) units.push_back(HashBytes(unit, kSeeds[kWordBlock]));
    if (token.unspaced) {
      AddCharNgrams(token.text, options.unspaced_ngram_min, options.unspaced_ngram_max, &out->hashes[kCharBlock]);
    } else {
      AddCharNgrams(token.text, options.char_ngram_min, options.char_ngram_max, &out->hashes[kCharBlock]);
    }
  }
  for (size_t i = 0; i < units.size(); ++i) {
    for (size_t j = i + 1; j < units.size() && j <= i + options.pair_window; ++j) {
      uint64_t h = Mix(units[i] * 0x9E3779B97F4A7C15ULL + units[j] + kSeeds[kPairBlock]);
      out->hashes[kPairBlock].push_back(h == 0 ? 1 : h);
    }
  }
}

Vectorizer Vectorizer::Build(const std::vector<TextFeatures>& docs, int min_df) {
  std::vector<const TextFeatures*> pointers;
  pointers.reserve(docs.size());
  for (const TextFeatures& doc : docs) pointers.push_back(&doc);
  return Build(pointers, min_df);
}

Vectorizer Vectorizer::Build(const std::vector<const TextFeatures*>& docs, int min_df) {
  std::unordered_map<uint64_t, uint32_t> df;
  std::vector<uint64_t> distinct;
  for (const TextFeatures* doc : docs) {
    for (const auto& block : doc->hashes) {
      distinct.assign(block.begin(), block.end());
      std::sort(distinct.begin(), distinct.end());
      distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
      for (uint64_t h : distinct) ++df[h];
    }
  }
  std::vector<std::pair<uint64_t, uint32_t>> kept;
  for (const auto& [hash, count] : df) {
    if (static_cast<int>(count) >= min_df) kept.emplace_back(hash, count);
  }
  // Sorted so that indices do not depend on the hash map's iteration order.
  std::sort(kept.begin(), kept.end());
  Vectorizer v;
  size_t capacity = 16;
  while (capacity < kept.size() * 2) capacity *= 2;
  v.slots_.assign(capacity, Slot{0, 0});
  v.mask_ = capacity - 1;
  v.idf_.reserve(kept.size());
  const double n = static_cast<double>(docs.size());
  for (const auto& [hash, count] : kept) {
    v.Insert(hash, static_cast<uint32_t>(v.idf_.size()));
    v.idf_.push_back(static_cast<float>(std::log((1.0 + n) / (1.0 + count)) + 1.0));
  }
  return v;
}

void Vectorizer::Insert(uint64_t hash, uint32_t index) {
  uint64_t slot = hash & mask_;
  while (slots_[slot].key != 0) slot = (slot + 1) & mask_;
  slots_[slot] = Slot{hash, index};
}

int64_t Vectorizer::Find(uint64_t hash) const {
  if (slots_.empty()) return -1;
  uint64_t slot = hash & mask_;
  while (true) {
    const Slot& s = slots_[slot];
    if (s.key == hash) return s.index;
    if (s.key == 0) return -1;
    slot = (slot + 1) & mask_;
  }
}

float Vectorizer::Transform(const TextFeatures& features, SparseVector* out) const {
  out->clear();
  float unknown_rate = 1.0f;
  thread_local std::vector<uint32_t> known;
  for (int b = 0; b < kNumBlocks; ++b) {
    const std::vector<uint64_t>& hashes = features.hashes[b];
    // Look up first, then sort the (fewer, smaller) indices to count repeats.
    known.clear();
    // The table is larger than the caches: start every slot's load before the first compare.
    for (uint64_t h : hashes) __builtin_prefetch(&slots_[h & mask_]);
    for (uint64_t h : hashes) {
      const int64_t index = Find(h);
      if (index >= 0) known.push_back(static_cast<uint32_t>(index));
    }
    if (b == kWordBlock && !hashes.empty()) {
      unknown_rate = static_cast<float>(hashes.size() - known.size()) / static_cast<float>(hashes.size());
    }
    std::sort(known.begin(), known.end());
    const size_t block_start = out->index.size();
    float norm2 = 0;
    for (size_t i = 0; i < known.size();) {
      size_t j = i + 1;
      while (j < known.size() && known[j] == known[i]) ++j;
      const float w = SublinearTf(j - i) * idf_[known[i]];
      out->index.push_back(known[i]);
      out->value.push_back(w);
      norm2 += w * w;
      i = j;
    }
    if (norm2 > 0) {
      const float scale = 1.0f / std::sqrt(norm2);
      for (size_t k = block_start; k < out->value.size(); ++k) out->value[k] *= scale;
    }
    if (b == kWordBlock) out->word_end = out->index.size();
  }
  return unknown_rate;
}

size_t Vectorizer::MemoryBytes() const {
  return slots_.capacity() * sizeof(Slot) + idf_.capacity() * sizeof(float);
}

}  // namespace kefu
