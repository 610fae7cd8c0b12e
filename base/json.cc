#include "base/json.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <charconv>
#include <cmath>

#include "base/json_position.h"
#include "base/utf8.h"

namespace kefu {
namespace {

// Numbers arrive as raw text; they are stored as strings that begin with this marker so that
// IsJsonNumber can tell them apart from JSON strings. A JSON string can still start with U+0001
// (written "\u0001"): such a string is stored with the marker doubled, which no number has, and
// CheckJsonString removes the extra marker.
constexpr char kNumberMarker = '\x01';

// Forwards SAX events to a Document, keeping numbers as marked text.
struct NumberAsTextHandler {
  JsonDocument& doc;
  bool Null() { return doc.Null(); }
  bool Bool(bool b) { return doc.Bool(b); }
  bool Int(int i) { return doc.Int(i); }
  bool Uint(unsigned i) { return doc.Uint(i); }
  bool Int64(int64_t i) { return doc.Int64(i); }
  bool Uint64(uint64_t i) { return doc.Uint64(i); }
  bool Double(double d) { return doc.Double(d); }
  bool RawNumber(const char* str, rapidjson::SizeType len, bool) {
    std::string marked(1, kNumberMarker);
    marked.append(str, len);
    return doc.String(marked.data(), static_cast<rapidjson::SizeType>(marked.size()), true);
  }
  bool String(const char* str, rapidjson::SizeType len, bool copy) {
    if (len > 0 && str[0] == kNumberMarker) {
      std::string escaped(1, kNumberMarker);
      escaped.append(str, len);
      return doc.String(escaped.data(), static_cast<rapidjson::SizeType>(escaped.size()), true);
    }
    return doc.String(str, len, copy);
  }
  bool StartObject() { return doc.StartObject(); }
  bool Key(const char* str, rapidjson::SizeType len, bool copy) { return doc.Key(str, len, copy); }
  bool EndObject(rapidjson::SizeType n) { return doc.EndObject(n); }
  bool StartArray() { return doc.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return doc.EndArray(n); }
};

// Deepest nesting of [ and { outside strings; stops counting once above `limit`.
int NestingDepth(std::string_view text, int limit) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_depth) max_depth = depth;
      if (max_depth > limit) return max_depth;
    } else if (c == ']' || c == '}') --depth;
  }
  return max_depth;
}

std::string FieldError(std::string_view name, std::string_view problem) {
  std::string msg = "field '";
  msg += name;
  msg += "': ";
  msg += problem;
  return msg;
}

std::string_view NumberText(const rapidjson::Value& v) {
  return std::string_view(v.GetString() + 1, v.GetStringLength() - 1);
}

// "line 3, column 7", or "column 7" for a text of one line (a JSON Lines row, an HTTP body).
std::string WhereInText(std::string_view text, size_t offset) {
  const TextPosition p = PositionAt(text, offset);
  std::string where = text.find('\n') == std::string_view::npos ? "" : "line " + std::to_string(p.line) + ", ";
  return where + "column " + std::to_string(p.column);
}

}  // namespace

Result<std::unique_ptr<JsonDocument>> ParseJson(std::string_view text, const JsonLimits& limits) {
  if (NestingDepth(text, limits.max_depth) > limits.max_depth) {
    return Status::InvalidArgument("JSON nested deeper than " + std::to_string(limits.max_depth) +
                                   " levels");
  }
  auto doc = std::make_unique<JsonDocument>();
  constexpr unsigned kFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag |
                              rapidjson::kParseStopWhenDoneFlag;
  rapidjson::ParseResult result;
  size_t end = 0;
  // Populate runs the generator with the document as the SAX target, then moves the single
  // value the generator produced into the root.
  auto generator = [&](JsonDocument& d) {
    NumberAsTextHandler handler{d};
    rapidjson::Reader reader;
    rapidjson::MemoryStream stream(text.data(), text.size());
    result = reader.Parse<kFlags>(stream, handler);
    end = stream.Tell();
    return !result.IsError();
  };
  doc->Populate(generator);
  if (result.IsError()) {
    return Status::InvalidArgument("invalid JSON at " + WhereInText(text, result.Offset()) + ": " +
                                   rapidjson::GetParseError_En(result.Code()));
  }
  // kParseStopWhenDoneFlag stops after the root value; anything but whitespace after it is an error
  // (this also catches an embedded NUL, where the memory stream reports end of input).
  for (size_t i = end; i < text.size(); ++i) {
    const char c = text[i];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      return Status::InvalidArgument("invalid JSON at " + WhereInText(text, i) + ": unexpected text after the document");
    }
  }
  return doc;
}

