// base/json: ParseJson and every JsonObject accessor on every member, nested objects included.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/utf8.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using kefu::JsonObject;
using kefu::Presence;

void Walk(const rapidjson::Value& v, int depth) {
  if (depth > 40) kefu::fuzz::Expect(false);  // the parser's limit is 32
  if (v.IsArray()) {
    for (const auto& item : v.GetArray()) {
      std::string s;
      if (item.IsString()) (void)kefu::CheckJsonString(item, "item", 100, false, &s);
      Walk(item, depth + 1);
    }
    return;
  }
  auto object = JsonObject::From(v);
  if (!object.ok()) return;
  std::vector<std::string> names;
  for (const auto& m : v.GetObject()) names.emplace_back(m.name.GetString(), m.name.GetStringLength());
  for (const std::string& name : names) {
    std::string s;
    if (object->GetString(name, Presence::kRequired, &s, 50, true).ok()) kefu::fuzz::Expect(kefu::IsValidUtf8(s));
    bool b;
    (void)object->GetBool(name, Presence::kRequired, &b);
    int64_t i;
    if (object->GetInt(name, Presence::kRequired, -1000, 1000, &i).ok()) kefu::fuzz::Expect(i >= -1000 && i <= 1000);
    (void)object->GetInt(name, Presence::kOptional, INT64_MIN, INT64_MAX, &i);
    double d;
    if (object->GetDouble(name, Presence::kRequired, -1e9, 1e9, &d).ok()) kefu::fuzz::Expect(d >= -1e9 && d <= 1e9);
    std::vector<std::string> items;
    (void)object->GetStringArray(name, Presence::kRequired, 5, 20, &items);
    const rapidjson::Value* raw = nullptr;
    (void)object->GetArray(name, Presence::kRequired, &raw);
    (void)object->GetObject(name, Presence::kRequired, &raw);
    kefu::fuzz::Expect(object->Has(name));
  }
  (void)object->RejectUnknown({"text", "id"});
  for (const auto& m : v.GetObject()) Walk(m.value, depth + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = kefu::ParseJson(text);
  if (!doc.ok()) return 0;
  Walk(**doc, 0);
  return 0;
}
