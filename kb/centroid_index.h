// The matcher's scorer for large knowledge bases: nearest centroid over the same TF-IDF
// features as the linear model. Each class (KB entry) is the mean of its examples' vectors,
// L2-normalised, and a question scores cos(question, centroid).
//
// Why: the linear model keeps a dense features x classes matrix (and trains through a float
// copy of it plus classes x examples dual variables), which at 100,000 entries would take
// terabytes. This index holds each centroid's terms twice (12 bytes a term), so it grows with
// the KB's text, not with features x entries, and builds in one pass over the examples.
//
// A question is scored in two stages. (1) Candidates: the postings lists of the question's
// features are walked from the shortest (the rarest, most telling features: names, rare words,
// word pairs) up, into per-class partial sums, until a budget of postings is spent; the lists
// of very common features ("the", "how", " th") are left for (2). (2) Exact scores: the best
// candidates by partial sum get their full cosine from the forward (class-major) store. When
// every list fits in the budget, stage 1 is already exact.
#ifndef KEFU_KB_CENTROID_INDEX_H_
#define KEFU_KB_CENTROID_INDEX_H_

#include <cstdint>
#include <vector>

#include "kb/linear_model.h"
#include "kb/text_features.h"

namespace kefu {

struct CentroidIndexOptions {
  // Each centroid keeps at most this many features, the largest weights (0: all). Default 0:
  // min_df already drops the rare n-grams, and pruning centroids of diverse entries cost
  // accuracy before it saved memory worth having.
  int max_terms_per_class = 0;
  // Stage 1 walks postings lists, shortest first, until it has visited this many postings (it
  // always finishes the list it is in). Default 16384: on 100,000 synthetic entries, twice as
  // many were no more accurate and half as many lost accuracy; a few tens of microseconds.
  int postings_budget = 16384;
  // Stage 2 rescores this many candidates exactly (the best by partial sum). Default 32: on
  // 10,000 synthetic entries as accurate as 64 or 128 (74.3%, 74.4%, 74.5% top-1), in less time.
  int rescore_candidates = 32;
  // A feature's postings list keeps at most this many classes, those with the largest weights
  // (0: all). Default 0: stage 1 never walks a long list whole, and the forward store still
  // scores every feature, so capping would only save memory.
  int max_postings_per_feature = 0;
};

// A scored class.
struct ClassScore {
  int label = -1;
  float score = 0;
};

class CentroidIndex {
 public:
  CentroidIndex() = default;

  // Builds the centroids of rows `x` whose labels are in [0, num_classes) and their index.
  // A class without rows never scores above 0.
  static CentroidIndex Build(const SparseMatrix& x, const std::vector<int>& labels, int num_classes,
                             size_t num_features, const CentroidIndexOptions& options);

  // Writes the best `k` classes for `v` by cosine similarity (in [0, 1]; `v` need not be
  // normalised), best first, ties to the lower label. Classes that share no feature with `v`
  // are not candidates, so fewer than `k` may come back. Thread-safe.
  void TopK(const SparseVector& v, int k, std::vector<ClassScore>* out) const;

  // True when feature `f` is among class `c`'s centroid terms (weight above 0). Thread-safe.
  bool Supports(uint32_t f, int c) const;

  int num_classes() const { return num_classes_; }
  size_t num_postings() const { return entry_.size(); }
  size_t MemoryBytes() const {
    return start_.capacity() * sizeof(size_t) + entry_.capacity() * sizeof(uint32_t) +
           weight_.capacity() * sizeof(uint16_t) + scale_.capacity() * sizeof(float) +
           class_start_.capacity() * sizeof(size_t) + term_.capacity() * sizeof(uint32_t) +
           term_weight_.capacity() * sizeof(uint16_t) + class_scale_.capacity() * sizeof(float);
  }

 private:
  int num_classes_ = 0;
  size_t options_budget_ = 0;
  size_t options_rescore_ = 0;
  // Feature-major postings (compressed sparse columns of the centroid matrix): feature f's
  // classes are entry_[start_[f] .. start_[f + 1]), in increasing order, with weights
  // weight_[...] * scale_[f] (16 bits per weight, scaled per feature: cosines move by < 1e-4).
  std::vector<size_t> start_;
  std::vector<uint32_t> entry_;
  std::vector<uint16_t> weight_;
  std::vector<float> scale_;
  // Class-major terms (compressed sparse rows): class c's features are
  // term_[class_start_[c] .. class_start_[c + 1]), in increasing order, with weights
  // term_weight_[...] * class_scale_[c].
  std::vector<size_t> class_start_;
  std::vector<uint32_t> term_;
  std::vector<uint16_t> term_weight_;
  std::vector<float> class_scale_;
};

}  // namespace kefu

#endif  // KEFU_KB_CENTROID_INDEX_H_
