// Where things are in a JSON text, for messages people act on: "kefu.json:12" rather than a byte
// offset or a path. RapidJSON's values carry no positions, so a path is found again in the text.
#ifndef KEFU_BASE_JSON_POSITION_H_
#define KEFU_BASE_JSON_POSITION_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kefu {

struct TextPosition {
  size_t line = 1;    // 1-based
  size_t column = 1;  // 1-based, in code points
};

// The line and column of byte `offset` of `text` (clamped to its end).
TextPosition PositionAt(std::string_view text, size_t offset);

// One step of a path into a JSON document: a member name, or an array index (0-based).
struct JsonPathStep {
  std::string key;
  size_t index = 0;
  bool is_index = false;

  static JsonPathStep Member(std::string_view name) { return {std::string(name), 0, false}; }
  static JsonPathStep Item(size_t i) { return {std::string(), i, true}; }
};

// The 1-based line of the value at `path` in `text` (for an object member, the line of its name).
// When the path does not exist entirely, the line of its deepest existing step; 0 when not even
// the first step exists or `text` is not valid JSON up to it. Reads the text once, iteratively
// (no recursion), numbers kept as text (the hazards of RapidJSON 1.1.0 do not apply).
size_t JsonLineOf(std::string_view text, const std::vector<JsonPathStep>& path);

}  // namespace kefu

#endif  // KEFU_BASE_JSON_POSITION_H_
