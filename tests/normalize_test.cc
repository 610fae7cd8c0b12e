#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "base/utf8.h"
#include "kb/normalize.h"
#include "kb/tokenizer.h"

namespace kefu {
namespace {

std::vector<std::string> Units(const Token& t) { return t.units; }

TEST_CASE("full-width letters and digits fold to ASCII") {
  CHECK(NormalizeText("ＡＢＣ１２３") == "abc123");
  CHECK(NormalizeText("ｖｐｎ　连不上") == "vpn 连不上");  // the ideographic space too
  CHECK(NormalizeText("ﬁle") == "file");                  // compatibility ligature
  CHECK(NormalizeText("①") == "1");
}

TEST_CASE("case folding covers non-ASCII letters") {
  CHECK(NormalizeText("ÉCOLE") == "école");
  CHECK(NormalizeText("Straße") == "strasse");
  CHECK(NormalizeText("STRASSE") == "strasse");
  CHECK(NormalizeText("ΣΑΣ") == "σασ");
  CHECK(NormalizeText("ПРИВЕТ Мир") == "привет мир");
  CHECK(NormalizeText("Hello WORLD") == "hello world");
}

TEST_CASE("composed and decomposed accents normalise alike") {
  CHECK(NormalizeText("e\xcc\x81") == NormalizeText("é"));  // e + combining acute
  CHECK(NormalizeText("E\xcc\x81") == "é");
}

TEST_CASE("punctuation, including Chinese punctuation, becomes single spaces") {
  CHECK(NormalizeText("年假，怎么请？") == "年假 怎么请");
  CHECK(NormalizeText("「报销」流程：怎么走。") == "报销 流程 怎么走");
  CHECK(NormalizeText("how do I apply?!...") == "how do i apply");
  CHECK(NormalizeText("e-mail, (please)") == "e mail please");
  CHECK(NormalizeText("what's") == "what s");
}

TEST_CASE("mixed scripts keep each script's words") {
  CHECK(NormalizeText("VPN连不上") == "vpn连不上");
  CHECK(NormalizeText("我的iPhone订单") == "我的iphone订单");
  CHECK(NormalizeText("Café 咖啡 кофе") == "café 咖啡 кофе");
}

TEST_CASE("symbols such as emoji and currency become words of their own") {
  CHECK(NormalizeText("hi😀there") == "hi 😀 there");
  CHECK(NormalizeText("good👍👍") == "good 👍 👍");
  CHECK(NormalizeText("€100") == "€ 100");
  CHECK(NormalizeText("$5") == "$ 5");
  CHECK(NormalizeText("1+1=2") == "1 + 1 = 2");
}

TEST_CASE("zero-width joiners and variation selectors are removed") {
  // man ZWJ woman ZWJ girl: the joiners go, each person is its own symbol.
  CHECK(NormalizeText("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7") ==
        "\xf0\x9f\x91\xa8 \xf0\x9f\x91\xa9 \xf0\x9f\x91\xa7");
  CHECK(NormalizeText("love\xe2\x9d\xa4\xef\xb8\x8f") == "love \xe2\x9d\xa4");  // heart + VS16
  CHECK(NormalizeText("pass\xe2\x80\x8bword") == "password");                   // zero-width space
  CHECK(NormalizeText("a\xe2\x80\x8d") == "a");
  CHECK(NormalizeText("\xef\xbb\xbfhello") == "hello");  // a BOM
}

TEST_CASE("invalid UTF-8 never crashes and always gives valid UTF-8") {
  CHECK(NormalizeText("abc\xff年") == "abc 年");
  CHECK(NormalizeText("\xed\xa0\x80") == "");
  CHECK(NormalizeText("\xc3") == "");
  // Every single byte, every byte pair, and a few nasty mixes.
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    CHECK(IsValidUtf8(NormalizeText(one)));
    CHECK(IsValidUtf8(NormalizeText("x" + one + "年")));
  }
  for (int a = 0x80; a < 256; a += 3) {
    for (int b = 0; b < 256; b += 5) {
      const std::string two{static_cast<char>(a), static_cast<char>(b)};
      const std::string out = NormalizeText("é" + two + "z");
      CHECK(IsValidUtf8(out));
    }
  }
}

TEST_CASE("leading, trailing and repeated spaces collapse") {
  CHECK(NormalizeText("   hello    world   ") == "hello world");
  CHECK(NormalizeText("\t\n hello\r\n") == "hello");
  CHECK(NormalizeText("  你好　　世界  ") == "你好 世界");
  CHECK(NormalizeText(" é ") == "é");
  CHECK(NormalizeText("") == "");
  CHECK(NormalizeText("   ") == "");
  CHECK(NormalizeText("？？？") == "");
  CHECK(NormalizeText("!!!") == "");
}

// The ASCII fast path must agree with the Unicode path. Appending " é" forces the Unicode path
// for the same text; " é" itself normalises to a separate word "é", so the Unicode result must
// be exactly the ASCII result followed by " é" (or just "é" when the ASCII result is empty).
std::string ViaUnicodePath(const std::string& ascii_text) {
  const std::string out = NormalizeText(ascii_text + " é");
  return out;
}

std::string Expected(const std::string& ascii_result) {
  return ascii_result.empty() ? "é" : ascii_result + " é";
}

TEST_CASE("the ASCII fast path agrees with the Unicode path for every ASCII character") {
  for (int c = 0; c < 128; ++c) {
    const char ch = static_cast<char>(c);
    for (const std::string& s : {std::string(1, ch), std::string("a") + ch + "b", std::string("Z") + ch + ch,
                                 std::string(" ") + ch + " 9", std::string("x") + ch}) {
      CAPTURE(c);
      CAPTURE(s);
      const std::string fast = NormalizeText(s);
      CHECK(ViaUnicodePath(s) == Expected(fast));
    }
  }
  std::string printable;
  for (int c = 0x20; c < 0x7f; ++c) printable.push_back(static_cast<char>(c));
  CHECK(ViaUnicodePath(printable) == Expected(NormalizeText(printable)));
}

TEST_CASE("Tokenize stems English words") {
  const auto tokens = Tokenize("applying");
  REQUIRE(tokens.size() == 1);
  CHECK(tokens[0].text == "applying");
  CHECK(Units(tokens[0]) == std::vector<std::string>{"appli"});
  CHECK_FALSE(tokens[0].unspaced);
  CHECK(StemEnglish("applying") == "appli");
  CHECK(StemEnglish("requests") == "request");
  CHECK(StemEnglish("at") == "at");
  CHECK(StemEnglish("école") == "école");  // not lower-case ASCII: unchanged

  const auto words = Tokenize(NormalizeText("How do I apply?"));
  REQUIRE(words.size() == 4);
  CHECK(words[3].units == std::vector<std::string>{"appli"});
}

TEST_CASE("Tokenize splits a Chinese run into overlapping character pairs") {
  const auto tokens = Tokenize("年假怎么请");
  REQUIRE(tokens.size() == 1);
  CHECK(tokens[0].unspaced);
  CHECK(tokens[0].text == "年假怎么请");
  CHECK(tokens[0].units == std::vector<std::string>{"年假", "假怎", "怎么", "么请"});

  const auto two = Tokenize(NormalizeText("年假，怎么请？"));
  REQUIRE(two.size() == 2);
  CHECK(two[0].units == std::vector<std::string>{"年假"});
  CHECK(two[1].units == std::vector<std::string>{"怎么", "么请"});
}

TEST_CASE("a single Han character is its own unit") {
  const auto tokens = Tokenize("年");
  REQUIRE(tokens.size() == 1);
  CHECK(tokens[0].unspaced);
  CHECK(tokens[0].units == std::vector<std::string>{"年"});
}

TEST_CASE("mixed Latin and Chinese split into a Latin token and an unspaced token") {
  const auto tokens = Tokenize(NormalizeText("VPN连不上"));
  REQUIRE(tokens.size() == 2);
  CHECK(tokens[0].text == "vpn");
  CHECK_FALSE(tokens[0].unspaced);
  CHECK(tokens[0].units == std::vector<std::string>{"vpn"});
  CHECK(tokens[1].text == "连不上");
  CHECK(tokens[1].unspaced);
  CHECK(tokens[1].units == std::vector<std::string>{"连不", "不上"});

  const auto three = Tokenize(NormalizeText("我的iPhone订单"));
  REQUIRE(three.size() == 3);
  CHECK(three[1].text == "iphone");
  CHECK(three[2].units == std::vector<std::string>{"订单"});
}

TEST_CASE("Tokenize of empty text or spaces gives no tokens") {
  CHECK(Tokenize("").empty());
  CHECK(Tokenize(" ").empty());
}

TEST_CASE("IsUnspacedScript covers Han, Kana, Thai, Lao, Khmer, Myanmar and nothing spaced") {
  CHECK(IsUnspacedScript(U'年'));
  CHECK(IsUnspacedScript(U'\x4e00'));
  CHECK(IsUnspacedScript(U'\x9fff'));
  CHECK(IsUnspacedScript(U'\x3400'));    // extension A
  CHECK(IsUnspacedScript(U'\x20000'));   // extension B
  CHECK(IsUnspacedScript(U'あ'));
  CHECK(IsUnspacedScript(U'ア'));
  CHECK(IsUnspacedScript(U'ก'));         // Thai
  CHECK(IsUnspacedScript(U'\x0e81'));    // Lao
  CHECK(IsUnspacedScript(U'\x1780'));    // Khmer
  CHECK(IsUnspacedScript(U'\x1000'));    // Myanmar
  CHECK_FALSE(IsUnspacedScript(U'a'));
  CHECK_FALSE(IsUnspacedScript(U'é'));
  CHECK_FALSE(IsUnspacedScript(U'я'));
  CHECK_FALSE(IsUnspacedScript(U'한'));   // Korean is written with spaces
  CHECK_FALSE(IsUnspacedScript(U'，'));
  CHECK_FALSE(IsUnspacedScript(U'1'));
  CHECK_FALSE(IsUnspacedScript(U'\x3000'));  // ideographic space
}

}  // namespace
}  // namespace kefu
