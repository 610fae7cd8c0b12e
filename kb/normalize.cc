#include "kb/normalize.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "base/utf8.h"

namespace kefu {
namespace {

enum class CharClass { kWord, kSymbol, kSpace };

CharClass Classify(char32_t cp) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return CharClass::kWord;
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SO:
      return cp == 0xFFFD ? CharClass::kSpace : CharClass::kSymbol;
    default:  // punctuation, separators, controls, modifier symbols (^ `), unassigned
      return CharClass::kSpace;
  }
}

// Appends `piece` to `out` keeping single spaces between words.
void AppendSpace(std::string* out) {
  if (!out->empty() && out->back() != ' ') out->push_back(' ');
}

std::string NormalizeAscii(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out.push_back(c);
    } else if (c == '+' || c == '<' || c == '=' || c == '>' || c == '|' || c == '~' || c == '$') {
      // Math and currency symbols are words of their own, as in the Unicode path.
      AppendSpace(&out);
      out.push_back(c);
      out.push_back(' ');
    } else {
      AppendSpace(&out);
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

bool IsUnspacedScript(char32_t cp) {
  return (cp >= 0x3040 && cp <= 0x30FF) ||    // Hiragana, Katakana
         (cp >= 0x3400 && cp <= 0x4DBF) ||    // CJK extension A
         (cp >= 0x4E00 && cp <= 0x9FFF) ||    // CJK unified ideographs
         (cp >= 0xF900 && cp <= 0xFAFF) ||    // CJK compatibility ideographs
         (cp >= 0x20000 && cp <= 0x3134F) ||  // CJK extensions B-G
         (cp >= 0x0E00 && cp <= 0x0EFF) ||    // Thai, Lao
         (cp >= 0x1000 && cp <= 0x109F) ||    // Myanmar
         (cp >= 0x1780 && cp <= 0x17FF);      // Khmer
}

bool HasUnspacedText(std::string_view text) {
  const std::string valid = IsValidUtf8(text) ? std::string() : SanitizeUtf8(text);
  const std::string_view t = valid.empty() ? text : std::string_view(valid);
  for (size_t pos = 0; pos < t.size();) {
    if (IsUnspacedScript(DecodeUtf8(t, &pos))) return true;
  }
  return false;
}

std::string NormalizeText(std::string_view text) {
  bool ascii = true;
  for (char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) return NormalizeAscii(text);

  std::string valid;
  if (!IsValidUtf8(text)) {
    valid = SanitizeUtf8(text);
    text = valid;
  }
  utf8proc_uint8_t* mapped = nullptr;
  const auto options = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE |
                                                      UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                    static_cast<utf8proc_ssize_t>(text.size()), &mapped, options);
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
  // utf8proc fails only on invalid UTF-8 (excluded above) or out of memory; keep the input then.
  std::string_view folded = n >= 0 ? std::string_view(reinterpret_cast<const char*>(mapped), n) : text;

  std::string out;
  out.reserve(folded.size());
  size_t pos = 0;
  while (pos < folded.size()) {
    const size_t start = pos;
    const char32_t cp = DecodeUtf8(folded, &pos);
    switch (Classify(cp)) {
      case CharClass::kWord:
        out.append(folded.data() + start, pos - start);
        break;
      case CharClass::kSymbol:
        AppendSpace(&out);
        out.append(folded.data() + start, pos - start);
        out.push_back(' ');
        break;
      case CharClass::kSpace:
        AppendSpace(&out);
        break;
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace kefu
