#include "base/json_position.h"

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>

#include "base/utf8.h"

namespace kefu {
namespace {

// Follows the SAX events of one parse, tracking the path of the current value, and remembers the
// line of the deepest value whose path is a prefix of the target.
class PathFinder {
 public:
  PathFinder(std::string_view text, const std::vector<JsonPathStep>& target, const rapidjson::MemoryStream* stream)
      : text_(text), target_(target), stream_(stream) {}

  size_t best_line() const { return best_line_; }

  bool Null() { return Value(); }
  bool Bool(bool) { return Value(); }
  bool Int(int) { return Value(); }
  bool Uint(unsigned) { return Value(); }
  bool Int64(int64_t) { return Value(); }
  bool Uint64(uint64_t) { return Value(); }
  bool Double(double) { return Value(); }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return Value(); }
  bool String(const char*, rapidjson::SizeType, bool) { return Value(); }
  bool StartObject() { return Open(false); }
  bool StartArray() { return Open(true); }
  bool EndObject(rapidjson::SizeType) { return Close(); }
  bool EndArray(rapidjson::SizeType) { return Close(); }
  bool Key(const char* str, rapidjson::SizeType len, bool) {
    Frame& f = frames_.back();
    f.key.assign(str, len);
    Visit();
    return !done_;
  }

 private:
  struct Frame {
    bool is_array = false;
    size_t next_index = 0;
    size_t index = 0;  // of the current item
    std::string key;   // of the current member
  };

  // A value starts: in an array it is the next item (a member's line is its key's).
  bool Value() {
    if (!frames_.empty() && frames_.back().is_array) {
      frames_.back().index = frames_.back().next_index++;
      Visit();
    }
    return !done_;
  }
  bool Open(bool is_array) {
    if (!Value()) return false;
    frames_.push_back(Frame{is_array, 0, 0, std::string()});
    return true;
  }
  bool Close() {
    frames_.pop_back();
    return !done_;
  }

  // The current location is frames_' keys and indexes; when it is a longer prefix of the target
  // than any seen, remember its line.
  void Visit() {
    const size_t depth = frames_.size();
    if (depth > target_.size() || depth <= best_depth_) return;
    for (size_t i = 0; i < depth; ++i) {
      const Frame& f = frames_[i];
      const JsonPathStep& step = target_[i];
      if (f.is_array != step.is_index) return;
      if (f.is_array ? f.index != step.index : f.key != step.key) return;
    }
    best_depth_ = depth;
    best_line_ = PositionAt(text_, stream_->Tell() == 0 ? 0 : stream_->Tell() - 1).line;
    done_ = depth == target_.size();
  }

  std::string_view text_;
  const std::vector<JsonPathStep>& target_;
  const rapidjson::MemoryStream* stream_;
  std::vector<Frame> frames_;
  size_t best_depth_ = 0;
  size_t best_line_ = 0;
  bool done_ = false;
};

}  // namespace

TextPosition PositionAt(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  TextPosition p;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++p.line;
      line_start = i + 1;
    }
  }
  p.column = CountCodePoints(text.substr(line_start, offset - line_start)) + 1;
  return p;
}

size_t JsonLineOf(std::string_view text, const std::vector<JsonPathStep>& path) {
  if (path.empty()) return 0;
  rapidjson::MemoryStream stream(text.data(), text.size());
  PathFinder finder(text, path, &stream);
  rapidjson::Reader reader;
  constexpr unsigned kFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag |
                              rapidjson::kParseStopWhenDoneFlag;
  reader.Parse<kFlags>(stream, finder);  // stops early once found; a syntax error keeps what was seen
  return finder.best_line();
}

}  // namespace kefu
