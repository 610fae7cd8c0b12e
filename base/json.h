// One checked way into JSON. Every document kefu reads from outside (KB files, labelled files,
// HTTP bodies) is parsed by ParseJson and its fields are read through JsonObject, which checks
// presence, type, range, length and UTF-8 and names the field in its error.
//
// Parsing guards against the measured hazards of RapidJSON 1.1.0: the iterative parser (no
// recursion), a nesting limit checked before parsing, and numbers kept as text and converted
// with std::from_chars (the 1.1.0 number parser asserts on some 27-byte inputs).
#ifndef KEFU_BASE_JSON_H_
#define KEFU_BASE_JSON_H_

#include <rapidjson/document.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kefu {

struct JsonLimits {
  // Maximum nesting of arrays and objects. Default 32; deeper input is refused before parsing.
  int max_depth = 32;
};

using JsonDocument = rapidjson::Document;

// Parses `text`. Returns InvalidArgument naming the line and column of a syntax error ("invalid
// JSON at line 3, column 7: ...", only the column for a text of one line), or the depth limit
// when it is exceeded.
Result<std::unique_ptr<JsonDocument>> ParseJson(std::string_view text, const JsonLimits& limits = {});

// True when `v` holds a JSON number (numbers are kept as text internally).
bool IsJsonNumber(const rapidjson::Value& v);
// The integer `v` holds; false when it is not a JSON number or not an integer in int64's range.
bool JsonInt(const rapidjson::Value& v, int64_t* out);

// Whether a field must be present.
enum class Presence { kRequired, kOptional };

// A read-only view of one JSON object with checked accessors. Each accessor leaves its output
// untouched when an optional field is absent, and returns InvalidArgument "field 'x': ..." when
// the field is present but wrong, or missing while required. Not thread-safe to share while
// the document changes; the document must outlive the view.
class JsonObject {
 public:
  // Returns InvalidArgument when `v` is not an object.
  static Result<JsonObject> From(const rapidjson::Value& v);

  bool Has(std::string_view name) const;

  // A string of at most `max_chars` code points, valid UTF-8; `allow_empty` false refuses "".
  Status GetString(std::string_view name, Presence presence, std::string* out,
                   size_t max_chars = 100000, bool allow_empty = false) const;
  Status GetBool(std::string_view name, Presence presence, bool* out) const;
  // An integer in [min, max].
  Status GetInt(std::string_view name, Presence presence, int64_t min, int64_t max,
                int64_t* out) const;
  // A finite number in [min, max].
  Status GetDouble(std::string_view name, Presence presence, double min, double max,
                   double* out) const;
  // An array of at most `max_items` strings, each checked as by GetString.
  Status GetStringArray(std::string_view name, Presence presence, size_t max_items,
                        size_t max_chars, std::vector<std::string>* out) const;
  // The raw array or object member, or nullptr when absent (Presence::kOptional).
  Status GetArray(std::string_view name, Presence presence, const rapidjson::Value** out) const;
  Status GetObject(std::string_view name, Presence presence, const rapidjson::Value** out) const;

  // Refuses any member whose name is not in `known`, naming it.
  Status RejectUnknown(std::initializer_list<std::string_view> known) const;
  Status RejectUnknown(const std::vector<std::string_view>& known) const;

 private:
  explicit JsonObject(const rapidjson::Value* v) : v_(v) {}
  const rapidjson::Value* Find(std::string_view name) const;

  const rapidjson::Value* v_;
};

// Checks one string value (not necessarily an object member): valid UTF-8, length, non-empty.
// `what` is the field's name; errors read "field '<what>': ...".
Status CheckJsonString(const rapidjson::Value& v, std::string_view what, size_t max_chars,
                       bool allow_empty, std::string* out);

// Appends `s` to `out` as a JSON string literal, quotes included.
void AppendJsonString(std::string_view s, std::string* out);

// `v` (parsed by ParseJson) as compact JSON text, numbers as they were written.
std::string JsonText(const rapidjson::Value& v);

// Applies the JSON Merge Patch `patch` (RFC 7396) to the object `target`: members of the patch
// replace the target's, objects merge recursively, null removes a member. Both must be JSON
// objects; InvalidArgument otherwise or for bad JSON.
Result<std::string> JsonMergePatch(std::string_view target, std::string_view patch);

// Builds compact JSON text. Commas and nesting are tracked; misuse (a value where a key is due)
// is a programmer error and is not checked.
class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Double(double value);  // non-finite values are written as null
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // Writes `json`, which must be one valid JSON value, as is.
  JsonWriter& Raw(std::string_view json);
  // Shorthands for Key(...) followed by the value.
  JsonWriter& Field(std::string_view key, std::string_view value) { return Key(key).String(value); }
  JsonWriter& Field(std::string_view key, const char* value) { return Key(key).String(value); }
  JsonWriter& Field(std::string_view key, int64_t value) { return Key(key).Int(value); }
  JsonWriter& Field(std::string_view key, int value) { return Key(key).Int(value); }
  JsonWriter& Field(std::string_view key, uint64_t value) { return Key(key).Uint(value); }
  JsonWriter& Field(std::string_view key, bool value) { return Key(key).Bool(value); }

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void BeforeValue();

  std::string out_;
  std::vector<bool> has_items_;  // per open container: whether it has an item yet
  bool after_key_ = false;
};

}  // namespace kefu

#endif  // KEFU_BASE_JSON_H_
