#include "adapters/knowledge_routes.h"

#include "adapters/http_internal.h"
#include "base/json.h"

namespace kefu {
namespace {

int64_t Seconds(int64_t micros) { return micros / kMicrosPerSecond; }

// Who publishes or rolls back: the desk admin's username, or "admin" for the admin token.
std::string Author(const HttpCall& c) { return c.agent.username.empty() ? "admin" : c.agent.username; }

void WriteDraft(JsonWriter& w, const KbDraft& d) {
  w.BeginObject().Field("id", d.id).Field("kind", DraftKindName(d.kind)).Field("language", d.language);
  if (!d.entry_id.empty()) w.Field("entry_id", d.entry_id);
  if (!d.title.empty()) w.Field("title", d.title);
  w.Key("questions").BeginArray();
  for (const std::string& q : d.questions) w.String(q);
  w.EndArray();
  if (!d.answer.empty()) w.Field("answer", d.answer);
  if (!d.team.empty()) w.Field("team", d.team);
  w.Field("author", d.author).Field("conversation", d.conversation).Field("created", Seconds(d.created_at));
  w.Field("status", DraftStatusName(d.status)).EndObject();
}

void WriteVersion(JsonWriter& w, const KbVersionInfo& v) {
  w.BeginObject().Field("version", v.version).Field("language", v.language).Field("published", Seconds(v.published_at));
  w.Field("author", v.author).Field("entries", static_cast<uint64_t>(v.entries)).Field("current", v.current);
  w.Key("drafts").BeginArray();
  for (const std::string& d : v.drafts) w.String(d);
  w.EndArray();
  w.Key("labelled_accuracy");
  if (v.labelled_accuracy < 0) w.Null();
  else w.Double(v.labelled_accuracy);
  w.Key("examples_accuracy");
  if (v.examples_accuracy < 0) w.Null();
  else w.Double(v.examples_accuracy);
  w.EndObject();
}

Result<std::string> LanguageParam(const httplib::Request& req) {
  std::string language = req.get_param_value("language");
  if (language.size() > 16) return Status::InvalidArgument("query 'language': at most 16 characters");
  return language;
}

void SendGaps(HttpCall& c, KnowledgeLoop* loop, Engine* engine, const std::string& desk) {
  auto hours = QueryUint(c.request, "since_hours", 24 * 7, 24 * 366);
  if (!hours.ok()) return SendError(c.response, hours.status());
  auto config = engine->GetDeskConfig(desk);
  if (!config.ok()) return SendError(c.response, config.status());
  (void)config;
  const int64_t since = loop->clock()->NowMicros() - static_cast<int64_t>(*hours) * kMicrosPerHour;
  auto gaps = loop->Gaps(desk, since);
  if (!gaps.ok()) return SendError(c.response, gaps.status());
  JsonWriter w;
  w.BeginObject().Field("desk", desk).Key("gaps").BeginArray();
  for (const GapReportEntry& g : *gaps) {
    w.BeginObject().Key("examples").BeginArray();
    for (const std::string& e : g.gap.examples) w.String(e);
    w.EndArray().Field("questions", static_cast<uint64_t>(g.gap.questions));
    w.Field("customers", static_cast<uint64_t>(g.gap.customers)).Field("first_seen", Seconds(g.gap.first_seen));
    w.Field("last_seen", Seconds(g.gap.last_seen)).Field("language", g.language);
    if (!g.gap.nearest_entry.empty()) {
      w.Field("nearest_entry", g.gap.nearest_entry).Key("nearest_confidence").Double(g.gap.nearest_confidence);
    }
    w.EndObject();
  }
  SendJson(c.response, 200, w.EndArray().EndObject().Take());
}

}  // namespace

void AddKnowledgeRoutes(HttpApi* api, KnowledgeLoop* loop, Engine* engine) {
  using A = RouteAuth;
  const size_t json = api->options().max_json_body_bytes;
  api->SetKbUploader([loop](std::string_view desk, std::string_view language, const std::string& kb_json,
                            std::string_view author) -> Result<int> {
    auto v = loop->Upload(desk, language, kb_json, author);
    if (!v.ok()) return v.status();
    return v->version;
  });

  // --- Agents: their desk's gaps, and teaching the KB from their work ---
  api->AddRoute("GET", "/v1/agent/gaps", A::kAgent, 0,
                [loop, engine](HttpCall& c) { SendGaps(c, loop, engine, c.agent.desk); });
  api->AddRoute("POST", "/v1/agent/conversations/{id}/drafts", A::kAgent, json, [loop](HttpCall& c) {
    auto body = ReadJsonBody(c.request, false, {"kind", "reply_seq", "title", "answer", "team", "entry_id", "question"});
    if (!body.ok()) return SendError(c.response, body.status());
    DraftRequest r;
    r.conversation = c.Param("id");
    std::string kind = "new_entry";
    int64_t reply_seq = 0;
    Status s = body->GetString("kind", Presence::kOptional, &kind, 20);
    if (s.ok()) s = body->GetInt("reply_seq", Presence::kOptional, 0, INT64_MAX, &reply_seq);
    if (s.ok()) s = body->GetString("title", Presence::kOptional, &r.title, 200);
    if (s.ok()) s = body->GetString("answer", Presence::kOptional, &r.answer, 4000);
    if (s.ok()) s = body->GetString("team", Presence::kOptional, &r.team, 64);
    if (s.ok()) s = body->GetString("entry_id", Presence::kOptional, &r.entry_id, 64);
    if (s.ok()) s = body->GetString("question", Presence::kOptional, &r.question, 500);
    if (s.ok() && kind != "new_entry" && kind != "add_examples") {
      s = Status::InvalidArgument("field 'kind': new_entry or add_examples");
    }
    if (!s.ok()) return SendError(c.response, s);
    r.kind = kind == "add_examples" ? DraftKind::kAddExamples : DraftKind::kNewEntry;
    r.reply_seq = static_cast<uint64_t>(reply_seq);
    auto draft = loop->CreateDraft(c.agent, r);
    if (!draft.ok()) return SendError(c.response, draft.status());
    JsonWriter w;
    w.BeginObject().Key("draft");
    WriteDraft(w, *draft);
    SendJson(c.response, 201, w.EndObject().Take());
  });
  // The agent answered the customer's question with a KB entry's answer (a suggestion): a real
  // question labelled with the entry that answers it.
  api->AddRoute("POST", "/v1/agent/conversations/{id}/labelled", A::kAgent, json, [loop, engine](HttpCall& c) {
    auto body = ReadJsonBody(c.request, false, {"entry_id", "question"});
    if (!body.ok()) return SendError(c.response, body.status());
    std::string entry_id, question;
    Status s = body->GetString("entry_id", Presence::kRequired, &entry_id, 64);
    if (s.ok()) s = body->GetString("question", Presence::kOptional, &question, 500);
    if (!s.ok()) return SendError(c.response, s);
    auto view = engine->AgentGetConversation(c.agent, c.Param("id"));
    if (!view.ok()) return SendError(c.response, view.status());
    if (question.empty()) question = view->last_question;
    if (question.empty()) return SendError(c.response, Status::InvalidArgument("field 'question': none in the conversation"));
    auto knowledge = engine->KnowledgeFor(c.agent.desk, question);
    if (!knowledge.ok()) return SendError(c.response, knowledge.status());
    if (knowledge->kb->Find(entry_id) == nullptr) {
      return SendError(c.response, Status::InvalidArgument("field 'entry_id': no such entry"));
    }
    s = loop->RecordLabelled(c.agent.desk, knowledge->language, question, entry_id);
    if (!s.ok()) return SendError(c.response, s);
    JsonWriter w;
    w.BeginObject().Field("question", question).Field("entry_id", entry_id).EndObject();
    SendJson(c.response, 201, w.Take());
  });

  // --- Admin: review, publish, versions, rollback ---
  api->AddRoute("GET", "/v1/admin/desks/{desk}/gaps", A::kDeskAdmin, 0,
                [loop, engine](HttpCall& c) { SendGaps(c, loop, engine, c.Param("desk")); });
  api->AddRoute("GET", "/v1/admin/desks/{desk}/drafts", A::kDeskAdmin, 0, [loop, engine](HttpCall& c) {
    if (!engine->GetDeskConfig(c.Param("desk")).ok()) return SendError(c.response, Status::NotFound("no such desk"));
    const std::string status = c.request.get_param_value("status");
    std::optional<DraftStatus> filter;
    if (status == "draft") filter = DraftStatus::kDraft;
    else if (status == "published") filter = DraftStatus::kPublished;
    else if (status == "rejected") filter = DraftStatus::kRejected;
    else if (!status.empty()) return SendError(c.response, Status::InvalidArgument("query 'status': draft, published or rejected"));
    auto drafts = loop->Drafts(c.Param("desk"), filter);
    if (!drafts.ok()) return SendError(c.response, drafts.status());
    JsonWriter w;
    w.BeginObject().Key("drafts").BeginArray();
    for (const KbDraft& d : *drafts) WriteDraft(w, d);
    SendJson(c.response, 200, w.EndArray().EndObject().Take());
  });
  api->AddRoute("POST", "/v1/admin/desks/{desk}/drafts/{draft}/reject", A::kDeskAdmin, json, [loop](HttpCall& c) {
    Status s = loop->RejectDraft(c.Param("desk"), c.Param("draft"));
    if (!s.ok()) return SendError(c.response, s);
    SendJson(c.response, 200, "{\"ok\":true}");
  });
  api->AddRoute("POST", "/v1/admin/desks/{desk}/kb/publish", A::kDeskAdmin, json, [loop](HttpCall& c) {
    auto body = ReadJsonBody(c.request, true, {"language", "drafts"});
    if (!body.ok()) return SendError(c.response, body.status());
    std::string language;
    std::vector<std::string> drafts;
    Status s = body->GetString("language", Presence::kOptional, &language, 16);
    if (s.ok()) s = body->GetStringArray("drafts", Presence::kOptional, 10000, 64, &drafts);
    if (!s.ok()) return SendError(c.response, s);
    auto published = loop->Publish(c.Param("desk"), language, drafts, Author(c));
    if (!published.ok()) return SendError(c.response, published.status());
    JsonWriter w;
    w.BeginObject().Key("version");
    WriteVersion(w, published->version);
    w.Key("labelled_accuracy_before");
    if (published->labelled_accuracy_before < 0) w.Null();
    else w.Double(published->labelled_accuracy_before);
    w.Key("examples_accuracy_before");
    if (published->examples_accuracy_before < 0) w.Null();
    else w.Double(published->examples_accuracy_before);
    w.Field("diff", published->diff);
    SendJson(c.response, 201, w.EndObject().Take());
  });
  api->AddRoute("GET", "/v1/admin/desks/{desk}/kb/versions", A::kDeskAdmin, 0, [loop](HttpCall& c) {
    auto language = LanguageParam(c.request);
    if (!language.ok()) return SendError(c.response, language.status());
    auto versions = loop->Versions(c.Param("desk"), *language);
    if (!versions.ok()) return SendError(c.response, versions.status());
    JsonWriter w;
    w.BeginObject().Key("versions").BeginArray();
    for (const KbVersionInfo& v : *versions) WriteVersion(w, v);
    SendJson(c.response, 200, w.EndArray().EndObject().Take());
  });
  api->AddRoute("POST", "/v1/admin/desks/{desk}/kb/rollback", A::kDeskAdmin, json, [loop](HttpCall& c) {
    auto body = ReadJsonBody(c.request, false, {"language", "version"});
    if (!body.ok()) return SendError(c.response, body.status());
    std::string language;
    int64_t version = 0;
    Status s = body->GetString("language", Presence::kOptional, &language, 16);
    if (s.ok()) s = body->GetInt("version", Presence::kRequired, 1, INT32_MAX, &version);
    if (!s.ok()) return SendError(c.response, s);
    auto v = loop->Rollback(c.Param("desk"), language, static_cast<int>(version), Author(c));
    if (!v.ok()) return SendError(c.response, v.status());
    JsonWriter w;
    w.BeginObject().Key("version");
    WriteVersion(w, *v);
    SendJson(c.response, 200, w.EndObject().Take());
  });
  api->AddRoute("GET", "/v1/admin/desks/{desk}/stats/versions", A::kDeskAdmin, 0, [loop](HttpCall& c) {
    auto language = LanguageParam(c.request);
    if (!language.ok()) return SendError(c.response, language.status());
    auto per_version = loop->StatsByVersion(c.Param("desk"), *language);
    if (!per_version.ok()) return SendError(c.response, per_version.status());
    std::string out = "{\"versions\":[";
    for (size_t i = 0; i < per_version->size(); ++i) {
      const VersionStats& v = (*per_version)[i];
      if (i) out += ",";
      out += "{\"version\":" + std::to_string(v.version) + ",\"from\":" + std::to_string(Seconds(v.from)) +
             ",\"until\":" + std::to_string(Seconds(v.until)) + ",\"stats\":" + StatsJson(c.Param("desk"), v.stats) + "}";
    }
    SendJson(c.response, 200, out + "]}");
  });
}

}  // namespace kefu
