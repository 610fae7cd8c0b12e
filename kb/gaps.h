// The KB's gaps: questions the bot could not answer (or answered unhelpfully), grouped by
// similarity and ranked by how many customers asked. Pure: questions in, groups out.
#ifndef KEFU_KB_GAPS_H_
#define KEFU_KB_GAPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "kb/text_features.h"

namespace kefu {

struct GapQuestion {
  std::string text;
  std::string customer;  // who asked (groups count distinct customers)
  int64_t at = 0;        // when (microseconds)
};

struct Gap {
  std::vector<std::string> examples;  // distinct questions, most asked first (at most max_examples)
  size_t questions = 0;               // questions in the group
  size_t customers = 0;               // distinct customers who asked
  int64_t first_seen = 0;
  int64_t last_seen = 0;
  std::string nearest_entry;          // filled by the caller from the matcher (the group's first example)
  float nearest_confidence = 0;
};

struct GapOptions {
  // A question joins a group when the cosine of its feature vector (word units and character
  // n-grams, weighted by IDF over the questions themselves) with the group's centroid is at least
  // this. Default 0.25: short questions share few features, so paraphrases score 0.25-0.5.
  double similarity = 0.25;
  size_t max_examples = 5;
  size_t max_gaps = 50;
  FeatureOptions features;
};

// Groups `questions` (greedily, in the order given, each into the most similar group above the
// similarity bar or a new one) and returns the groups ranked by distinct customers, then
// questions, then recency. Feature weights come from document frequencies over the questions
// and `background` (the KB's example questions, say), so that words every question has ("how do
// I", "的", "吗") weigh little. Thread-safe.
std::vector<Gap> FindGaps(const std::vector<GapQuestion>& questions, const GapOptions& options = {},
                          const std::vector<std::string>& background = {});

}  // namespace kefu

#endif  // KEFU_KB_GAPS_H_
