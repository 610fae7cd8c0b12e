#include "kb/text_features.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>

#include "base/utf8.h"
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

uint64_t HashBytes(std::string_view s, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  h = Mix(h);
  return h == 0 ? 1 : h;
}

constexpr uint64_t kSeeds[kNumBlocks] = {0x1111, 0x2222, 0x3333};

void AddCharNgrams(const std::string& token, const FeatureOptions& options, std::vector<uint64_t>* out) {
  std::string padded = " " + token + " ";
  std::vector<size_t> starts;
  size_t pos = 0;
  while (pos < padded.size()) {
    starts.push_back(pos);
    DecodeUtf8(padded, &pos);
  }
  starts.push_back(padded.size());
  const int chars = static_cast<int>(starts.size()) - 1;
  for (int n = options.char_ngram_min; n <= options.char_ngram_max && n <= chars; ++n) {
    for (int i = 0; i + n <= chars; ++i) {
      if (n == 1 && (i == 0 || i == chars - 1)) continue;  // a lone padding space says nothing
      std::string_view gram(padded.data() + starts[i], starts[i + n] - starts[i]);
      out->push_back(HashBytes(gram, kSeeds[kCharBlock]));
    }
  }
}

}  // namespace

void ExtractFeatures(std::string_view text, const FeatureOptions& options, TextFeatures* out) {
  for (auto& block : out->hashes) block.clear();
  const std::vector<Token> tokens = Tokenize(NormalizeText(text));
  std::vector<uint64_t> units;
  for (const Token& token : tokens) {
    for (const std::string& unit : token.units) units.push_back(HashBytes(unit, kSeeds[kWordBlock]));
    AddCharNgrams(token.text, options, &out->hashes[kCharBlock]);
  }
  out->hashes[kWordBlock] = units;
  for (size_t i = 0; i < units.size(); ++i) {
    for (size_t j = i + 1; j < units.size() && j <= i + options.pair_window; ++j) {
      uint64_t h = Mix(units[i] * 0x9E3779B97F4A7C15ULL + units[j] + kSeeds[kPairBlock]);
      out->hashes[kPairBlock].push_back(h == 0 ? 1 : h);
    }
  }
}

Vectorizer Vectorizer::Build(const std::vector<TextFeatures>& docs, int min_df) {
  std::unordered_map<uint64_t, uint32_t> df;
  std::vector<uint64_t> distinct;
  for (const TextFeatures& doc : docs) {
    for (const auto& block : doc.hashes) {
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
  v.keys_.assign(capacity, 0);
  v.slots_.assign(capacity, 0);
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
  while (keys_[slot] != 0) slot = (slot + 1) & mask_;
  keys_[slot] = hash;
  slots_[slot] = index;
}

int64_t Vectorizer::Find(uint64_t hash) const {
  if (keys_.empty()) return -1;
  uint64_t slot = hash & mask_;
  while (true) {
    const uint64_t key = keys_[slot];
    if (key == hash) return slots_[slot];
    if (key == 0) return -1;
    slot = (slot + 1) & mask_;
  }
}

float Vectorizer::Transform(const TextFeatures& features, SparseVector* out) const {
  out->clear();
  float unknown_rate = 1.0f;
  std::vector<uint64_t> sorted;
  for (int b = 0; b < kNumBlocks; ++b) {
    sorted.assign(features.hashes[b].begin(), features.hashes[b].end());
    std::sort(sorted.begin(), sorted.end());
    const size_t block_start = out->index.size();
    size_t unknown = 0;
    double norm2 = 0;
    for (size_t i = 0; i < sorted.size();) {
      size_t j = i;
      while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
      const int64_t index = Find(sorted[i]);
      if (index < 0) {
        unknown += j - i;
      } else {
        const float w = static_cast<float>((1.0 + std::log(static_cast<double>(j - i))) * idf_[index]);
        out->index.push_back(static_cast<uint32_t>(index));
        out->value.push_back(w);
        norm2 += static_cast<double>(w) * w;
      }
      i = j;
    }
    if (norm2 > 0) {
      const float scale = static_cast<float>(1.0 / std::sqrt(norm2));
      for (size_t k = block_start; k < out->value.size(); ++k) out->value[k] *= scale;
    }
    if (b == kWordBlock && !sorted.empty()) {
      unknown_rate = static_cast<float>(unknown) / static_cast<float>(sorted.size());
    }
  }
  return unknown_rate;
}

size_t Vectorizer::MemoryBytes() const {
  return keys_.capacity() * sizeof(uint64_t) + slots_.capacity() * sizeof(uint32_t) +
         idf_.capacity() * sizeof(float);
}

}  // namespace kefu
