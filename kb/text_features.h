// Text features for the matcher: stemmed words, word pairs within a small window, and character
// n-grams within words, each block weighted by TF-IDF and normalised on its own.
#ifndef KEFU_KB_TEXT_FEATURES_H_
#define KEFU_KB_TEXT_FEATURES_H_

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "kb/tokenizer.h"

namespace kefu {

struct FeatureOptions {
  // Character n-gram lengths, in code points, taken inside each space-padded word of a spaced
  // script. Default 2..4: they carry typos and inflections; on CLINC150 validation 1..5 was no
  // more accurate and made training half as slow again.
  int char_ngram_min = 2;
  int char_ngram_max = 4;
  // The same for runs of unspaced scripts (Chinese, Japanese, Thai), where a single character
  // is often a word. Default 1..2: on the hr-zh sample's held-out questions 1..2 answered 90.4%
  // right, 1..3 and 1..4 89.8%, 1..5 89.2% (word pairs already carry longer phrases).
  int unspaced_ngram_min = 1;
  int unspaced_ngram_max = 2;
  // Word pairs (u_i, u_j) with 0 < j - i <= pair_window. Default 3; pairs capture phrases
  // ("cancel order") and survive inserted words ("cancel my order").
  int pair_window = 3;
  // Word units of Chinese text: the segmenter's words (ChineseSegmenter::Shared()), character
  // pairs, or both. Default: words (see kb/chinese_segmenter.h for the measurements). Without
  // friso's lexicon on the machine, character pairs.
  HanUnits han_units = HanUnits::kWords;
};

enum FeatureBlock { kWordBlock = 0, kPairBlock = 1, kCharBlock = 2, kNumBlocks = 3 };

// The hashed features of one text, by block, repeats kept (term counts matter).
struct TextFeatures {
  std::array<std::vector<uint64_t>, kNumBlocks> hashes;
};

// Computes the features of `text` (raw; it is normalised and tokenised here). Thread-safe.
void ExtractFeatures(std::string_view text, const FeatureOptions& options, TextFeatures* out);

// The same for text that is already the output of NormalizeText.
void ExtractNormalizedFeatures(std::string_view normalized, const FeatureOptions& options, TextFeatures* out);

// A sparse feature vector: parallel arrays of feature indices and weights.
struct SparseVector {
  std::vector<uint32_t> index;
  std::vector<float> value;
  // Vectors made by Vectorizer::Transform: the word block is [0, word_end), each block sorted.
  size_t word_end = 0;
  void clear() {
    index.clear();
    value.clear();
    word_end = 0;
  }
};

// Maps feature hashes to dense indices with their IDF weights, and turns TextFeatures into
// weighted vectors. Immutable after Build, so concurrent Transform calls are safe.
class Vectorizer {
 public:
  Vectorizer() = default;

  // Keeps the features found in at least `min_df` of `docs`; IDF is ln((1+n)/(1+df)) + 1.
  static Vectorizer Build(const std::vector<TextFeatures>& docs, int min_df);
  // The same over documents held elsewhere (not copied).
  static Vectorizer Build(const std::vector<const TextFeatures*>& docs, int min_df);

  // Writes the vector of `features` to `out`: per block, sublinear term frequency
  // (1 + ln count) times IDF, L2-normalised; features outside the vocabulary are dropped.
  // Returns the fraction of word-block features that were outside the vocabulary (1 when the
  // text has no words): a sign that the question talks about something the KB does not know.
  float Transform(const TextFeatures& features, SparseVector* out) const;

  size_t num_features() const { return idf_.size(); }

  // Approximate heap bytes held.
  size_t MemoryBytes() const;

 private:
  // Index of `hash`, or -1.
  int64_t Find(uint64_t hash) const;
  void Insert(uint64_t hash, uint32_t index);

  // Open addressing with linear probing; key 0 marks an empty slot (hashes are never 0). Key
  // and index share a slot so that a lookup touches one cache line.
  struct Slot {
    uint64_t key;
    uint32_t index;
  };
  std::vector<Slot> slots_;
  uint64_t mask_ = 0;
  std::vector<float> idf_;
};

}  // namespace kefu

#endif  // KEFU_KB_TEXT_FEATURES_H_
