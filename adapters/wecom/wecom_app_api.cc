#include "adapters/wecom/wecom_app_api.h"

#include <charconv>

#include "base/json.h"

namespace kefu {

Status WeComAppClient::SendText(std::string_view userid, std::string_view text) {
  JsonWriter w;
  w.BeginObject().Field("touser", userid).Field("msgtype", "text").Field("agentid", agent_id_);
  w.Key("text").BeginObject().Field("content", text).EndObject();
  return client_.Post("/cgi-bin/message/send", w.EndObject().Take()).status();
}

Status WeComAppClient::SendButtons(std::string_view userid, std::string_view task_id, std::string_view title,
                                  std::string_view text, const std::vector<std::pair<std::string, std::string>>& buttons) {
  JsonWriter w;
  w.BeginObject().Field("touser", userid).Field("msgtype", "template_card").Field("agentid", agent_id_);
  w.Key("template_card").BeginObject().Field("card_type", "button_interaction").Field("task_id", task_id);
  w.Key("main_title").BeginObject().Field("title", title).EndObject();
  if (!text.empty()) w.Field("sub_title_text", text);
  w.Key("button_list").BeginArray();
  for (const auto& [key, label] : buttons) {
    w.BeginObject().Field("text", label).Field("style", 1).Field("key", key).EndObject();
  }
  w.EndArray().EndObject();
  return client_.Post("/cgi-bin/message/send", w.EndObject().Take()).status();
}

Result<WeComEmployee> WeComAppClient::GetUser(std::string_view userid) {
  auto body = client_.Get("/cgi-bin/user/get", "userid=" + WeComUrlEncode(userid));
  if (!body.ok()) return body.status();
  auto doc = ParseJson(*body);
  if (!doc.ok()) return Status::Unavailable("wecom: user/get: " + doc.status().message());
  auto o = JsonObject::From(**doc);
  if (!o.ok()) return Status::Unavailable("wecom: user/get: not an object");
  WeComEmployee e;
  int64_t main = 0;
  const rapidjson::Value* departments = nullptr;
  Status s = o->GetString("userid", Presence::kOptional, &e.userid, 128, true);
  if (s.ok()) s = o->GetString("name", Presence::kOptional, &e.name, 200, true);
  if (s.ok()) s = o->GetInt("main_department", Presence::kOptional, 0, INT64_MAX, &main);
  if (s.ok()) s = o->GetArray("department", Presence::kOptional, &departments);
  if (!s.ok()) return Status::Unavailable("wecom: user/get: " + s.message());
  if (main > 0) e.departments.push_back(main);
  for (rapidjson::SizeType i = 0; departments != nullptr && i < departments->Size(); ++i) {
    const rapidjson::Value& v = (*departments)[i];  // numbers arrive as their text (ParseJson)
    int64_t id = 0;
    if (!v.IsString()) continue;
    const char* end = v.GetString() + v.GetStringLength();
    auto [at, ec] = std::from_chars(v.GetString(), end, id);
    if (ec == std::errc() && at == end && id > 0 && id != main) e.departments.push_back(id);
  }
  return e;
}

Result<std::string> WeComAppClient::DepartmentName(int64_t id) {
  auto body = client_.Get("/cgi-bin/department/get", "id=" + std::to_string(id));
  if (!body.ok()) return body.status();
  auto doc = ParseJson(*body);
  if (!doc.ok()) return Status::Unavailable("wecom: department/get: " + doc.status().message());
  auto o = JsonObject::From(**doc);
  const rapidjson::Value* department = nullptr;
  if (!o.ok() || !o->GetObject("department", Presence::kRequired, &department).ok()) {
    return Status::Unavailable("wecom: department/get: no department");
  }
  auto d = JsonObject::From(*department);
  std::string name;
  if (!d.ok() || !d->GetString("name", Presence::kRequired, &name, 200, true).ok()) {
    return Status::Unavailable("wecom: department/get: no name");
  }
  return name;
}

}  // namespace kefu
