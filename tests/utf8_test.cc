#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "base/utf8.h"

namespace kefu {
namespace {

constexpr size_t npos = std::string_view::npos;

TEST_CASE("valid UTF-8 of every length is accepted") {
  CHECK(FindInvalidUtf8("") == npos);
  CHECK(FindInvalidUtf8("plain ascii") == npos);
  CHECK(FindInvalidUtf8("\xc2\x80") == npos);          // U+0080, smallest 2-byte
  CHECK(FindInvalidUtf8("\xdf\xbf") == npos);          // U+07FF
  CHECK(FindInvalidUtf8("\xe0\xa0\x80") == npos);      // U+0800, smallest 3-byte
  CHECK(FindInvalidUtf8("\xed\x9f\xbf") == npos);      // U+D7FF, just below the surrogates
  CHECK(FindInvalidUtf8("\xee\x80\x80") == npos);      // U+E000, just above them
  CHECK(FindInvalidUtf8("\xef\xbf\xbf") == npos);      // U+FFFF
  CHECK(FindInvalidUtf8("\xf0\x90\x80\x80") == npos);  // U+10000, smallest 4-byte
  CHECK(FindInvalidUtf8("\xf4\x8f\xbf\xbf") == npos);  // U+10FFFF, the largest
  CHECK(FindInvalidUtf8("年假，怎么请？😀") == npos);
  CHECK(IsValidUtf8("école"));
  CHECK(FindInvalidUtf8(std::string_view("a\0b", 3)) == npos);  // NUL is a valid code point
}

TEST_CASE("overlong forms are invalid") {
  CHECK(FindInvalidUtf8("\xc0\xaf") == 0);              // '/' in two bytes
  CHECK(FindInvalidUtf8("\xc1\xbf") == 0);
  CHECK(FindInvalidUtf8("ab\xe0\x80\xaf") == 2);        // '/' in three bytes
  CHECK(FindInvalidUtf8("\xe0\x9f\xbf") == 0);          // U+07FF in three bytes
  CHECK(FindInvalidUtf8("x\xf0\x80\x80\xaf") == 1);     // '/' in four bytes
  CHECK(FindInvalidUtf8("\xf0\x8f\xbf\xbf") == 0);      // U+FFFF in four bytes
}

TEST_CASE("UTF-16 surrogates are invalid") {
  CHECK(FindInvalidUtf8("\xed\xa0\x80") == 0);      // U+D800
  CHECK(FindInvalidUtf8("ok \xed\xbf\xbf") == 3);   // U+DFFF
  CHECK(FindInvalidUtf8("\xed\xa0\xbd\xed\xb8\x80") == 0);  // a CESU-8 surrogate pair
}

TEST_CASE("code points above U+10FFFF are invalid") {
  CHECK(FindInvalidUtf8("\xf4\x90\x80\x80") == 0);  // U+110000
  CHECK(FindInvalidUtf8("a\xf5\x80\x80\x80") == 1);
  CHECK(FindInvalidUtf8("\xf7\xbf\xbf\xbf") == 0);
  CHECK(FindInvalidUtf8("\xf8\x88\x80\x80\x80") == 0);  // old 5-byte form
  CHECK(FindInvalidUtf8("\xff") == 0);
  CHECK(FindInvalidUtf8("\xfe") == 0);
}

TEST_CASE("truncated sequences and stray continuation bytes are invalid") {
  CHECK(FindInvalidUtf8("\xc3") == 0);
  CHECK(FindInvalidUtf8("abc\xe5\xb9") == 3);        // 年 missing its last byte
  CHECK(FindInvalidUtf8("\xf0\x9f\x98") == 0);       // 😀 missing its last byte
  CHECK(FindInvalidUtf8("\xe5\xb9 ") == 0);          // cut short by a space
  CHECK(FindInvalidUtf8("\x80") == 0);               // continuation with no lead
  CHECK(FindInvalidUtf8("年\xbf") == 3);
  CHECK_FALSE(IsValidUtf8("\xc3("));
}

TEST_CASE("SanitizeUtf8 replaces each bad byte with U+FFFD and keeps the rest") {
  CHECK(SanitizeUtf8("fine 年") == "fine 年");
  CHECK(SanitizeUtf8("a\xffz") == "a\xef\xbf\xbdz");
  CHECK(SanitizeUtf8("\xc3") == "\xef\xbf\xbd");
  // A surrogate is three bad bytes: the lead fails, then two stray continuations.
  CHECK(SanitizeUtf8("\xed\xa0\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  // A truncated sequence before a valid character loses only the truncated bytes.
  CHECK(SanitizeUtf8("\xe5\xb9年") == "\xef\xbf\xbd\xef\xbf\xbd年");
  for (std::string_view bad : {"\xc0\xaf", "\xf4\x90\x80\x80", "x\x80y", "\xf0\x9f\x98", "\xfe\xff"}) {
    CAPTURE(std::string(bad));
    CHECK(IsValidUtf8(SanitizeUtf8(bad)));
  }
}

TEST_CASE("DecodeUtf8 and AppendUtf8 round-trip every length and the range edges") {
  for (char32_t cp : {U'\0', U'A', U'\x7f', U'\x80', U'é', U'\x7ff', U'\x800', U'年', U'\xd7ff', U'\xe000',
                      U'\xfffd', U'\xffff', U'\x10000', U'😀', U'\x10ffff'}) {
    CAPTURE(static_cast<uint32_t>(cp));
    std::string s;
    AppendUtf8(cp, &s);
    CHECK(IsValidUtf8(s));
    size_t pos = 0;
    CHECK(DecodeUtf8(s, &pos) == cp);
    CHECK(pos == s.size());
  }
  std::string s;
  AppendUtf8(U'é', &s);
  CHECK(s == "\xc3\xa9");
  s.clear();
  AppendUtf8(U'😀', &s);
  CHECK(s == "\xf0\x9f\x98\x80");
}

TEST_CASE("DecodeUtf8 walks a mixed string one code point at a time") {
  const std::string_view s = "a年é😀";
  size_t pos = 0;
  CHECK(DecodeUtf8(s, &pos) == U'a');
  CHECK(pos == 1);
  CHECK(DecodeUtf8(s, &pos) == U'年');
  CHECK(pos == 4);
  CHECK(DecodeUtf8(s, &pos) == U'é');
  CHECK(pos == 6);
  CHECK(DecodeUtf8(s, &pos) == U'😀');
  CHECK(pos == 10);
}

TEST_CASE("CountCodePoints counts characters, not bytes") {
  CHECK(CountCodePoints("") == 0);
  CHECK(CountCodePoints("abc") == 3);
  CHECK(CountCodePoints("école") == 5);
  CHECK(CountCodePoints("年假，怎么请？") == 7);
  CHECK(CountCodePoints("😀👍") == 2);
}

}  // namespace
}  // namespace kefu
