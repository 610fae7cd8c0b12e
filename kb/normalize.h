// Text normalisation for matching: one canonical form for what people type, in any script.
#ifndef KEFU_KB_NORMALIZE_H_
#define KEFU_KB_NORMALIZE_H_

#include <string>
#include <string_view>

namespace kefu {

// Returns `text` in matching form: invalid UTF-8 replaced, Unicode NFKC (full-width letters and
// digits become ASCII, compatibility forms fold), case folded, default-ignorable characters
// (zero-width joiners, variation selectors) removed, punctuation, separators and control
// characters turned into single spaces, each symbol (emoji, currency) set apart as its own word,
// no leading or trailing space. Never fails. Thread-safe.
std::string NormalizeText(std::string_view text);

// True for code points of scripts written without spaces between words (Han, Kana, Thai, Lao,
// Khmer, Myanmar), which the tokenizer splits into characters.
bool IsUnspacedScript(char32_t cp);

// True when `text` (any bytes: invalid UTF-8 is read as replaced) holds a code point of such a script.
bool HasUnspacedText(std::string_view text);

}  // namespace kefu

#endif  // KEFU_KB_NORMALIZE_H_