bool IsJsonNumber(const rapidjson::Value& v) {
  return v.IsString() && v.GetStringLength() > 1 && v.GetString()[0] == kNumberMarker &&
         v.GetString()[1] != kNumberMarker;
}

bool JsonInt(const rapidjson::Value& v, int64_t* out) {
  if (!IsJsonNumber(v)) return false;
  const std::string_view text = NumberText(v);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

Result<JsonObject> JsonObject::From(const rapidjson::Value& v) {
  if (!v.IsObject()) return Status::InvalidArgument("expected a JSON object");
  return JsonObject(&v);
}

const rapidjson::Value* JsonObject::Find(std::string_view name) const {
  auto it = v_->FindMember(rapidjson::Value(rapidjson::StringRef(name.data(), name.size())));
  return it == v_->MemberEnd() ? nullptr : &it->value;
}

bool JsonObject::Has(std::string_view name) const { return Find(name) != nullptr; }

Status CheckJsonString(const rapidjson::Value& v, std::string_view what, size_t max_chars,
                       bool allow_empty, std::string* out) {
  if (!v.IsString() || IsJsonNumber(v)) return Status::InvalidArgument(FieldError(what, "must be a string"));
  std::string_view s(v.GetString(), v.GetStringLength());
  if (!s.empty() && s[0] == kNumberMarker) s.remove_prefix(1);  // a string that starts with U+0001
  size_t bad = FindInvalidUtf8(s);
  if (bad != std::string_view::npos) {
    return Status::InvalidArgument(FieldError(what, "invalid UTF-8 at byte " + std::to_string(bad)));
  }
  if (!allow_empty && s.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Status::InvalidArgument(FieldError(what, "must not be empty"));
  }
  if (CountCodePoints(s) > max_chars) {
    return Status::InvalidArgument(FieldError(what, "longer than " + std::to_string(max_chars) + " characters"));
  }
  out->assign(s);
  return Status::OK();
}

Status JsonObject::GetString(std::string_view name, Presence presence, std::string* out,
                             size_t max_chars, bool allow_empty) const {
  const rapidjson::Value* v = Find(name);
  if (v == nullptr) {
    return presence == Presence::kRequired ? Status::InvalidArgument(FieldError(name, "is required"))
                                           : Status::OK();
  }
  return CheckJsonString(*v, name, max_chars, allow_empty, out);
}

Status JsonObject::GetBool(std::string_view name, Presence presence, bool* out) const {
  const rapidjson::Value* v = Find(name);
  if (v == nullptr) {
    return presence == Presence::kRequired ? Status::InvalidArgument(FieldError(name, "is required"))
                                           : Status::OK();
  }
  if (!v->IsBool()) return Status::InvalidArgument(FieldError(name, "must be true or false"));
  *out = v->GetBool();
  return Status::OK();
}

Status JsonObject::GetInt(std::string_view name, Presence presence, int64_t min, int64_t max,
                          int64_t* out) const {
  const rapidjson::Value* v = Find(name);
  if (v == nullptr) {
    return presence == Presence::kRequired ? Status::InvalidArgument(FieldError(name, "is required"))
                                           : Status::OK();
  }
  const std::string range = " from " + std::to_string(min) + " to " + std::to_string(max);
  if (!IsJsonNumber(*v)) return Status::InvalidArgument(FieldError(name, "must be an integer" + range));
  std::string_view text = NumberText(*v);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return Status::InvalidArgument(FieldError(name, "must be an integer" + range));
  }
  *out = value;
  return Status::OK();
}

