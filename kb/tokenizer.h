// Splits normalised text into the words the matcher reasons about, for spaced and unspaced
// scripts alike.
#ifndef KEFU_KB_TOKENIZER_H_
#define KEFU_KB_TOKENIZER_H_

#include <string>
#include <string_view>
#include <vector>

namespace kefu {

struct Token {
  // The token's text as normalised (for character n-grams).
  std::string text;
  // The word units the token contributes: the English stem of a Latin word, the word itself
  // for other spaced scripts, and the overlapping character pairs of a Han/Kana/Thai run (a
  // run of one character is its own unit).
  std::vector<std::string> units;
  // True for a run of an unspaced script (Chinese, Japanese kana, Thai, ...).
  bool unspaced = false;
};

class ChineseSegmenter;

// How the word units of a run of Han characters are made.
enum class HanUnits {
  kPairs,          // overlapping character pairs: no dictionary
  kWords,          // the segmenter's words
  kWordsAndPairs,  // both
};

// Returns the tokens of `normalized` (the output of NormalizeText): runs of word characters
// split at spaces and at every change between spaced and unspaced scripts. Runs of Han
// characters get units as `han` says, through `segmenter` (character pairs when it is null).
// Thread-safe.
std::vector<Token> Tokenize(std::string_view normalized, HanUnits han = HanUnits::kPairs,
                            const ChineseSegmenter* segmenter = nullptr);

// Returns the English Snowball (Porter2) stem of a lower-case ASCII word, or the word itself
// when it holds anything else. Thread-safe.
std::string StemEnglish(std::string_view word);

}  // namespace kefu

#endif  // KEFU_KB_TOKENIZER_H_
