// Chinese word segmentation for the matcher's features: which runs of Han characters are words
// ("公司 wifi 密码 是 多少"), so that word units and word pairs can carry meaning beside the
// character n-grams. Backed by friso (Debian's libfriso, MMSEG with its friso-dict lexicon).
//
// Why friso: on a 5-fold cross-validation of the SMP2017-ECDT training split (docs/performance.md),
// character 1-2 grams plus word 1-2 grams scored the same with friso's words as with jieba's
// (90.45% both, jieba's search mode; 90.16% its exact mode), so the choice was by cost: friso is a
// C library with its own lexicon package, loads in about 0.2 s, and needs no Python package at run
// time (jieba's dictionary ships inside python3-jieba) nor segmentation code of our own.
#ifndef KEFU_KB_CHINESE_SEGMENTER_H_
#define KEFU_KB_CHINESE_SEGMENTER_H_

#include <string>
#include <string_view>
#include <vector>

namespace kefu {

class ChineseSegmenter {
 public:
  // The directory of friso-dict's UTF-8 lexicon (friso.lex.ini and the lex-*.lex files).
  static constexpr const char* kDefaultLexiconDir = "/usr/share/friso/dict/UTF-8/";

  // The process-wide segmenter over kDefaultLexiconDir, loaded on first use (about 0.2 s and
  // 20 MB); nullptr when the lexicon is missing or empty, and then callers fall back to
  // character pairs. Thread-safe; the segmenter lives until the process exits.
  static const ChineseSegmenter* Shared();

  // Loads the lexicon in `dir`; nullptr when it is missing or empty. The caller owns the result.
  static ChineseSegmenter* Load(const std::string& dir);

  ~ChineseSegmenter();
  ChineseSegmenter(const ChineseSegmenter&) = delete;
  ChineseSegmenter& operator=(const ChineseSegmenter&) = delete;

  // Appends the words of `run` (normalised text: a run of Han characters, no spaces) to `words`,
  // in order; their concatenation is `run`. Characters that no lexicon word covers come one by
  // one.
  // Thread-safe: each thread segments with a task state of its own.
  void Segment(std::string_view run, std::vector<std::string>* words) const;

 private:
  ChineseSegmenter() = default;
  struct Friso;
  Friso* friso_ = nullptr;
};

}  // namespace kefu

#endif  // KEFU_KB_CHINESE_SEGMENTER_H_
