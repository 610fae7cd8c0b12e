#include "engine/desk_config.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "base/file.h"
#include "base/json.h"
#include "base/json_position.h"

namespace kefu {
namespace {

constexpr std::string_view kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

// The keys each object of kefu.json accepts: the parser refuses any other, ConfigKeys() lists them
// and docs/config.md documents them (tests/config_reference_test.cc keeps the three together).
struct ObjectKeys {
  std::string_view object;  // "" the top level; "desks[]" each desk; "desks[].settings" ...
  std::vector<std::string_view> keys;
};

const std::vector<ObjectKeys>& KeyTable() {
  static const std::vector<ObjectKeys> table = {
      {"", {"desks", "trusted_proxies", "store"}},
      {"desks[]", {"id", "name", "ticket_prefix", "knowledge_bases", "default_team", "welcome", "business_hours",
                   "settings", "allowed_origins", "app_secret", "legacy_hmac", "app_webhook", "wecom", "wecom_app",
                   "agents"}},
      {"desks[].welcome", {"en", "zh"}},
      {"desks[].business_hours", {"utc_offset_minutes", "days", "open", "close"}},
      {"desks[].settings", {"max_queue", "idle_timeout_minutes", "heartbeat_timeout_seconds",
                            "first_response_sla_seconds", "customer_gone_seconds", "reopen_window_minutes",
                            "clarify_limit", "default_capacity", "max_message_chars"}},
      {"desks[].app_webhook", {"url", "secret"}},
      {"desks[].wecom", {"corp_id", "secret", "token", "encoding_aes_key", "base_url"}},
      {"desks[].wecom_app", {"corp_id", "agent_id", "secret", "token", "encoding_aes_key", "base_url", "identity",
                             "cards"}},
      {"desks[].agents[]", {"username", "password", "name", "teams", "capacity"}},
  };
  return table;
}

const std::vector<std::string_view>& KeysOf(std::string_view object) {
  for (const ObjectKeys& o : KeyTable()) {
    if (o.object == object) return o.keys;
  }
  static const std::vector<std::string_view> none;
  return none;
}

bool IsUsername(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return false;
  }
  return true;
}

// The path into the document that an error message of the parsers names: its leading
// "field 'a': field 'b' item 2: ..." steps (after `prefix`, e.g. the desk's array item).
std::vector<JsonPathStep> PathInMessage(std::vector<JsonPathStep> prefix, std::string_view message) {
  constexpr std::string_view kField = "field '";
  while (message.substr(0, kField.size()) == kField) {
    const size_t close = message.find('\'', kField.size());
    if (close == std::string_view::npos) break;
    prefix.push_back(JsonPathStep::Member(message.substr(kField.size(), close - kField.size())));
    message.remove_prefix(close + 1);
    constexpr std::string_view kItem = " item ";
    if (message.substr(0, kItem.size()) == kItem) {
      message.remove_prefix(kItem.size());
      size_t n = 0;
      auto [end, ec] = std::from_chars(message.data(), message.data() + message.size(), n);
      if (ec != std::errc() || n == 0) break;
      prefix.push_back(JsonPathStep::Item(n - 1));
      message.remove_prefix(static_cast<size_t>(end - message.data()));
    }
    if (message.substr(0, 2) != ": ") break;
    message.remove_prefix(2);
  }
  return prefix;
}

// "FILE:LINE: <where>: <message>", the line found from the path the message names.
Status AtLine(std::string_view json, std::string_view file, std::vector<JsonPathStep> prefix, std::string_view where,
              const Status& s) {
  const size_t line = JsonLineOf(json, PathInMessage(std::move(prefix), s.message()));
  std::string context(file);
  if (line > 0) context += ":" + std::to_string(line);
  if (!where.empty()) context += ": " + std::string(where);
  return s.WithContext(context);
}

bool IsDeskId(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// "09:30" -> 570; -1 when malformed.
int ParseClock(std::string_view hhmm) {
  if (hhmm.size() != 5 || hhmm[2] != ':') return -1;
  int h = 0, m = 0;
  if (std::from_chars(hhmm.data(), hhmm.data() + 2, h).ec != std::errc() ||
      std::from_chars(hhmm.data() + 3, hhmm.data() + 5, m).ec != std::errc() || h > 24 || m > 59 || (h == 24 && m)) {
    return -1;
  }
  return h * 60 + m;
}

Status ParseHours(const JsonObject& desk, BusinessHours* hours) {
  const rapidjson::Value* value = nullptr;
  KEFU_RETURN_IF_ERROR(desk.GetObject("business_hours", Presence::kOptional, &value));
  if (value == nullptr) return Status::OK();
  auto o = JsonObject::From(*value);
  KEFU_RETURN_IF_ERROR(o->RejectUnknown(KeysOf("desks[].business_hours")));
  int64_t offset = 0;
  KEFU_RETURN_IF_ERROR(o->GetInt("utc_offset_minutes", Presence::kOptional, -14 * 60, 14 * 60, &offset));
  std::vector<std::string> days;
  KEFU_RETURN_IF_ERROR(o->GetStringArray("days", Presence::kRequired, 7, 3, &days));
  std::string open, close;
  KEFU_RETURN_IF_ERROR(o->GetString("open", Presence::kRequired, &open, 5));
  KEFU_RETURN_IF_ERROR(o->GetString("close", Presence::kRequired, &close, 5));
  hours->always_open = false;
  hours->utc_offset_minutes = static_cast<int>(offset);
  hours->days = 0;
  for (const std::string& d : days) {
    int index = -1;
    for (int i = 0; i < 7; ++i) {
      if (kDays[i] == d) index = i;
    }
    if (index < 0) return Status::InvalidArgument("field 'days': '" + d + "' is not one of mon..sun");
    hours->days |= static_cast<uint8_t>(1 << index);
  }
  hours->open_minute = ParseClock(open);
  hours->close_minute = ParseClock(close);
  if (hours->open_minute < 0) return Status::InvalidArgument("field 'open': expected HH:MM");
  if (hours->close_minute < 0) return Status::InvalidArgument("field 'close': expected HH:MM");
  if (hours->close_minute <= hours->open_minute) {
    return Status::InvalidArgument("field 'close': must be after 'open'");
  }
  return Status::OK();
}

Status ParseSettings(const JsonObject& desk, DeskSettings* s) {
  const rapidjson::Value* value = nullptr;
  KEFU_RETURN_IF_ERROR(desk.GetObject("settings", Presence::kOptional, &value));
  if (value == nullptr) return Status::OK();
  auto o = JsonObject::From(*value);
  KEFU_RETURN_IF_ERROR(o->RejectUnknown(KeysOf("desks[].settings")));
  int64_t v = 0;
  auto get = [&](std::string_view name, int64_t min, int64_t max, int64_t scale, auto* out) -> Status {
    if (!o->Has(name)) return Status::OK();
    KEFU_RETURN_IF_ERROR(o->GetInt(name, Presence::kRequired, min, max, &v));
    *out = static_cast<std::remove_pointer_t<decltype(out)>>(v * scale);
    return Status::OK();
  };
  KEFU_RETURN_IF_ERROR(get("max_queue", 1, 1000000, 1, &s->max_queue));
  KEFU_RETURN_IF_ERROR(get("idle_timeout_minutes", 1, 7 * 24 * 60, 60LL * 1000000, &s->idle_timeout_micros));
  KEFU_RETURN_IF_ERROR(get("heartbeat_timeout_seconds", 5, 3600, 1000000, &s->heartbeat_timeout_micros));
  KEFU_RETURN_IF_ERROR(get("first_response_sla_seconds", 1, 7 * 24 * 3600, 1000000, &s->first_response_sla_micros));
  KEFU_RETURN_IF_ERROR(get("customer_gone_seconds", 5, 7 * 24 * 3600, 1000000, &s->customer_gone_micros));
  KEFU_RETURN_IF_ERROR(get("reopen_window_minutes", 0, 30 * 24 * 60, 60LL * 1000000, &s->reopen_window_micros));
  KEFU_RETURN_IF_ERROR(get("clarify_limit", 0, 10, 1, &s->clarify_limit));
  KEFU_RETURN_IF_ERROR(get("default_capacity", 1, 100, 1, &s->default_capacity));
  KEFU_RETURN_IF_ERROR(get("max_message_chars", 1, 100000, 1, &s->max_message_chars));
  return Status::OK();
}

Status ParseAgents(const JsonObject& desk, std::vector<AgentSeed>* agents) {
  const rapidjson::Value* value = nullptr;
  KEFU_RETURN_IF_ERROR(desk.GetArray("agents", Presence::kOptional, &value));
  for (rapidjson::SizeType i = 0; value != nullptr && i < value->Size(); ++i) {
    const std::string where = "field 'agents' item " + std::to_string(i + 1);
    auto o = JsonObject::From((*value)[i]);
    if (!o.ok()) return Status::InvalidArgument(where + ": must be an object");
    AgentSeed a;
    int64_t capacity = 0;
    Status s = o->RejectUnknown(KeysOf("desks[].agents[]"));
    if (s.ok()) s = o->GetString("username", Presence::kRequired, &a.username, 64);
    if (s.ok() && !IsUsername(a.username)) s = Status::InvalidArgument("field 'username': must match [a-z0-9._-]{1,64}");
    if (s.ok()) s = o->GetString("password", Presence::kRequired, &a.password, 200);
    if (s.ok() && a.password.size() < 8) s = Status::InvalidArgument("field 'password': at least 8 characters");
    if (s.ok()) s = o->GetString("name", Presence::kOptional, &a.display_name, 100);
    if (s.ok()) s = o->GetStringArray("teams", Presence::kOptional, 50, 64, &a.teams);
    if (s.ok()) s = o->GetInt("capacity", Presence::kOptional, 1, 100, &capacity);
    if (!s.ok()) return s.WithContext(where);
    a.capacity = static_cast<int>(capacity);
    agents->push_back(std::move(a));
  }
  return Status::OK();
}

bool IsHttpUrl(std::string_view url) {
  return (url.rfind("http://", 0) == 0 && url.size() > 7) || (url.rfind("https://", 0) == 0 && url.size() > 8);
}

Status ParseAppWebhook(const JsonObject& desk, AppWebhookConfig* hook) {
  const rapidjson::Value* value = nullptr;
  KEFU_RETURN_IF_ERROR(desk.GetObject("app_webhook", Presence::kOptional, &value));
  if (value == nullptr) return Status::OK();
  auto o = JsonObject::From(*value);
  KEFU_RETURN_IF_ERROR(o->RejectUnknown(KeysOf("desks[].app_webhook")));
  KEFU_RETURN_IF_ERROR(o->GetString("url", Presence::kRequired, &hook->url, 2000));
  if (!IsHttpUrl(hook->url)) return Status::InvalidArgument("field 'url': must start with http:// or https://");
  return o->GetString("secret", Presence::kOptional, &hook->secret, 200);
}

// The fields both WeCom channels share, values of the WeCom admin console.
template <typename Config>
Status ParseWeComFields(const JsonObject& o, Config* w) {
  KEFU_RETURN_IF_ERROR(o.GetString("corp_id", Presence::kRequired, &w->corp_id, 64));
  KEFU_RETURN_IF_ERROR(o.GetString("secret", Presence::kRequired, &w->secret, 200));
  KEFU_RETURN_IF_ERROR(o.GetString("token", Presence::kRequired, &w->token, 32));
  KEFU_RETURN_IF_ERROR(o.GetString("encoding_aes_key", Presence::kRequired, &w->encoding_aes_key, 43));
  KEFU_RETURN_IF_ERROR(o.GetString("base_url", Presence::kOptional, &w->base_url, 2000));
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (w->encoding_aes_key.size() != 43 || !std::all_of(w->encoding_aes_key.begin(), w->encoding_aes_key.end(), alnum)) {
    return Status::InvalidArgument("field 'encoding_aes_key': must be the 43 letters and digits of the WeCom console");
  }
  if (!std::all_of(w->token.begin(), w->token.end(), alnum)) {
    return Status::InvalidArgument("field 'token': letters and digits only");
  }
  if (!IsHttpUrl(w->base_url)) return Status::InvalidArgument("field 'base_url': must start with http:// or https://");
  while (w->base_url.back() == '/') w->base_url.pop_back();
  return Status::OK();
}

Status ParseWeCom(const JsonObject& desk, WeComConfig* w) {
  const rapidjson::Value* value = nullptr;
  KEFU_RETURN_IF_ERROR(desk.GetObject("wecom", Presence::kOptional, &value));
  if (value == nullptr) return Status::OK();
  auto o = JsonObject::From(*value);
  KEFU_RETURN_IF_ERROR(o->RejectUnknown(KeysOf("desks[].wecom")));
  return ParseWeComFields(*o, w);
}

Status ParseWeComApp(const JsonObject& desk, WeComAppConfig* a) {
  const rapidjson::Value* value = nullptr;
  KEFU_RETURN_IF_ERROR(desk.GetObject("wecom_app", Presence::kOptional, &value));
  if (value == nullptr) return Status::OK();
  auto o = JsonObject::From(*value);
  KEFU_RETURN_IF_ERROR(o->RejectUnknown(KeysOf("desks[].wecom_app")));
  KEFU_RETURN_IF_ERROR(ParseWeComFields(*o, a));
  KEFU_RETURN_IF_ERROR(o->GetInt("agent_id", Presence::kRequired, 1, INT32_MAX, &a->agent_id));
  KEFU_RETURN_IF_ERROR(o->GetString("identity", Presence::kOptional, &a->identity, 16));
  if (a->identity != "wecom" && a->identity != "app") {
    return Status::InvalidArgument("field 'identity': must be \"wecom\" or \"app\"");
  }
  return o->GetBool("cards", Presence::kOptional, &a->cards);
}

Status ParseDesk(const rapidjson::Value& value, std::string_view base_dir, DeskSource source, DeskConfig* d) {
  auto o = JsonObject::From(value);
  if (!o.ok()) return Status::InvalidArgument("must be an object");
  KEFU_RETURN_IF_ERROR(o->RejectUnknown(KeysOf("desks[]")));
  KEFU_RETURN_IF_ERROR(o->GetString("id", Presence::kRequired, &d->id, 32));
  if (!IsDeskId(d->id)) return Status::InvalidArgument("field 'id': must match [a-z0-9-]{1,32}");
  d->name = d->id;
  KEFU_RETURN_IF_ERROR(o->GetString("name", Presence::kOptional, &d->name, 100));
  d->ticket_prefix = d->id;
  for (char& c : d->ticket_prefix) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  KEFU_RETURN_IF_ERROR(o->GetString("ticket_prefix", Presence::kOptional, &d->ticket_prefix, 8));
  if (source == DeskSource::kAdminApi) {
    // Paths would let an admin token read the server's files; a desk made this way gets its KB by upload.
    if (o->Has("knowledge_bases")) {
      return Status::InvalidArgument("field 'knowledge_bases': a desk of the admin API gets its KB with PUT /v1/admin/desks/{desk}/kb");
    }
  } else {
    KEFU_RETURN_IF_ERROR(o->GetStringArray("knowledge_bases", Presence::kRequired, 8, 4096, &d->knowledge_bases));
    if (d->knowledge_bases.empty()) return Status::InvalidArgument("field 'knowledge_bases': needs at least one file");
  }
  for (std::string& path : d->knowledge_bases) {
    if (!path.empty() && path[0] != '/' && !base_dir.empty()) path = std::string(base_dir) + "/" + path;
  }
  KEFU_RETURN_IF_ERROR(o->GetString("default_team", Presence::kOptional, &d->default_team, 64));
  const rapidjson::Value* welcome = nullptr;
  KEFU_RETURN_IF_ERROR(o->GetObject("welcome", Presence::kOptional, &welcome));
  if (welcome != nullptr) {
    auto w = JsonObject::From(*welcome);
    KEFU_RETURN_IF_ERROR(w->RejectUnknown(KeysOf("desks[].welcome")).WithContext("field 'welcome'"));
    KEFU_RETURN_IF_ERROR(w->GetString("en", Presence::kOptional, &d->welcome_en, 1000).WithContext("field 'welcome'"));
    KEFU_RETURN_IF_ERROR(w->GetString("zh", Presence::kOptional, &d->welcome_zh, 1000).WithContext("field 'welcome'"));
  }
  KEFU_RETURN_IF_ERROR(ParseHours(*o, &d->hours).WithContext("field 'business_hours'"));
  KEFU_RETURN_IF_ERROR(ParseSettings(*o, &d->settings).WithContext("field 'settings'"));
  KEFU_RETURN_IF_ERROR(o->GetStringArray("allowed_origins", Presence::kOptional, 100, 300, &d->allowed_origins));
  KEFU_RETURN_IF_ERROR(o->GetString("app_secret", Presence::kOptional, &d->app_secret, 200));
  KEFU_RETURN_IF_ERROR(o->GetBool("legacy_hmac", Presence::kOptional, &d->legacy_hmac));
  if (d->legacy_hmac && d->app_secret.empty()) return Status::InvalidArgument("field 'legacy_hmac': needs an 'app_secret'");
  KEFU_RETURN_IF_ERROR(ParseAppWebhook(*o, &d->app_webhook).WithContext("field 'app_webhook'"));
  if (!d->app_webhook.url.empty() && d->app_webhook.secret.empty()) {
    return Status::InvalidArgument("field 'app_webhook': needs its own 'secret' (the desk's 'app_secret' is no longer used)");
  }
  KEFU_RETURN_IF_ERROR(ParseWeCom(*o, &d->wecom).WithContext("field 'wecom'"));
  KEFU_RETURN_IF_ERROR(ParseWeComApp(*o, &d->wecom_app).WithContext("field 'wecom_app'"));
  KEFU_RETURN_IF_ERROR(ParseAgents(*o, &d->agents));
  return Status::OK();
}

}  // namespace

bool BusinessHours::IsOpen(int64_t micros) const {
  if (always_open) return true;
  const int64_t local_minutes = micros / 60000000 + utc_offset_minutes;
  const int64_t day = local_minutes >= 0 ? local_minutes / 1440 : (local_minutes - 1439) / 1440;
  const int minute = static_cast<int>(local_minutes - day * 1440);
  const int weekday = static_cast<int>(((day % 7) + 7 + 3) % 7);  // 1970-01-01 was a Thursday (3)
  if (!(days & (1 << weekday))) return false;
  return minute >= open_minute && minute < close_minute;
}

Result<KefuConfig> ParseConfig(std::string_view json, std::string_view file, std::string_view base_dir) {
  auto doc = ParseJson(json);
  if (!doc.ok()) return doc.status().WithContext(file);
  auto root = JsonObject::From(**doc);
  if (!root.ok()) return Status::InvalidArgument(std::string(file) + ": the top level must be an object");
  Status s = root->RejectUnknown(KeysOf(""));
  const rapidjson::Value* desks = nullptr;
  if (s.ok()) s = root->GetArray("desks", Presence::kRequired, &desks);
  if (!s.ok()) return AtLine(json, file, {}, "", s);
  KefuConfig config;
  s = root->GetStringArray("trusted_proxies", Presence::kOptional, 100, 64, &config.trusted_proxies);
  if (s.ok()) s = root->GetString("store", Presence::kOptional, &config.store, 4096);
  if (!s.ok()) return AtLine(json, file, {}, "", s);
  for (rapidjson::SizeType i = 0; i < desks->Size(); ++i) {
    const std::vector<JsonPathStep> at_desk = {JsonPathStep::Member("desks"), JsonPathStep::Item(i)};
    const std::string where = "desk #" + std::to_string(i + 1);
    DeskConfig d;
    s = ParseDesk((*desks)[i], base_dir, DeskSource::kConfigFile, &d);
    if (!s.ok()) return AtLine(json, file, at_desk, where, s);
    for (const DeskConfig& other : config.desks) {
      if (other.id == d.id) {
        return AtLine(json, file, at_desk, where, Status::InvalidArgument("field 'id': duplicate desk '" + d.id + "'"));
      }
    }
    config.desks.push_back(std::move(d));
  }
  if (config.desks.empty()) {
    return AtLine(json, file, {}, "", Status::InvalidArgument("field 'desks': needs at least one desk"));
  }
  return config;
}

Result<DeskConfig> ParseDeskObject(std::string_view json) {
  auto doc = ParseJson(json);
  if (!doc.ok()) return doc.status();
  DeskConfig d;
  KEFU_RETURN_IF_ERROR(ParseDesk(**doc, "", DeskSource::kAdminApi, &d));
  return d;
}

static std::string ClockText(int minute) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minute / 60, minute % 60);
  return buf;
}

