// docs/config.md cannot drift from the code: its tables name exactly the keys the config parser
// accepts and the flags of `kefu serve`, and the defaults and limits they state are tried on the
// parser and the flags.
#include <CLI/CLI.hpp>
#include <doctest/doctest.h>
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "base/file.h"
#include "base/json.h"
#include "engine/desk_config.h"
#include "tools/serve_command.h"

namespace kefu {
namespace {

struct DocRow {
  std::string name;  // the first cell without backticks: "desks[].settings.max_queue", "--listen"
  std::vector<std::string> cells;
};

std::string Unquote(std::string cell) {
  cell.erase(0, cell.find_first_not_of(' '));
  cell.erase(cell.find_last_not_of(' ') + 1);
  if (cell.size() >= 2 && cell.front() == '`' && cell.back() == '`') cell = cell.substr(1, cell.size() - 2);
  return cell;
}

// The rows of docs/config.md's tables whose first cell is code: config keys, and flags ("--x ...").
std::vector<DocRow> DocRows() {
  auto doc = ReadFileToString(std::string(KEFU_SOURCE_DIR) + "/docs/config.md");
  REQUIRE(doc.ok());
  std::vector<DocRow> rows;
  size_t pos = 0;
  while (pos < doc->size()) {
    size_t end = doc->find('\n', pos);
    if (end == std::string::npos) end = doc->size();
    const std::string line = doc->substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("| `", 0) != 0) continue;
    DocRow row;  // cells hold no '|'
    for (size_t start = 1, bar; (bar = line.find('|', start)) != std::string::npos; start = bar + 1) {
      row.cells.push_back(Unquote(line.substr(start, bar - start)));
    }
    row.name = row.cells[0].substr(0, row.cells[0].find(' '));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<DocRow> KeyRows() {
  std::vector<DocRow> out;
  for (DocRow& r : DocRows()) {
    if (r.name.rfind("--", 0) != 0) out.push_back(std::move(r));
  }
  return out;
}

std::vector<DocRow> FlagRows() {
  std::vector<DocRow> out;
  for (DocRow& r : DocRows()) {
    if (r.name.rfind("--", 0) == 0) out.push_back(std::move(r));
  }
  return out;
}

// ---- Configs with one key set -------------------------------------------------------------------

// What an object must hold besides the key under test to be valid.
const std::map<std::string, std::string>& RequiredMembers() {
  static const std::map<std::string, std::string> m = {
      {"desks[]", R"({"id": "d", "knowledge_bases": ["kb.json"]})"},
      {"desks[].business_hours", R"({"days": ["mon"], "open": "09:00", "close": "18:00"})"},
      {"desks[].app_webhook", R"({"url": "https://example.com/hook", "secret": "s"})"},
      {"desks[].wecom", R"({"corp_id": "ww1", "secret": "s", "token": "t",
                           "encoding_aes_key": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"})"},
      {"desks[].wecom_app", R"({"corp_id": "ww1", "agent_id": 1000002, "secret": "s", "token": "t",
                               "encoding_aes_key": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"})"},
      {"desks[].agents[]", R"({"username": "a", "password": "password1"})"},
  };
  return m;
}

// The value at `object` (a key path such as "desks[].settings"), made when missing, with the members
// it requires; for an array, its first item.
rapidjson::Value& ObjectAt(rapidjson::Document& doc, const std::string& object) {
  rapidjson::Value* v = &doc;
  std::string path;
  for (size_t start = 0; start < object.size();) {
    size_t dot = object.find('.', start);
    if (dot == std::string::npos) dot = object.size();
    std::string step = object.substr(start, dot - start);
    start = dot + 1;
    path += (path.empty() ? "" : ".") + step;
    const bool array = step.size() > 2 && step.compare(step.size() - 2, 2, "[]") == 0;
    if (array) step.resize(step.size() - 2);
    if (!v->HasMember(step.c_str())) {
      rapidjson::Value member(array ? rapidjson::kArrayType : rapidjson::kObjectType);
      v->AddMember(rapidjson::Value(step.c_str(), doc.GetAllocator()), member, doc.GetAllocator());
    }
    v = &(*v)[step.c_str()];
    if (array) {
      if (v->Empty()) v->PushBack(rapidjson::Value(rapidjson::kObjectType), doc.GetAllocator());
      v = &(*v)[0];
    }
    auto required = RequiredMembers().find(path);
    if (required != RequiredMembers().end() && v->ObjectEmpty()) {
      rapidjson::Document members;
      members.Parse(required->second.c_str());
      v->CopyFrom(members, doc.GetAllocator());
    }
  }
  return *v;
}

// Pretty-printed config (one key per line) with `key` set by `set`.
std::string ConfigWith(const std::string& key, const std::function<void(rapidjson::Value*, rapidjson::Document&)>& set) {
  rapidjson::Document doc;
  doc.SetObject();
  ObjectAt(doc, "desks[]");
  const size_t dot = key.rfind('.');
  const std::string object = dot == std::string::npos ? "" : key.substr(0, dot);
  const std::string name = key.substr(dot == std::string::npos ? 0 : dot + 1);
  rapidjson::Value& parent = object.empty() ? doc : ObjectAt(doc, object);
  if (parent.HasMember(name.c_str())) parent.RemoveMember(name.c_str());
  rapidjson::Value value;
  set(&value, doc);
  parent.AddMember(rapidjson::Value(name.c_str(), doc.GetAllocator()), value, doc.GetAllocator());
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  return buffer.GetString();
}

std::string ConfigWithInt(const std::string& key, int64_t n) {
  return ConfigWith(key, [&](rapidjson::Value* v, rapidjson::Document&) { v->SetInt64(n); });
}

std::string ConfigWithString(const std::string& key, const std::string& s) {
  return ConfigWith(key, [&](rapidjson::Value* v, rapidjson::Document& d) { v->SetString(s.c_str(), d.GetAllocator()); });
}

// The 1-based line of the first line of `text` that holds `"name"`.
size_t LineOfKey(const std::string& text, const std::string& name) {
  const size_t at = text.find("\"" + name + "\"");
  return at == std::string::npos ? 0 : static_cast<size_t>(std::count(text.begin(), text.begin() + at, '\n')) + 1;
}

// Parses `json`; for a refusal, checks that it names the file, the key's line and the key.
void CheckParse(const std::string& key, const std::string& json, bool want_ok) {
  const std::string name = key.substr(key.rfind('.') + 1);
  CAPTURE(json);
  auto config = ParseConfig(json, "kefu.json", "");
  if (want_ok) {
    CHECK_MESSAGE(config.ok(), config.status().message());
    return;
  }
  REQUIRE_FALSE(config.ok());
  const std::string& msg = config.status().message();
  CHECK_MESSAGE(msg.rfind("kefu.json:" + std::to_string(LineOfKey(json, name)) + ": ", 0) == 0, msg);
  CHECK_MESSAGE(msg.find("field '" + name + "'") != std::string::npos, msg);
}

TEST_CASE("docs/config.md has a row for every key the config parser accepts, and no other") {
  std::set<std::string> documented, accepted(ConfigKeys().begin(), ConfigKeys().end());
  for (const DocRow& r : KeyRows()) {
    CHECK_MESSAGE(documented.insert(r.name).second, "documented twice: " << r.name);
    CHECK_MESSAGE(r.cells.size() == 5, "a key row has key, type, default, limits, meaning: " << r.name);
  }
  for (const std::string& k : accepted) CHECK_MESSAGE(documented.count(k), "not in docs/config.md: " << k);
  for (const std::string& k : documented) CHECK_MESSAGE(accepted.count(k), "documented but not accepted: " << k);
  CHECK(accepted.size() >= 40);
}

TEST_CASE("an unknown key is refused with its file, line and name, at every level") {
  for (const std::string& object : {std::string("desks[]"), std::string("desks[].settings"), std::string("desks[].agents[]"),
                                    std::string("desks[].business_hours"), std::string("desks[].wecom"),
                                    std::string("desks[].wecom_app")}) {
    CheckParse(object + ".no_such_key", ConfigWithInt(object + ".no_such_key", 1), false);
  }
}

TEST_CASE("the integer ranges of docs/config.md are the parser's: both ends accepted, one beyond refused") {
  const std::regex range(R"(^(-?\d+)\.\.(\d+)$)");
  int tried = 0;
  for (const DocRow& r : KeyRows()) {
    std::smatch m;
    if (r.cells[1] != "integer" || !std::regex_match(r.cells[3], m, range)) continue;
    CAPTURE(r.name);
    const int64_t lo = std::stoll(m[1]), hi = std::stoll(m[2]);
    CheckParse(r.name, ConfigWithInt(r.name, lo), true);
    CheckParse(r.name, ConfigWithInt(r.name, hi), true);
    CheckParse(r.name, ConfigWithInt(r.name, lo - 1), false);
    CheckParse(r.name, ConfigWithInt(r.name, hi + 1), false);
    ++tried;
  }
  CHECK(tried >= 10);
}

TEST_CASE("the string lengths of docs/config.md are the parser's: at most N characters, not N + 1") {
  const std::regex most(R"(at most (\d+) characters)");
  int tried = 0;
  for (const DocRow& r : KeyRows()) {
    std::smatch m;
    if (r.cells[1] != "string" || !std::regex_search(r.cells[3], m, most)) continue;
    CAPTURE(r.name);
    const size_t n = std::stoul(m[1]);
    // Characters the key takes whatever else it checks: a URL's scheme, a letter of an id.
    const bool url = r.cells[3].find("https://") != std::string::npos;
    auto text = [&](size_t length) { return url ? "https://" + std::string(length - 8, 'a') : std::string(length, 'a'); };
    CheckParse(r.name, ConfigWithString(r.name, text(n)), true);
    CheckParse(r.name, ConfigWithString(r.name, text(n + 1)), false);
    ++tried;
  }
  CHECK(tried >= 15);
}

TEST_CASE("the literal defaults of docs/config.md are what the parser gives a config that leaves the key out") {
  auto config = ParseConfig(R"({"desks": [{"id": "d", "knowledge_bases": ["kb.json"],
      "business_hours": {"days": ["mon"], "open": "09:00", "close": "18:00"},
      "wecom": {"corp_id": "ww1", "secret": "s", "token": "t", "encoding_aes_key": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"},
      "wecom_app": {"corp_id": "ww1", "agent_id": 2, "secret": "s", "token": "t",
                    "encoding_aes_key": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"}}]})",
                            "kefu.json", "");
  REQUIRE(config.ok());
  const DeskConfig& d = config->desks[0];
  const DeskSettings& s = d.settings;
  constexpr int64_t kMinute = 60LL * 1000000, kSecond = 1000000;
  const std::map<std::string, std::string> actual = {
      {"desks[].welcome.en", d.welcome_en},
      {"desks[].welcome.zh", d.welcome_zh},
      {"desks[].business_hours.utc_offset_minutes", std::to_string(d.hours.utc_offset_minutes)},
      {"desks[].settings.max_queue", std::to_string(s.max_queue)},
      {"desks[].settings.idle_timeout_minutes", std::to_string(s.idle_timeout_micros / kMinute)},
      {"desks[].settings.heartbeat_timeout_seconds", std::to_string(s.heartbeat_timeout_micros / kSecond)},
      {"desks[].settings.first_response_sla_seconds", std::to_string(s.first_response_sla_micros / kSecond)},
      {"desks[].settings.customer_gone_seconds", std::to_string(s.customer_gone_micros / kSecond)},
      {"desks[].settings.reopen_window_minutes", std::to_string(s.reopen_window_micros / kMinute)},
      {"desks[].settings.clarify_limit", std::to_string(s.clarify_limit)},
      {"desks[].settings.default_capacity", std::to_string(s.default_capacity)},
      {"desks[].settings.max_message_chars", std::to_string(s.max_message_chars)},
      {"desks[].wecom.base_url", d.wecom.base_url},
      {"desks[].wecom_app.base_url", d.wecom_app.base_url},
      {"desks[].wecom_app.identity", d.wecom_app.identity},
  };
  // A default written as code (`500`) is a literal: the test must know how to read it back.
  const std::string doc = ReadFileToString(std::string(KEFU_SOURCE_DIR) + "/docs/config.md").value();
  int tried = 0;
  for (const DocRow& r : KeyRows()) {
    const std::string marker = "| `" + r.name + "` | " + r.cells[1] + " | `";
    if (doc.find(marker) == std::string::npos) continue;
    CAPTURE(r.name);
    auto it = actual.find(r.name);
    REQUIRE_MESSAGE(it != actual.end(), "a literal default this test cannot check yet: add it to `actual`");
    CHECK(it->second == r.cells[2]);
    ++tried;
  }
  CHECK(tried == static_cast<int>(actual.size()));
  CHECK(d.name == "d");           // "the id"
  CHECK(d.ticket_prefix == "D");  // "the id in capitals"
}

TEST_CASE("docs/config.md has a row for every flag of kefu serve, and no other; defaults and ranges agree") {
  CLI::App app;
  ServeArgs args;
  CLI::App* serve = AddServeCommand(&app, &args);
  std::map<std::string, const CLI::Option*> flags;
  for (const CLI::Option* o : serve->get_options()) {
    if (o->get_lnames().empty() || o->get_lnames()[0] == "help") continue;
    flags["--" + o->get_lnames()[0]] = o;
  }
  std::set<std::string> documented;
  for (const DocRow& r : FlagRows()) {
    CAPTURE(r.name);
    documented.insert(r.name);
    REQUIRE(r.cells.size() == 4);
    auto it = flags.find(r.name);
    CHECK_MESSAGE(it != flags.end(), "documented but not a flag of kefu serve: " << r.name);
    if (it == flags.end()) continue;
    const std::string default_str = it->second->get_default_str();
    if (!default_str.empty()) CHECK(r.cells[1] == default_str);
    if (it->second->get_expected_min() == 0) CHECK(r.cells[1] == "off");
    std::smatch m;
    if (std::regex_match(r.cells[2], m, std::regex(R"(^(-?[\d.]+)\.\.([\d.]+)$)"))) {
      auto parses = [&](const std::string& value) {
        CLI::App a;
        ServeArgs sa;
        AddServeCommand(&a, &sa);
        try {
          a.parse("serve " + r.name + "=" + value, false);
          return true;
        } catch (const CLI::ParseError&) {
          return false;
        }
      };
      const bool integers = r.cells[2].find('.') == r.cells[2].rfind("..");
      auto beyond = [&](const std::string& end, int by) {
        return integers ? std::to_string(std::stoll(end) + by) : std::to_string(std::stod(end) + by * 0.01);
      };
      CHECK(parses(m[1]));
      CHECK(parses(m[2]));
      CHECK_FALSE(parses(beyond(m[1], -1)));
      CHECK_FALSE(parses(beyond(m[2], 1)));
    }
  }
  for (const auto& [name, o] : flags) CHECK_MESSAGE(documented.count(name), "not in docs/config.md: " << name);
}

}  // namespace
}  // namespace kefu

namespace kefu {
namespace {

TEST_CASE("a desk as the admin API shows it parses back to the same settings, without its secrets") {
  const char desk[] = R"({"id":"it","name":"IT","ticket_prefix":"IT","default_team":"it","welcome":{"en":"Hi","zh":"你好"},
    "business_hours":{"utc_offset_minutes":480,"days":["mon","tue","fri"],"open":"08:30","close":"17:45"},
    "settings":{"max_queue":7,"idle_timeout_minutes":45,"heartbeat_timeout_seconds":60,"first_response_sla_seconds":120,
                "reopen_window_minutes":90,"clarify_limit":3,"default_capacity":4,"max_message_chars":900},
    "allowed_origins":["https://a.example"],"app_secret":"secret-value-1234","legacy_hmac":true,
    "app_webhook":{"url":"https://hook.example/x","secret":"hook-secret"}})";
  auto parsed = ParseDeskObject(desk);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  const std::string shown = DeskConfigJson(*parsed);
  CHECK(shown.find("secret-value") == std::string::npos);
  CHECK(shown.find("hook-secret") == std::string::npos);
  auto with_secrets = JsonMergePatch(shown, R"({"app_secret":"s","app_webhook":{"secret":"t"}})");
  REQUIRE(with_secrets.ok());
  auto again = ParseDeskObject(*with_secrets);
  REQUIRE_MESSAGE(again.ok(), again.status().ToString());
  CHECK(DeskConfigJson(*again) == shown);
  CHECK(!ParseDeskObject(R"({"id":"it","knowledge_bases":["a.json"]})").ok());
}

}  // namespace
}  // namespace kefu
