// The admin API's desk routes (docs/api.md, "Desks"): list, create, show, change and delete desks
// while kefu serves. The engine keeps them (engine.h, "Desks of the admin API"); the edge's view
// of the desks (origins, identity secrets) follows by DeskEdges.
#include "adapters/http_api.h"
#include "adapters/http_internal.h"
#include "base/json.h"

namespace kefu {
namespace {

std::string_view SourceName(DeskSource s) { return s == DeskSource::kConfigFile ? "config" : "api"; }

// A desk as the routes show it: its settings (DeskConfigJson: never a secret), where it is
// defined, and the languages of its KBs.
std::string DeskJson(const Engine::DeskInfo& d) {
  std::string settings = DeskConfigJson(d.config);
  settings.pop_back();  // the object stays open for the fields below
  JsonWriter w;
  w.BeginObject().Field("source", SourceName(d.source)).Key("languages").BeginArray();
  for (const std::string& l : d.languages) w.String(l);
  w.EndArray().EndObject();
  return settings + "," + w.Take().substr(1);
}

void SendDesk(httplib::Response& res, int status, const Result<Engine::DeskInfo>& desk) {
  if (!desk.ok()) return SendError(res, desk.status());
  SendJson(res, status, "{\"desk\":" + DeskJson(*desk) + "}");
}

}  // namespace

void HttpApi::AddDeskRoutes() {
  using A = RouteAuth;
  const size_t json = options_.max_json_body_bytes;
  AddRoute("GET", "/v1/admin/desks", A::kAdmin, 0, [this](HttpCall& c) {
    std::string out = "{\"desks\":[";
    bool first = true;
    for (const Engine::DeskInfo& d : engine_->Desks()) {
      if (!first) out += ',';
      first = false;
      out += DeskJson(d);
    }
    JsonWriter shadowed;
    shadowed.BeginArray();
    for (const std::string& id : engine_->ShadowedDesks()) shadowed.String(id);
    out += "],\"shadowed_by_config\":" + shadowed.EndArray().Take() + "}";
    SendJson(c.response, 200, std::move(out));
  });
  AddRoute("POST", "/v1/admin/desks", A::kAdmin, json, [this](HttpCall& c) {
    if (c.request.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
      return SendError(c.response, Status::InvalidArgument("Content-Type must be application/json"));
    }
    SendDesk(c.response, 201, engine_->CreateDesk(c.request.body));
  });
  AddRoute("GET", "/v1/admin/desks/{desk}", A::kDeskAdmin, 0,
           [this](HttpCall& c) { SendDesk(c.response, 200, engine_->Desk(c.Param("desk"))); });
  AddRoute("PATCH", "/v1/admin/desks/{desk}", A::kAdmin, json, [this](HttpCall& c) {
    SendDesk(c.response, 200, engine_->UpdateDesk(c.Param("desk"), c.request.body));
  });
  AddRoute("DELETE", "/v1/admin/desks/{desk}", A::kAdmin, 0, [this](HttpCall& c) {
    const std::string force = c.request.get_param_value("force");
    if (!force.empty() && force != "true" && force != "false") {
      return SendError(c.response, Status::InvalidArgument("query 'force': true or false"));
    }
    Status s = engine_->DeleteDesk(c.Param("desk"), force == "true");
    if (!s.ok()) return SendError(c.response, s);
    JsonWriter w;
    SendJson(c.response, 200, w.BeginObject().Field("deleted", c.Param("desk")).EndObject().Take());
  });
}

}  // namespace kefu
