// UTF-8 checks and decoding. Everything that enters kefu from outside is checked here once;
// inner code may then assume valid UTF-8.
#ifndef KEFU_BASE_UTF8_H_
#define KEFU_BASE_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace kefu {

// Returns the byte offset of the first invalid UTF-8 sequence in `s` (overlong forms,
// surrogates and code points above U+10FFFF are invalid), or std::string_view::npos if valid.
size_t FindInvalidUtf8(std::string_view s);

inline bool IsValidUtf8(std::string_view s) { return FindInvalidUtf8(s) == std::string_view::npos; }

// Returns `s` with every invalid byte sequence replaced by U+FFFD.
std::string SanitizeUtf8(std::string_view s);

// Decodes the code point that starts at s[*pos] and advances *pos past it. `s` must be valid
// UTF-8 and *pos < s.size().
char32_t DecodeUtf8(std::string_view s, size_t* pos);

// Appends the UTF-8 encoding of `cp` (a valid scalar value) to `out`.
void AppendUtf8(char32_t cp, std::string* out);

// Number of code points in valid UTF-8 `s`.
size_t CountCodePoints(std::string_view s);

}  // namespace kefu

#endif  // KEFU_BASE_UTF8_H_