Status JsonObject::GetDouble(std::string_view name, Presence presence, double min, double max,
                             double* out) const {
  const rapidjson::Value* v = Find(name);
  if (v == nullptr) {
    return presence == Presence::kRequired ? Status::InvalidArgument(FieldError(name, "is required"))
                                           : Status::OK();
  }
  const std::string range = " from " + std::to_string(min) + " to " + std::to_string(max);
  if (!IsJsonNumber(*v)) return Status::InvalidArgument(FieldError(name, "must be a number" + range));
  std::string_view text = NumberText(*v);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < min ||
      value > max) {
    return Status::InvalidArgument(FieldError(name, "must be a number" + range));
  }
  *out = value;
  return Status::OK();
}

Status JsonObject::GetStringArray(std::string_view name, Presence presence, size_t max_items,
                                  size_t max_chars, std::vector<std::string>* out) const {
  const rapidjson::Value* v = Find(name);
  if (v == nullptr) {
    return presence == Presence::kRequired ? Status::InvalidArgument(FieldError(name, "is required"))
                                           : Status::OK();
  }
  if (!v->IsArray()) return Status::InvalidArgument(FieldError(name, "must be an array of strings"));
  if (v->Size() > max_items) {
    return Status::InvalidArgument(FieldError(name, "has more than " + std::to_string(max_items) + " items"));
  }
  std::vector<std::string> items;
  items.reserve(v->Size());
  for (rapidjson::SizeType i = 0; i < v->Size(); ++i) {
    std::string item;
    Status s = CheckJsonString((*v)[i], name, max_chars, false, &item);
    if (!s.ok()) {
      // "field 'questions': must not be empty" -> "field 'questions' item 3: must not be empty"
      const std::string prefix = FieldError(name, "");
      return Status::InvalidArgument("field '" + std::string(name) + "' item " + std::to_string(i + 1) + ": " +
                                     s.message().substr(prefix.size()));
    }
    items.push_back(std::move(item));
  }
  *out = std::move(items);
  return Status::OK();
}

Status JsonObject::GetArray(std::string_view name, Presence presence, const rapidjson::Value** out) const {
  const rapidjson::Value* v = Find(name);
  if (v == nullptr) {
    *out = nullptr;
    return presence == Presence::kRequired ? Status::InvalidArgument(FieldError(name, "is required"))
                                           : Status::OK();
  }
  if (!v->IsArray()) return Status::InvalidArgument(FieldError(name, "must be an array"));
  *out = v;
  return Status::OK();
}

Status JsonObject::GetObject(std::string_view name, Presence presence, const rapidjson::Value** out) const {
  const rapidjson::Value* v = Find(name);
  if (v == nullptr) {
    *out = nullptr;
    return presence == Presence::kRequired ? Status::InvalidArgument(FieldError(name, "is required"))
                                           : Status::OK();
  }
  if (!v->IsObject()) return Status::InvalidArgument(FieldError(name, "must be an object"));
  *out = v;
  return Status::OK();
}

Status JsonObject::RejectUnknown(std::initializer_list<std::string_view> known) const {
  return RejectUnknown(std::vector<std::string_view>(known));
}

Status JsonObject::RejectUnknown(const std::vector<std::string_view>& known) const {
  for (auto it = v_->MemberBegin(); it != v_->MemberEnd(); ++it) {
    std::string_view member(it->name.GetString(), it->name.GetStringLength());
    bool found = false;
    for (std::string_view k : known) found = found || k == member;
    if (!found) {
      std::string shown = IsValidUtf8(member) ? std::string(member) : SanitizeUtf8(member);
      return Status::InvalidArgument(FieldError(shown, "unknown field"));
    }
  }
  return Status::OK();
}

