#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/json_position.h"

namespace kefu {
namespace {

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// Parses `text` (which must be a valid object) and returns the document.
std::unique_ptr<JsonDocument> MustParse(std::string_view text) {
  auto doc = ParseJson(text);
  REQUIRE_MESSAGE(doc.ok(), doc.status().ToString());
  return std::move(doc).value();
}

JsonObject MustObject(const JsonDocument& doc) {
  auto object = JsonObject::From(doc);
  REQUIRE(object.ok());
  return *object;
}

TEST_CASE("required and optional fields: present, absent, and absent-while-required") {
  auto doc = MustParse(R"({"name": "kefu", "on": true, "n": 5})");
  JsonObject o = MustObject(*doc);
  CHECK(o.Has("name"));
  CHECK_FALSE(o.Has("missing"));

  std::string s = "untouched";
  CHECK(o.GetString("name", Presence::kRequired, &s).ok());
  CHECK(s == "kefu");

  s = "untouched";
  CHECK(o.GetString("missing", Presence::kOptional, &s).ok());
  CHECK(s == "untouched");
  bool b = false;
  CHECK(o.GetBool("missing", Presence::kOptional, &b).ok());
  int64_t i = -1;
  CHECK(o.GetInt("missing", Presence::kOptional, 0, 10, &i).ok());
  CHECK(i == -1);
  double d = -1;
  CHECK(o.GetDouble("missing", Presence::kOptional, 0, 10, &d).ok());
  CHECK(d == -1);
  const rapidjson::Value* v = &*doc;
  CHECK(o.GetArray("missing", Presence::kOptional, &v).ok());
  CHECK(v == nullptr);

  const Status missing = o.GetString("missing", Presence::kRequired, &s);
  CHECK(missing.code() == Status::Code::kInvalidArgument);
  CHECK(missing.message() == "field 'missing': is required");
  CHECK(o.GetBool("gone", Presence::kRequired, &b).message() == "field 'gone': is required");
  CHECK(o.GetInt("gone", Presence::kRequired, 0, 1, &i).message() == "field 'gone': is required");

  CHECK(o.GetBool("on", Presence::kRequired, &b).ok());
  CHECK(b);
  CHECK(o.GetInt("n", Presence::kRequired, 0, 10, &i).ok());
  CHECK(i == 5);
}

TEST_CASE("a field of the wrong type is refused with an error naming the field") {
  auto doc = MustParse(R"({"s": "text", "n": 12, "b": false, "a": [1], "o": {}})");
  JsonObject o = MustObject(*doc);
  std::string s;
  bool b;
  int64_t i;
  double d;
  std::vector<std::string> list;
  const rapidjson::Value* v;

  Status st = o.GetString("a", Presence::kRequired, &s);
  CHECK(st.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(st.message(), "field 'a'"));
  CHECK(Contains(o.GetBool("s", Presence::kRequired, &b).message(), "field 's': must be true or false"));
  CHECK(Contains(o.GetInt("b", Presence::kRequired, 0, 100, &i).message(), "field 'b': must be an integer"));
  CHECK(Contains(o.GetDouble("o", Presence::kRequired, 0, 100, &d).message(), "field 'o': must be a number"));
  CHECK(Contains(o.GetStringArray("s", Presence::kRequired, 10, 10, &list).message(), "field 's'"));
  CHECK(Contains(o.GetArray("o", Presence::kRequired, &v).message(), "field 'o': must be an array"));
  CHECK(Contains(o.GetObject("a", Presence::kRequired, &v).message(), "field 'a': must be an object"));
  // An item of the wrong type in a string array names the item.
  CHECK(Contains(o.GetStringArray("a", Presence::kRequired, 10, 10, &list).message(), "field 'a' item 1: must be a string"));
}

TEST_CASE("JsonObject::From refuses values that are not objects") {
  auto doc = MustParse("[1, 2]");
  CHECK_FALSE(JsonObject::From(*doc).ok());
  CHECK(JsonObject::From(*doc).status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("an unknown field is rejected and named") {
  auto doc = MustParse(R"({"id": "x", "answr": "typo"})");
  JsonObject o = MustObject(*doc);
  CHECK(o.RejectUnknown({"id", "answr"}).ok());
  const Status st = o.RejectUnknown({"id", "answer"});
  CHECK(st.code() == Status::Code::kInvalidArgument);
  CHECK(st.message() == "field 'answr': unknown field");
}

TEST_CASE("string checks: empty, blank, length in code points, items and item count") {
  auto doc = MustParse(R"({"e": "", "blank": " \t\n", "cn": "你好世界", "list": ["a", "bb", "ccc"], "holes": ["a", ""]})");
  JsonObject o = MustObject(*doc);
  std::string s;
  CHECK(o.GetString("e", Presence::kRequired, &s).message() == "field 'e': must not be empty");
  CHECK(o.GetString("blank", Presence::kRequired, &s).message() == "field 'blank': must not be empty");
  CHECK(o.GetString("e", Presence::kRequired, &s, 100, /*allow_empty=*/true).ok());
  CHECK(s.empty());
  // Four code points (twelve bytes): the limit counts characters, not bytes.
  CHECK(o.GetString("cn", Presence::kRequired, &s, 4).ok());
  CHECK(s == "你好世界");
  CHECK(Contains(o.GetString("cn", Presence::kRequired, &s, 3).message(), "field 'cn': longer than 3 characters"));

  std::vector<std::string> list;
  CHECK(o.GetStringArray("list", Presence::kRequired, 3, 3, &list).ok());
  CHECK(list == std::vector<std::string>{"a", "bb", "ccc"});
  CHECK(Contains(o.GetStringArray("list", Presence::kRequired, 2, 3, &list).message(), "has more than 2 items"));
  CHECK(Contains(o.GetStringArray("list", Presence::kRequired, 3, 2, &list).message(), "field 'list' item 3: longer than 2"));
  CHECK(Contains(o.GetStringArray("holes", Presence::kRequired, 3, 3, &list).message(), "field 'holes' item 2: must not be empty"));
}

TEST_CASE("integers are read with from_chars and checked against their range") {
  auto doc = MustParse(
      R"({"small": 42, "neg": -7, "frac": 1.5, "exp": 1e3, "big": 99999999999999999999, "top": 9223372036854775807})");
  JsonObject o = MustObject(*doc);
  int64_t i = 0;
  CHECK(o.GetInt("small", Presence::kRequired, 0, 100, &i).ok());
  CHECK(i == 42);
  CHECK(o.GetInt("neg", Presence::kRequired, -10, 10, &i).ok());
  CHECK(i == -7);
  CHECK(o.GetInt("top", Presence::kRequired, INT64_MIN, INT64_MAX, &i).ok());
  CHECK(i == INT64_MAX);

  i = 123;
  const Status out_of_range = o.GetInt("small", Presence::kRequired, 0, 41, &i);
  CHECK(out_of_range.message() == "field 'small': must be an integer from 0 to 41");
  CHECK(i == 123);  // untouched on error
  CHECK_FALSE(o.GetInt("neg", Presence::kRequired, 0, 100, &i).ok());
  CHECK_FALSE(o.GetInt("frac", Presence::kRequired, 0, 100, &i).ok());
  CHECK_FALSE(o.GetInt("exp", Presence::kRequired, 0, 100000, &i).ok());
  CHECK(Contains(o.GetInt("big", Presence::kRequired, INT64_MIN, INT64_MAX, &i).message(), "field 'big'"));
}

TEST_CASE("doubles are finite and in range") {
  auto doc = MustParse(R"({"t": 0.35, "neg": -2.5e-1, "huge": 1e300, "int": 3})");
  JsonObject o = MustObject(*doc);
  double d = 0;
  CHECK(o.GetDouble("t", Presence::kRequired, 0, 1, &d).ok());
  CHECK(d == 0.35);
  CHECK(o.GetDouble("neg", Presence::kRequired, -1, 1, &d).ok());
  CHECK(d == -0.25);
  CHECK(o.GetDouble("int", Presence::kRequired, 0, 10, &d).ok());
  CHECK(d == 3.0);
  CHECK(Contains(o.GetDouble("t", Presence::kRequired, 0.5, 1, &d).message(), "field 't': must be a number"));
  CHECK_FALSE(o.GetDouble("huge", Presence::kRequired, -1e299, 1e299, &d).ok());
  // RapidJSON refuses a decimal exponent beyond double range even for numbers kept as text:
  // a clean syntax error, not a crash.
  auto too_big = ParseJson(R"({"x": 1e400})");
  REQUIRE_FALSE(too_big.ok());
  CHECK(Contains(too_big.status().message(), "invalid JSON at column"));
}

TEST_CASE("numbers are not strings and strings are not numbers") {
  auto doc = MustParse(R"({"num": 42, "str": "42", "dstr": "0.5", "marked": "\u000142"})");
  JsonObject o = MustObject(*doc);
  std::string s;
  int64_t i = 0;
  double d = 0;
  CHECK(IsJsonNumber((*doc)["num"]));
  CHECK_FALSE(IsJsonNumber((*doc)["str"]));
  CHECK(o.GetString("num", Presence::kRequired, &s).message() == "field 'num': must be a string");
  CHECK(Contains(o.GetInt("str", Presence::kRequired, 0, 100, &i).message(), "field 'str': must be an integer"));
  CHECK(Contains(o.GetDouble("dstr", Presence::kRequired, 0, 1, &d).message(), "field 'dstr': must be a number"));
  // A string whose first character is U+0001 (the internal number marker) is still a string.
  CHECK_FALSE(IsJsonNumber((*doc)["marked"]));
  CHECK_FALSE(o.GetInt("marked", Presence::kRequired, 0, 100, &i).ok());
  CHECK(i == 0);
  CHECK_FALSE(o.GetDouble("marked", Presence::kRequired, 0, 100, &d).ok());
  CHECK(o.GetString("marked", Presence::kRequired, &s).ok());
  CHECK(s == "\x01" "42");
}

TEST_CASE("invalid UTF-8 inside a string value is reported with its byte offset") {
  const std::string text = "{\"q\": \"ab\xff\"}";
  auto doc = MustParse(text);
  JsonObject o = MustObject(*doc);
  std::string s;
  const Status st = o.GetString("q", Presence::kRequired, &s);
  CHECK(st.message() == "field 'q': invalid UTF-8 at byte 2");
  // A lone surrogate half is just as invalid.
  auto doc2 = MustParse("{\"q\": \"\xed\xa0\x80\"}");
  CHECK(Contains(MustObject(*doc2).GetString("q", Presence::kRequired, &s).message(), "invalid UTF-8"));
}

TEST_CASE("syntax errors name line and column, counted in characters") {
  auto r = ParseJson(R"({"a": tru})");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Status::Code::kInvalidArgument);
  CHECK(Contains(r.status().message(), "invalid JSON at column 10: "));
  auto lines = ParseJson("{\n  \"a\": 1,\n  \"问题\": x\n}");
  REQUIRE_FALSE(lines.ok());
  CHECK(Contains(lines.status().message(), "invalid JSON at line 3, column 9: "));
  CHECK_FALSE(ParseJson("").ok());
  CHECK_FALSE(ParseJson("   ").ok());
}

TEST_CASE("trailing garbage after the document is rejected, trailing whitespace is not") {
  CHECK(ParseJson("{\"a\": 1} \n\t\r").ok());
  auto r = ParseJson(R"({"a": 1} x)");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "invalid JSON at column 10: unexpected text after the document");
  CHECK_FALSE(ParseJson("{} {}").ok());
  CHECK_FALSE(ParseJson("[1]]").ok());
}

TEST_CASE("an embedded NUL byte is rejected, inside a string or after the document") {
  const std::string in_string("{\"a\": \"x\0y\"}", 12);
  CHECK_FALSE(ParseJson(in_string).ok());
  const std::string after("{\"a\": 1}\0{}", 11);
  auto r = ParseJson(after);
  REQUIRE_FALSE(r.ok());
  CHECK(Contains(r.status().message(), "column 9"));
  const std::string between("{\"a\":\0 1}", 9);
  CHECK_FALSE(ParseJson(between).ok());
}

TEST_CASE("hazard: 200,000 nested arrays give an error, not a crash") {
  const std::string open(200000, '[');
  auto r = ParseJson(open);
  REQUIRE_FALSE(r.ok());
  CHECK(Contains(r.status().message(), "nested deeper than 32"));

  const std::string closed = open + std::string(200000, ']');
  CHECK_FALSE(ParseJson(closed).ok());
  const std::string objects = [] {
    std::string s;
    for (int i = 0; i < 100000; ++i) s += "{\"a\":";
    return s;
  }();
  CHECK_FALSE(ParseJson(objects).ok());
}

TEST_CASE("the nesting limit is exact and brackets inside strings do not count") {
  const std::string depth32 = std::string(32, '[') + std::string(32, ']');
  const std::string depth33 = std::string(33, '[') + std::string(33, ']');
  CHECK(ParseJson(depth32).ok());
  CHECK_FALSE(ParseJson(depth33).ok());
  CHECK(ParseJson(depth33, JsonLimits{33}).ok());
  CHECK(ParseJson("{\"s\": \"" + std::string(1000, '[') + "\\\"[[\"}").ok());
}

TEST_CASE("hazard: the iterative parser survives 200,000 levels when the limit allows them") {
  const std::string closed = std::string(200000, '[') + std::string(200000, ']');
  auto r = ParseJson(closed, JsonLimits{300000});
  CHECK(r.ok());
}

TEST_CASE("hazard: the 27-byte number parses (kept as text) and converts cleanly") {
  const char* kNumber = "[0.00000000001e-2147483639]";
  REQUIRE(std::string_view(kNumber).size() == 27);
  auto r = ParseJson(kNumber);
  REQUIRE(r.ok());
  REQUIRE((**r).IsArray());
  CHECK(IsJsonNumber((**r)[0]));

  auto doc = MustParse(R"({"x": 0.00000000001e-2147483639, "y": 1e-2147483648, "z": -0.1e-99999999999})");
  JsonObject o = MustObject(*doc);
  for (const char* name : {"x", "y", "z"}) {
    CAPTURE(std::string(name));
    double d = 12345;
    const Status st = o.GetDouble(name, Presence::kRequired, -1e300, 1e300, &d);
    if (st.ok()) {
      CHECK(std::isfinite(d));
    } else {
      CHECK(Contains(st.message(), std::string("field '") + name + "'"));
      CHECK(d == 12345);
    }
    int64_t i = 0;
    CHECK_FALSE(o.GetInt(name, Presence::kRequired, INT64_MIN, INT64_MAX, &i).ok());
  }
}

TEST_CASE("AppendJsonString escapes quotes, backslashes and control characters") {
  std::string out = "prefix:";
  AppendJsonString("a\"b\\c\nd\re\tf\x01g\x1f", &out);
  CHECK(out == "prefix:\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001f\"");

  std::string plain;
  AppendJsonString("年假 é /", &plain);
  CHECK(plain == "\"年假 é /\"");

  std::string empty;
  AppendJsonString("", &empty);
  CHECK(empty == "\"\"");
}

TEST_CASE("AppendJsonString output parses back to the same string") {
  std::string original;
  for (int c = 1; c < 128; ++c) original.push_back(static_cast<char>(c));
  original += "年假，怎么请？";
  std::string json = "{\"v\": ";
  AppendJsonString(original, &json);
  json += "}";
  auto doc = MustParse(json);
  std::string back;
  CHECK(MustObject(*doc).GetString("v", Presence::kRequired, &back, 1000).ok());
  CHECK(back == original);
}

TEST_CASE("CheckJsonString checks a lone value and names it") {
  auto doc = MustParse(R"([7, "ok", ""])");
  std::string s;
  CHECK(CheckJsonString((*doc)[0], "questions[0]", 10, false, &s).message() == "field 'questions[0]': must be a string");
  CHECK(CheckJsonString((*doc)[1], "questions[1]", 10, false, &s).ok());
  CHECK(s == "ok");
  CHECK_FALSE(CheckJsonString((*doc)[2], "questions[2]", 10, false, &s).ok());
  CHECK(CheckJsonString((*doc)[2], "questions[2]", 10, true, &s).ok());
}

TEST_CASE("the line of a path in a JSON text: members by name, items by index, the deepest found") {
  const std::string text =
      "{\n"
      "  \"desks\": [\n"
      "    {\"id\": \"hr\"},\n"
      "    {\n"
      "      \"id\": \"shop\",\n"
      "      \"settings\": {\"max_queue\": 0}\n"
      "    }\n"
      "  ]\n"
      "}\n";
  using S = JsonPathStep;
  CHECK(JsonLineOf(text, {S::Member("desks")}) == 2);
  CHECK(JsonLineOf(text, {S::Member("desks"), S::Item(0)}) == 3);
  CHECK(JsonLineOf(text, {S::Member("desks"), S::Item(1), S::Member("id")}) == 5);
  CHECK(JsonLineOf(text, {S::Member("desks"), S::Item(1), S::Member("settings"), S::Member("max_queue")}) == 6);
  // A member that is missing: the line of the deepest step that exists.
  CHECK(JsonLineOf(text, {S::Member("desks"), S::Item(1), S::Member("agents")}) == 4);
  CHECK(JsonLineOf(text, {S::Member("nothing")}) == 0);
  CHECK(JsonLineOf("{\"a\": [1, 2,", {S::Member("a"), S::Item(1)}) == 1);
  CHECK(PositionAt("ab\n中文x", 9).line == 2);
  CHECK(PositionAt("ab\n中文x", 9).column == 3);
}

TEST_CASE("JsonMergePatch follows RFC 7396: members replace, objects merge, null removes; numbers kept as written") {
  auto merged = JsonMergePatch(R"({"a":"b","c":{"d":"e","f":"g"},"n":1.50,"keep":[1,2]})",
                               R"({"a":"z","c":{"f":null,"h":10},"new":{"x":true},"keep":null})");
  REQUIRE(merged.ok());
  CHECK(*merged == R"({"a":"z","c":{"d":"e","h":10},"n":1.50,"new":{"x":true}})");
  CHECK(*JsonMergePatch(R"({"a":{"b":1}})", R"({"a":[1]})") == R"({"a":[1]})");  // arrays replace whole
  CHECK(*JsonMergePatch(R"({"s":"\u0001x"})", "{}") == R"({"s":"\u0001x"})");     // a string, not a number
  CHECK(!JsonMergePatch("[1]", "{}").ok());
  CHECK(!JsonMergePatch("{}", "[1]").ok());
  CHECK(!JsonMergePatch("{}", "{").ok());
}

}  // namespace
}  // namespace kefu
