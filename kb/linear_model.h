// A one-vs-rest linear classifier over sparse features: one L2-regularised, squared-hinge-loss
// SVM per class, trained by dual coordinate descent (Hsieh et al., ICML 2008, the method of
// LIBLINEAR's default solver). Scores are margins: positive means "this class" to its SVM.
#ifndef KEFU_KB_LINEAR_MODEL_H_
#define KEFU_KB_LINEAR_MODEL_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "kb/text_features.h"

namespace kefu {

// Rows of sparse vectors stored contiguously (compressed sparse rows).
struct SparseMatrix {
  std::vector<size_t> row_start{0};
  std::vector<uint32_t> index;
  std::vector<float> value;

  size_t rows() const { return row_start.size() - 1; }
  void AddRow(const SparseVector& v);
};

struct LinearModelOptions {
  // Regularisation: larger fits the examples more tightly. Default 1, measured best on CLINC150
  // validation among 0.5, 1, 3.
  double c = 1.0;
  // Stopping tolerance on the projected gradient (the worst class's). Default 0.1 (LIBLINEAR's).
  double epsilon = 0.1;
  // Upper bound on passes over the data. Default 12: on CLINC150 validation, accuracy after 12
  // passes equals that at convergence (about 24 passes at epsilon 0.1), in half the time.
  int max_passes = 12;
  // Between full passes (every fourth, and the last), examples whose largest projected gradient
  // was below this at their last visit are skipped. Default 0.05.
  double shrink_tolerance = 0.05;
  // Seed of the example order; the same seed and data give the same model.
  uint64_t seed = 1;
};

class LinearModel {
 public:
  LinearModel() = default;

  // Trains one SVM per class on rows `x` whose labels are in [0, num_classes). `progress`, when
  // set, is called after each pass with (passes done, max_passes).
  static LinearModel Train(const SparseMatrix& x, const std::vector<int>& labels, int num_classes,
                           size_t num_features, const LinearModelOptions& options,
                           const std::function<void(int, int)>& progress = nullptr);

  // Writes num_classes() margins for `v` into `scores`. Thread-safe.
  void Score(const SparseVector& v, float* scores) const;

  // True when the model counts feature `f` (an index below num_features) as evidence for class
  // `c`: its weight is positive. Thread-safe.
  bool Supports(uint32_t f, int c) const { return weights_[f * stride_ + static_cast<size_t>(c)] > 0; }

  int num_classes() const { return num_classes_; }
  // Classes are scored in blocks of this many (rows are padded to a multiple of it).
  static constexpr int kScoreBlock = 32;
  size_t MemoryBytes() const {
    return weights_.capacity() + (bias_.capacity() + row_scale_.capacity()) * sizeof(float);
  }

 private:
  int num_classes_ = 0;
  size_t num_features_ = 0;
  size_t stride_ = 0;  // num_classes_ rounded up to kScoreBlock: the length of a weight row
  // Feature-major: the weights of feature f for all classes are contiguous at f * stride_,
  // so scoring a question reads one short row per feature it has. Stored as int8 scaled per
  // row (row_scale_): a quarter of the memory traffic of floats, and the margins move by less
  // than 1% of a row's largest weight.
  std::vector<int8_t> weights_;
  std::vector<float> row_scale_;
  std::vector<float> bias_;
};

}  // namespace kefu

#endif  // KEFU_KB_LINEAR_MODEL_H_