void AppendJsonString(std::string_view s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  // Characters that need no escape (nearly all of them) are copied a run at a time: one append
  // per run instead of one push_back per byte, about twice as fast (profiled: the largest single
  // JSON cost of appending a message; docs/performance.md).
  size_t run = 0;  // start of the pending run
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        *out += "\\u00";
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_items_.empty()) {
    if (has_items_.back()) out_.push_back(',');
    has_items_.back() = true;
  }
}

JsonWriter& JsonWriter::BeginObject() {
  BeforeValue();
  out_.push_back('{');
  has_items_.push_back(false);
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  out_.push_back('}');
  has_items_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  BeforeValue();
  out_.push_back('[');
  has_items_.push_back(false);
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  out_.push_back(']');
  has_items_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  BeforeValue();
  AppendJsonString(key, &out_);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  BeforeValue();
  AppendJsonString(value, &out_);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  BeforeValue();
  out_ += std::to_string(value);
  return *this;
}

JsonWriter& JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  out_ += std::to_string(value);
  return *this;
}

JsonWriter& JsonWriter::Double(double value) {
  BeforeValue();
  if (!std::isfinite(value)) {
    out_ += "null";
    return *this;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out_.append(buf, ec == std::errc() ? end : buf);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view json) {
  BeforeValue();
  out_ += json;
  return *this;
}

// ---- Writing parsed documents back ------------------------------------------------------------------

static void AppendJsonText(const rapidjson::Value& v, std::string* out) {
  if (IsJsonNumber(v)) {
    *out += NumberText(v);
  } else if (v.IsString()) {
    std::string_view s(v.GetString(), v.GetStringLength());
    if (s.size() > 1 && s[0] == kNumberMarker && s[1] == kNumberMarker) s.remove_prefix(1);  // see kNumberMarker
    AppendJsonString(s, out);
  } else if (v.IsObject()) {
    *out += '{';
    bool first = true;
    for (const auto& m : v.GetObject()) {
      if (!first) *out += ',';
      first = false;
      AppendJsonString(std::string_view(m.name.GetString(), m.name.GetStringLength()), out);
      *out += ':';
      AppendJsonText(m.value, out);
    }
    *out += '}';
  } else if (v.IsArray()) {
    *out += '[';
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      if (i > 0) *out += ',';
      AppendJsonText(v[i], out);
    }
    *out += ']';
  } else if (v.IsBool()) {
    *out += v.GetBool() ? "true" : "false";
  } else {
    *out += "null";
  }
}

std::string JsonText(const rapidjson::Value& v) {
  std::string out;
  AppendJsonText(v, &out);
  return out;
}

// RFC 7396's MergePatch(target, patch) for an object `patch`, in place.
static void MergeInto(rapidjson::Value& target, const rapidjson::Value& patch, rapidjson::Document::AllocatorType& a) {
  if (!target.IsObject()) target.SetObject();
  for (const auto& m : patch.GetObject()) {
    auto it = target.FindMember(m.name);
    if (m.value.IsNull()) {
      if (it != target.MemberEnd()) target.RemoveMember(it);
    } else if (m.value.IsObject()) {
      if (it == target.MemberEnd()) {
        target.AddMember(rapidjson::Value(m.name, a), rapidjson::Value(rapidjson::kObjectType), a);
        it = target.FindMember(m.name);
      }
      MergeInto(it->value, m.value, a);
    } else if (it != target.MemberEnd()) {
      it->value.CopyFrom(m.value, a);
    } else {
      target.AddMember(rapidjson::Value(m.name, a), rapidjson::Value(m.value, a), a);
    }
  }
}

Result<std::string> JsonMergePatch(std::string_view target, std::string_view patch) {
  auto t = ParseJson(target);
  if (!t.ok()) return t.status();
  auto p = ParseJson(patch);
  if (!p.ok()) return p.status();
  if (!(*t)->IsObject()) return Status::InvalidArgument("the document to patch must be an object");
  if (!(*p)->IsObject()) return Status::InvalidArgument("a merge patch must be an object");
  MergeInto(**t, **p, (*t)->GetAllocator());
  return JsonText(**t);
}

}  // namespace kefu