static void WriteStrings(JsonWriter& w, std::string_view key, const std::vector<std::string>& values) {
  w.Key(key).BeginArray();
  for (const std::string& v : values) w.String(v);
  w.EndArray();
}

std::string DeskConfigJson(const DeskConfig& d) {
  JsonWriter w;
  w.BeginObject().Field("id", d.id).Field("name", d.name).Field("ticket_prefix", d.ticket_prefix);
  w.Field("default_team", d.default_team);
  w.Key("welcome").BeginObject().Field("en", d.welcome_en).Field("zh", d.welcome_zh).EndObject();
  if (!d.hours.always_open) {
    w.Key("business_hours").BeginObject().Field("utc_offset_minutes", d.hours.utc_offset_minutes).Key("days").BeginArray();
    for (int i = 0; i < 7; ++i) {
      if (d.hours.days & (1 << i)) w.String(kDays[i]);
    }
    w.EndArray().Field("open", ClockText(d.hours.open_minute)).Field("close", ClockText(d.hours.close_minute)).EndObject();
  }
  const DeskSettings& s = d.settings;
  w.Key("settings").BeginObject().Field("max_queue", s.max_queue);
  w.Field("idle_timeout_minutes", static_cast<int64_t>(s.idle_timeout_micros / (60LL * 1000000)));
  w.Field("heartbeat_timeout_seconds", s.heartbeat_timeout_micros / 1000000);
  w.Field("first_response_sla_seconds", s.first_response_sla_micros / 1000000);
  w.Field("customer_gone_seconds", s.customer_gone_micros / 1000000);
  w.Field("reopen_window_minutes", static_cast<int64_t>(s.reopen_window_micros / (60LL * 1000000)));
  w.Field("clarify_limit", s.clarify_limit).Field("default_capacity", s.default_capacity);
  w.Field("max_message_chars", s.max_message_chars).EndObject();
  WriteStrings(w, "allowed_origins", d.allowed_origins);
  w.Field("legacy_hmac", d.legacy_hmac);
  if (!d.app_webhook.url.empty()) w.Key("app_webhook").BeginObject().Field("url", d.app_webhook.url).EndObject();
  if (d.wecom.enabled()) {
    w.Key("wecom").BeginObject().Field("corp_id", d.wecom.corp_id).Field("base_url", d.wecom.base_url).EndObject();
  }
  if (d.wecom_app.enabled()) {
    w.Key("wecom_app").BeginObject().Field("corp_id", d.wecom_app.corp_id).Field("agent_id", d.wecom_app.agent_id);
    w.Field("base_url", d.wecom_app.base_url).Field("identity", d.wecom_app.identity);
    w.Field("cards", d.wecom_app.cards).EndObject();
  }
  return w.EndObject().Take();
}

const std::vector<std::string>& ConfigKeys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    for (const ObjectKeys& o : KeyTable()) {
      for (std::string_view k : o.keys) out.push_back(o.object.empty() ? std::string(k) : std::string(o.object) + "." + std::string(k));
    }
    return out;
  }();
  return keys;
}

Result<KefuConfig> LoadConfig(const std::string& path) {
  auto content = ReadFileToString(path, 4 << 20);
  if (!content.ok()) return content.status();
  const size_t slash = path.rfind('/');
  return ParseConfig(*content, path, slash == std::string::npos ? "." : path.substr(0, slash));
}

}  // namespace kefu
