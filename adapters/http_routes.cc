// The routes of docs/api.md: each handler reads its body through ReadJsonBody, makes one engine call
// and writes the engine's JSON encodings (EncodeMessage, ConversationViewJson, EncodeTicket).
// Live streams (SSE) and long polls: live_routes.cc.
#include <algorithm>
#include <chrono>
#include <optional>

#include "adapters/http_api.h"
#include "adapters/http_internal.h"
#include "adapters/web_assets.h"
#include "engine/auth.h"

namespace kefu {
namespace {

std::string TicketsJson(const std::vector<Ticket>& tickets) {
  std::string out = "[";
  for (size_t i = 0; i < tickets.size(); ++i) {
    if (i > 0) out += ',';
    out += EncodeTicket(tickets[i]);
  }
  return out + "]";
}

// The customer's view plus what only agents see: one shape, with more fields.
std::string AgentViewJson(const ConversationView& v) {
  std::string out = ConversationViewJson(v);
  out.pop_back();  // '}'
  out += ",\"customer\":";
  AppendJsonString(v.customer, &out);
  if (!v.last_question.empty()) {
    out += ",\"last_question\":";
    AppendJsonString(v.last_question, &out);
  }
  if (!v.customer_profile.empty()) {
    out += ",\"customer_profile\":{\"name\":";
    AppendJsonString(v.customer_profile.name, &out);
    out += ",\"email\":";
    AppendJsonString(v.customer_profile.email, &out);
    out += ",\"department\":";
    AppendJsonString(v.customer_profile.department, &out);
    out += "}";
  }
  out += ",\"created_at\":" + std::to_string(v.created_at);
  if (v.waiting_since != 0) out += ",\"waiting_since\":" + std::to_string(v.waiting_since);
  if (v.escalation != EscalationReason::kNone) {
    out += ",\"escalation\":";
    AppendJsonString(EscalationReasonName(v.escalation), &out);
  }
  out += ",\"priority\":" + std::to_string(v.priority) + ",\"unread\":" + std::to_string(v.unread) + "}";
  return out;
}

// An agent account as the admin routes show it (never the password hash).
void WriteAgentSummary(JsonWriter& w, std::string_view desk, const AgentSummary& a) {
  w.BeginObject().Field("desk", desk).Field("username", a.username).Field("name", a.display_name);
  w.Key("teams").BeginArray();
  for (const std::string& t : a.teams) w.String(t);
  w.EndArray().Field("capacity", a.capacity).Field("role", a.desk_admin ? "desk_admin" : "agent");
  w.Field("created_at", a.created_at).Field("presence", PresenceName(a.presence)).Field("serving", a.serving);
  w.EndObject();
}

std::string AgentViewsJson(const std::vector<ConversationView>& views) {
  std::string out = "[";
  for (size_t i = 0; i < views.size(); ++i) {
    if (i > 0) out += ',';
    out += AgentViewJson(views[i]);
  }
  return out + "]";
}

std::string TurnJson(const CustomerTurn& turn) {
  JsonWriter w;
  w.BeginObject().Key("messages").Raw(MessagesJson(turn.messages));
  w.Key("conversation").Raw(ConversationViewJson(turn.conversation)).Field("duplicate", turn.duplicate);
  return w.EndObject().Take();
}


}  // namespace

std::string MessagesJson(const std::vector<Message>& messages) {
  std::string out = "[";
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) out += ',';
    out += EncodeMessage(messages[i]);
  }
  return out + "]";
}

std::string StatsJson(std::string_view desk, const DeskStats& s) {
  auto seconds = [](int64_t micros) { return static_cast<double>(micros) / 1e6; };
  JsonWriter w;
  w.BeginObject().Field("desk", desk);
  w.Field("conversations", s.conversations).Field("customer_messages", s.customer_messages);
  w.Field("bot_answers", s.bot_answers).Field("bot_clarifications", s.bot_clarifications);
  w.Field("unmatched", s.unmatched).Field("escalations", s.escalations).Field("resolved", s.resolved);
  w.Field("resolved_by_bot", s.resolved_by_bot).Field("transfers", s.transfers).Field("withdrawn", s.withdrawn);
  w.Field("deferred", s.deferred).Field("bot_open", s.bot_open).Field("sla_breaches", s.sla_breaches);
  w.Field("helpful_feedback", s.helpful_feedback).Field("unhelpful_feedback", s.unhelpful_feedback);
  w.Key("bot_resolution_rate").Double(s.bot_resolution_rate);
  w.Key("escalation_rate").Double(s.escalation_rate);
  w.Key("kb_hit_rate").Double(s.kb_hit_rate);
  w.Key("queue_wait_p50_seconds").Double(seconds(s.queue_wait_p50));
  w.Key("queue_wait_p90_seconds").Double(seconds(s.queue_wait_p90));
  w.Key("first_response_p50_seconds").Double(seconds(s.first_response_p50));
  w.Key("first_response_p90_seconds").Double(seconds(s.first_response_p90));
  w.Key("handle_time_p50_seconds").Double(seconds(s.handle_time_p50));
  w.Key("handle_time_mean_seconds").Double(seconds(s.handle_time_mean));
  w.Field("csat_count", s.csat_count);
  w.Key("csat_average").Double(s.csat_average);
  w.Key("intent_hits").BeginArray();
  for (const auto& [entry, n] : s.intent_hits) w.BeginObject().Field("entry_id", entry).Field("answers", n).EndObject();
  w.EndArray().Key("top_unmatched").BeginArray();
  for (const auto& [question, n] : s.top_unmatched) w.BeginObject().Field("question", question).Field("count", n).EndObject();
  w.EndArray();
  return w.EndObject().Take();
}

// ---- Routes ----------------------------------------------------------------------------------------

void HttpApi::RegisterRoutes() {
  const size_t json = options_.max_json_body_bytes;
  using A = RouteAuth;

  AddRoute("GET", "/healthz", A::kPublic, 0, [](HttpCall& c) { SendJson(c.response, 200, "{\"status\":\"ok\"}"); });
  AddRoute("GET", "/metrics", A::kPublic, 0, [this](HttpCall& c) { Metrics(c); });

  // --- Customers ---
  AddRoute("POST", "/v1/desks/{desk}/conversations", A::kPublic, json, [this](HttpCall& c) { StartConversation(c); });
  AddRoute("GET", "/v1/conversations/{id}", A::kCustomer, 0, [this](HttpCall& c) {
    auto view = engine_->GetConversation(c.Param("id"));
    if (!view.ok()) return SendError(c.response, view.status());
    SendJson(c.response, 200, "{\"conversation\":" + ConversationViewJson(*view) + "}");
  });
  AddRoute("POST", "/v1/conversations/{id}/messages", A::kCustomer, json, [this](HttpCall& c) { PostMessage(c); });
  AddRoute("GET", "/v1/conversations/{id}/messages", A::kCustomer, 0, [this](HttpCall& c) {
    auto after = QueryUint(c.request, "after", 0, UINT64_MAX);
    auto limit = QueryUint(c.request, "limit", kHistoryPage, kMaxHistoryPage);
    if (!after.ok()) return SendError(c.response, after.status());
    if (!limit.ok()) return SendError(c.response, limit.status());
    auto history = engine_->History(c.Param("id"), *after, std::max<uint64_t>(1, *limit), false);
    if (!history.ok()) return SendError(c.response, history.status());
    SendJson(c.response, 200, "{\"messages\":" + MessagesJson(*history) + "}");
  });
  AddRoute("GET", "/v1/conversations/{id}/events", A::kCustomer, 0, [this](HttpCall& c) { CustomerEvents(c); });
  AddRoute("GET", "/v1/conversations/{id}/poll", A::kCustomer, 0, [this](HttpCall& c) { CustomerPoll(c); });
  AddRoute("POST", "/v1/conversations/{id}/feedback", A::kCustomer, json, [this](HttpCall& c) {
    auto body = ReadJsonBody(c.request, false, {"message_seq", "helpful"});
    if (!body.ok()) return SendError(c.response, body.status());
    int64_t seq = 0;
    bool helpful = true;
    Status s = body->GetInt("message_seq", Presence::kRequired, 1, INT64_C(1) << 53, &seq);
    if (s.ok()) s = body->GetBool("helpful", Presence::kRequired, &helpful);
    if (!s.ok()) return SendError(c.response, s);
    auto turn = engine_->GiveFeedback(c.Param("id"), static_cast<uint64_t>(seq), helpful);
    if (!turn.ok()) return SendError(c.response, turn.status());
    SendJson(c.response, 200, TurnJson(*turn));
  });
  AddRoute("POST", "/v1/conversations/{id}/handoff", A::kCustomer, json, [this](HttpCall& c) {
    auto body = ReadJsonBody(c.request, true, {});
    if (!body.ok()) return SendError(c.response, body.status());
    auto turn = engine_->RequestHandoff(c.Param("id"));
    if (!turn.ok()) return SendError(c.response, turn.status());
    SendJson(c.response, 200, TurnJson(*turn));
  });
  AddRoute("DELETE", "/v1/conversations/{id}/handoff", A::kCustomer, json, [this](HttpCall& c) {
    auto turn = engine_->LeaveQueue(c.Param("id"));
    if (!turn.ok()) return SendError(c.response, turn.status());
    SendJson(c.response, 200, TurnJson(*turn));
  });
  AddRoute("POST", "/v1/conversations/{id}/csat", A::kCustomer, json, [this](HttpCall& c) {
    auto body = ReadJsonBody(c.request, false, {"rating"});
    if (!body.ok()) return SendError(c.response, body.status());
    int64_t rating = 0;
    Status s = body->GetInt("rating", Presence::kRequired, 1, 5, &rating);
    if (s.ok()) s = engine_->Rate(c.Param("id"), static_cast<int>(rating));
    if (!s.ok()) return SendError(c.response, s);
    auto view = engine_->GetConversation(c.Param("id"));
    if (!view.ok()) return SendError(c.response, view.status());
    SendJson(c.response, 200, "{\"conversation\":" + ConversationViewJson(*view) + "}");
  });
  AddRoute("GET", "/v1/conversations/{id}/tickets", A::kCustomer, 0, [this](HttpCall& c) {
    auto tickets = engine_->CustomerTickets(c.Param("id"));
    if (!tickets.ok()) return SendError(c.response, tickets.status());
    SendJson(c.response, 200, "{\"tickets\":" + TicketsJson(*tickets) + "}");
  });

  // --- Agents ---
  AddRoute("POST", "/v1/agent/login", A::kPublic, json, [this](HttpCall& c) {
    if (impl_->logins.Take(ClientAddress(c.request), MonotonicMicros()) > 0) {
      c.response.set_header("Retry-After", "60");
      return SendHttpError(c.response, 429, "resource_exhausted", "too many login attempts from this address");
    }
    auto body = ReadJsonBody(c.request, false, {"desk", "username", "password"});
    if (!body.ok()) return SendError(c.response, body.status());
    std::string desk, username, password;
    Status s = body->GetString("desk", Presence::kRequired, &desk, 64);
    if (s.ok()) s = body->GetString("username", Presence::kRequired, &username, 64);
    if (s.ok()) s = body->GetString("password", Presence::kRequired, &password, 200);
    if (!s.ok()) return SendError(c.response, s);
    std::string name;
    auto token = engine_->Login(desk, username, password, &name);
    if (!token.ok()) return SendError(c.response, token.status());
    JsonWriter w;
    w.BeginObject().Field("token", *token).Field("expires_in", options_.agent_session_seconds);
    w.Field("username", username).Field("name", name).EndObject();
    SendJson(c.response, 200, w.Take());
  });
  AddRoute("POST", "/v1/agent/logout", A::kAgent, json, [this](HttpCall& c) {
    Status s = engine_->Logout(c.bearer);
    if (!s.ok()) return SendError(c.response, s);
    SendJson(c.response, 200, "{\"ok\":true}");
  });
  AddRoute("PUT", "/v1/agent/presence", A::kAgent, json, [this](HttpCall& c) {
    auto body = ReadJsonBody(c.request, false, {"status"});
    if (!body.ok()) return SendError(c.response, body.status());
    std::string status;
    Status s = body->GetString("status", Presence::kRequired, &status, 16);
    if (!s.ok()) return SendError(c.response, s);
    auto presence = ParsePresence(status);
    if (!presence) return SendError(c.response, Status::InvalidArgument("field 'status': online, away or offline"));
    s = engine_->SetPresence(c.agent, *presence);
    if (!s.ok()) return SendError(c.response, s);
    JsonWriter w;
    w.BeginObject().Field("status", PresenceName(*presence)).EndObject();
    SendJson(c.response, 200, w.Take());
  });
  AddRoute("GET", "/v1/agent/queue", A::kAgent, 0, [this](HttpCall& c) {
    auto views = engine_->Queue(c.agent);
    if (!views.ok()) return SendError(c.response, views.status());
    SendJson(c.response, 200, "{\"conversations\":" + AgentViewsJson(*views) + "}");
  });
  AddRoute("GET", "/v1/agent/conversations", A::kAgent, 0, [this](HttpCall& c) {
    auto views = engine_->AgentConversations(c.agent);
    if (!views.ok()) return SendError(c.response, views.status());
    SendJson(c.response, 200, "{\"conversations\":" + AgentViewsJson(*views) + "}");
  });
  AddRoute("GET", "/v1/agent/conversations/{id}", A::kAgent, 0, [this](HttpCall& c) {
    auto view = engine_->AgentGetConversation(c.agent, c.Param("id"));
    if (!view.ok()) return SendError(c.response, view.status());
    SendJson(c.response, 200, "{\"conversation\":" + AgentViewJson(*view) + "}");
  });
  AddRoute("GET", "/v1/agent/conversations/{id}/messages", A::kAgent, 0, [this](HttpCall& c) {
    auto after = QueryUint(c.request, "after", 0, UINT64_MAX);
    auto limit = QueryUint(c.request, "limit", kHistoryPage, kMaxHistoryPage);
    if (!after.ok()) return SendError(c.response, after.status());
    if (!limit.ok()) return SendError(c.response, limit.status());
    auto history = engine_->AgentHistory(c.agent, c.Param("id"), *after, std::max<uint64_t>(1, *limit));
    if (!history.ok()) return SendError(c.response, history.status());
    SendJson(c.response, 200, "{\"messages\":" + MessagesJson(*history) + "}");
  });
  AddRoute("POST", "/v1/agent/conversations/{id}/claim", A::kAgent, json, [this](HttpCall& c) {
    auto body = ReadJsonBody(c.request, true, {});
    if (!body.ok()) return SendError(c.response, body.status());
    auto view = engine_->Claim(c.agent, c.Param("id"));
    if (!view.ok()) return SendError(c.response, view.status());
    SendJson(c.response, 200, "{\"conversation\":" + AgentViewJson(*view) + "}");
  });
  for (const char* kind : {"reply", "note"}) {
    const bool reply = std::string_view(kind) == "reply";
    AddRoute("POST", std::string("/v1/agent/conversations/{id}/") + kind, A::kAgent, json, [this, reply](HttpCall& c) {
      auto body = ReadJsonBody(c.request, false, {"text"});
      if (!body.ok()) return SendError(c.response, body.status());
      std::string text;
      Status s = body->GetString("text", Presence::kRequired, &text);
      if (!s.ok()) return SendError(c.response, s);
      auto message = reply ? engine_->Reply(c.agent, c.Param("id"), text) : engine_->AddNote(c.agent, c.Param("id"), text);
      if (!message.ok()) return SendError(c.response, message.status());
      SendJson(c.response, 201, "{\"message\":" + EncodeMessage(*message) + "}");
    });
  }
  AddRoute("POST", "/v1/agent/conversations/{id}/transfer", A::kAgent, json, [this](HttpCall& c) {
    auto body = ReadJsonBody(c.request, false, {"to_agent", "to_team"});
    if (!body.ok()) return SendError(c.response, body.status());
    std::string to_agent, to_team;
    Status s = body->GetString("to_agent", Presence::kOptional, &to_agent, 64);
    if (s.ok()) s = body->GetString("to_team", Presence::kOptional, &to_team, 64);
    if (s.ok()) s = engine_->Transfer(c.agent, c.Param("id"), to_agent, to_team);
    if (!s.ok()) return SendError(c.response, s);
    auto view = engine_->AgentGetConversation(c.agent, c.Param("id"));
    if (!view.ok()) return SendError(c.response, view.status());
    SendJson(c.response, 200, "{\"conversation\":" + AgentViewJson(*view) + "}");
  });
  AddRoute("POST", "/v1/agent/conversations/{id}/resolve", A::kAgent, json, [this](HttpCall& c) {
    auto body = ReadJsonBody(c.request, true, {});
    if (!body.ok()) return SendError(c.response, body.status());
    Status s = engine_->Resolve(c.agent, c.Param("id"));
    if (!s.ok()) return SendError(c.response, s);
    auto view = engine_->AgentGetConversation(c.agent, c.Param("id"));
    if (!view.ok()) return SendError(c.response, view.status());
    SendJson(c.response, 200, "{\"conversation\":" + AgentViewJson(*view) + "}");
  });
  AddRoute("GET", "/v1/agent/conversations/{id}/suggestions", A::kAgent, 0, [this](HttpCall& c) {
    auto suggestions = engine_->Suggestions(c.agent, c.Param("id"));
    if (!suggestions.ok()) return SendError(c.response, suggestions.status());
    JsonWriter w;
    w.BeginObject().Key("suggestions").BeginArray();
    for (const Suggestion& s : *suggestions) {
      w.BeginObject().Field("entry_id", s.entry_id).Field("title", s.title).Field("answer", s.answer);
      w.Key("confidence").Double(s.confidence).EndObject();
    }
    SendJson(c.response, 200, w.EndArray().EndObject().Take());
  });
  AddRoute("POST", "/v1/agent/conversations/{id}/tickets", A::kAgent, json, [this](HttpCall& c) {
    auto body = ReadJsonBody(c.request, false, {"subject"});
    if (!body.ok()) return SendError(c.response, body.status());
    std::string subject;
    Status s = body->GetString("subject", Presence::kRequired, &subject, 500);
    if (!s.ok()) return SendError(c.response, s);
    auto ticket = engine_->OpenFollowUp(c.agent, c.Param("id"), subject);
    if (!ticket.ok()) return SendError(c.response, ticket.status());
    SendJson(c.response, 201, "{\"ticket\":" + EncodeTicket(*ticket) + "}");
  });
  AddRoute("GET", "/v1/agent/tickets", A::kAgent, 0, [this](HttpCall& c) {
    std::optional<TicketStatus> status;
    if (c.request.has_param("status")) {
      status = ParseTicketStatus(c.request.get_param_value("status"));
      if (!status) return SendError(c.response, Status::InvalidArgument("query 'status': open, pending, solved or closed"));
    }
    auto tickets = engine_->Tickets(c.agent, status);
    if (!tickets.ok()) return SendError(c.response, tickets.status());
    SendJson(c.response, 200, "{\"tickets\":" + TicketsJson(*tickets) + "}");
  });
  AddRoute("PATCH", "/v1/agent/tickets/{id}", A::kAgent, json, [this](HttpCall& c) {
    auto body = ReadJsonBody(c.request, false, {"status", "priority", "tags", "remind_at", "note", "assignee"});
    if (!body.ok()) return SendError(c.response, body.status());
    TicketUpdate u;
    std::string status;
    Status s = body->GetString("status", Presence::kOptional, &status, 16);
    if (s.ok() && body->Has("status")) {
      u.status = ParseTicketStatus(status);
      if (!u.status) s = Status::InvalidArgument("field 'status': open, pending, solved or closed");
    }
    if (s.ok() && body->Has("priority")) {
      int64_t p = 0;
      s = body->GetInt("priority", Presence::kRequired, 0, 2, &p);
      u.priority = static_cast<int>(p);
    }
    if (s.ok() && body->Has("tags")) {
      std::vector<std::string> tags;
      s = body->GetStringArray("tags", Presence::kRequired, 20, 64, &tags);
      u.tags = std::move(tags);
    }
    if (s.ok() && body->Has("remind_at")) {
      int64_t at = 0;  // unix seconds; 0 clears the reminder
      s = body->GetInt("remind_at", Presence::kRequired, 0, INT64_C(1) << 40, &at);
      u.remind_at = at * kMicrosPerSecond;
    }
    if (s.ok()) s = body->GetString("note", Presence::kOptional, &u.note, 100000);
    if (s.ok() && body->Has("assignee")) {
      std::string assignee;
      s = body->GetString("assignee", Presence::kRequired, &assignee, 64, true);
      u.assignee = std::move(assignee);
    }
    if (!s.ok()) return SendError(c.response, s);
    auto ticket = engine_->UpdateTicket(c.agent, c.Param("id"), u);
    if (!ticket.ok()) return SendError(c.response, ticket.status());
    SendJson(c.response, 200, "{\"ticket\":" + EncodeTicket(*ticket) + "}");
  });
  // The agent console's (adapters/web/console.js): a heartbeat for its presence switch and the
  // desk's dashboard, which the admin stats route would need the admin token for.
  AddRoute("POST", "/v1/agent/heartbeat", A::kAgent, json, [this](HttpCall& c) {
    auto body = ReadJsonBody(c.request, true, {});
    if (!body.ok()) return SendError(c.response, body.status());
    Status s = engine_->Heartbeat(c.agent);
    if (!s.ok()) return SendError(c.response, s);
    SendJson(c.response, 200, "{\"ok\":true}");
  });
  AddRoute("GET", "/v1/agent/stats", A::kAgent, 0, [this](HttpCall& c) {
    auto stats = engine_->Stats(c.agent.desk);
    if (!stats.ok()) return SendError(c.response, stats.status());
    std::string out = StatsJson(c.agent.desk, *stats);
    for (const Engine::DeskGauges& g : engine_->Gauges()) {
      if (g.desk != c.agent.desk) continue;
      out.pop_back();  // '}'
      out += ",\"queue_length\":" + std::to_string(g.queued) + ",\"agents_online\":" + std::to_string(g.agents_online) +
             ",\"serving\":" + std::to_string(g.serving) + "}";
    }
    SendJson(c.response, 200, std::move(out));
  });
  AddRoute("GET", "/v1/agent/events", A::kAgent, 0, [this](HttpCall& c) { AgentEvents(c); });
  AddRoute("GET", "/v1/agent/poll", A::kAgent, 0, [this](HttpCall& c) { AgentPoll(c); });

  // --- Admin ---
  AddDeskRoutes();
  AddRoute("POST", "/v1/admin/desks/{desk}/agents", A::kDeskAdmin, json, [this](HttpCall& c) {
    const auto desks = DeskEdges();
    auto desk = desks->find(c.Param("desk"));
    if (desk == desks->end()) return SendError(c.response, Status::NotFound("no such desk"));
    auto body = ReadJsonBody(c.request, false, {"username", "password", "name", "teams", "capacity", "role"});
    if (!body.ok()) return SendError(c.response, body.status());
    std::string username, password, name, role = "agent";
    std::vector<std::string> teams;
    int64_t capacity = desk->second.default_capacity;
    Status s = body->GetString("username", Presence::kRequired, &username, 64);
    if (s.ok()) s = body->GetString("password", Presence::kRequired, &password, 200);
    if (s.ok()) s = body->GetString("name", Presence::kOptional, &name, 100);
    if (s.ok()) s = body->GetStringArray("teams", Presence::kOptional, 50, 64, &teams);
    if (s.ok()) s = body->GetInt("capacity", Presence::kOptional, 1, 100, &capacity);
    if (s.ok()) s = body->GetString("role", Presence::kOptional, &role, 16);
    if (s.ok() && role != "agent" && role != "desk_admin") s = Status::InvalidArgument("field 'role': agent or desk_admin");
    if (s.ok()) {
      s = engine_->CreateAgent(c.Param("desk"), username, password, name, teams, static_cast<int>(capacity),
                               role == "desk_admin");
    }
    if (!s.ok()) return SendError(c.response, s);
    JsonWriter w;
    w.BeginObject().Key("agent").BeginObject().Field("desk", c.Param("desk")).Field("username", username);
    w.Field("name", name).Key("teams").BeginArray();
    for (const std::string& t : teams) w.String(t);
    w.EndArray().Field("capacity", capacity).Field("role", role).EndObject().EndObject();
    SendJson(c.response, 201, w.Take());
  });
  AddRoute("GET", "/v1/admin/desks/{desk}/agents", A::kDeskAdmin, 0, [this](HttpCall& c) {
    auto agents = engine_->ListAgents(c.Param("desk"));
    if (!agents.ok()) return SendError(c.response, agents.status());
    JsonWriter w;
    w.BeginObject().Key("agents").BeginArray();
    for (const AgentSummary& a : *agents) WriteAgentSummary(w, c.Param("desk"), a);
    SendJson(c.response, 200, w.EndArray().EndObject().Take());
  });
  AddRoute("PATCH", "/v1/admin/desks/{desk}/agents/{username}", A::kDeskAdmin, json, [this](HttpCall& c) {
    auto body = ReadJsonBody(c.request, false, {"name", "teams", "capacity", "role", "password"});
    if (!body.ok()) return SendError(c.response, body.status());
    AgentUpdate u;
    std::string text, role;
    std::vector<std::string> teams;
    int64_t capacity = 0;
    Status s = body->GetString("name", Presence::kOptional, &text, 100);
    if (s.ok() && body->Has("name")) u.display_name = text;
    if (s.ok()) s = body->GetStringArray("teams", Presence::kOptional, 50, 64, &teams);
    if (s.ok() && body->Has("teams")) u.teams = teams;
    if (s.ok()) s = body->GetInt("capacity", Presence::kOptional, 1, 100, &capacity);
    if (s.ok() && body->Has("capacity")) u.capacity = static_cast<int>(capacity);
    if (s.ok()) s = body->GetString("role", Presence::kOptional, &role, 16);
    if (s.ok() && body->Has("role")) {
      if (role != "agent" && role != "desk_admin") s = Status::InvalidArgument("field 'role': agent or desk_admin");
      u.desk_admin = role == "desk_admin";
    }
    if (s.ok()) s = body->GetString("password", Presence::kOptional, &text, 200);
    if (s.ok() && body->Has("password")) u.password = text;
    if (!s.ok()) return SendError(c.response, s);
    auto updated = engine_->UpdateAgent(c.Param("desk"), c.Param("username"), u);
    if (!updated.ok()) return SendError(c.response, updated.status());
    JsonWriter w;
    w.BeginObject().Key("agent");
    WriteAgentSummary(w, c.Param("desk"), *updated);
    SendJson(c.response, 200, w.EndObject().Take());
  });
  AddRoute("DELETE", "/v1/admin/desks/{desk}/agents/{username}", A::kDeskAdmin, 0, [this](HttpCall& c) {
    Status s = engine_->DeleteAgent(c.Param("desk"), c.Param("username"));
    if (!s.ok()) return SendError(c.response, s);
    JsonWriter w;
    SendJson(c.response, 200, w.BeginObject().Field("deleted", c.Param("username")).EndObject().Take());
  });
  AddRoute("PUT", "/v1/admin/desks/{desk}/kb", A::kDeskAdmin, options_.max_kb_body_bytes, [this](HttpCall& c) {
    std::string language = c.request.get_param_value("language");
    if (language.size() > 16) return SendError(c.response, Status::InvalidArgument("query 'language': too long"));
    const std::string type = c.request.get_header_value("Content-Type");
    std::string kb_json = c.request.body;
    if (type.rfind("text/csv", 0) == 0) {  // the sheet people keep their FAQ in
      auto kb = ParseKnowledgeBaseCsv(c.request.body, "the uploaded CSV");
      if (!kb.ok()) return SendError(c.response, kb.status());
      kb_json = KnowledgeBaseToJson(*kb);
    } else if (type.rfind("application/json", 0) != 0) {
      return SendError(c.response, Status::InvalidArgument("Content-Type must be application/json or text/csv"));
    }
    int version = 0;
    if (kb_uploader_) {
      auto recorded = kb_uploader_(c.Param("desk"), language, kb_json,
                                   c.agent.username.empty() ? "admin" : c.agent.username);
      if (!recorded.ok()) return SendError(c.response, recorded.status());
      version = *recorded;
    } else if (Status s = engine_->ReplaceKnowledgeBase(c.Param("desk"), language, kb_json); !s.ok()) {
      return SendError(c.response, s);
    }
    JsonWriter w;
    w.BeginObject().Field("ok", true).Field("desk", c.Param("desk")).Field("language", language);
    if (version > 0) w.Field("version", static_cast<int64_t>(version));
    SendJson(c.response, 200, w.EndObject().Take());
  });
  AddRoute("GET", "/v1/admin/desks/{desk}/stats", A::kDeskAdmin, 0, [this](HttpCall& c) {
    auto stats = engine_->Stats(c.Param("desk"));
    if (!stats.ok()) return SendError(c.response, stats.status());
    SendJson(c.response, 200, StatsJson(c.Param("desk"), *stats));
  });

  // --- Web channel: the widget, its demo pages and the agent console (adapters/web_assets.h) ---
  AddWebRoutes(this);
  AddRoute("GET", "/intranet", A::kPublic, 0, [this](HttpCall& c) {
    const auto desks = DeskEdges();
    const auto hr = desks->find("hr");
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    ServeDemoIntranet(c, hr == desks->end() ? std::string_view() : std::string_view(hr->second.identity.secret), now);
  });
}

// ---- Handlers ----------------------------------------------------------------------------------------

void HttpApi::Metrics(HttpCall& call) {
  call.response.status = 200;
  call.response.body = impl_->metrics.Render(engine_->Gauges(), engine_->GetEngineStats());
  call.response.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
}

void HttpApi::StartConversation(HttpCall& call) {
  httplib::Response& res = call.response;
  const auto desks = DeskEdges();
  auto desk = desks->find(call.Param("desk"));
  if (desk == desks->end()) return SendError(res, Status::NotFound("no such desk"));
  if (impl_->starts.Take(ClientAddress(call.request), MonotonicMicros()) > 0) {
    res.set_header("Retry-After", "60");
    return SendHttpError(res, 429, "resource_exhausted", "too many new conversations from this address");
  }
  auto body = ReadJsonBody(call.request, true, {"channel", "locale", "customer"});
  if (!body.ok()) return SendError(res, body.status());
  StartRequest start;
  start.desk = call.Param("desk");
  std::string channel = "web";
  Status s = body->GetString("channel", Presence::kOptional, &channel, 16);
  if (s.ok() && channel != "web" && channel != "app") s = Status::InvalidArgument("field 'channel': web or app");
  if (s.ok()) start.channel = *ParseChannel(channel);
  if (s.ok()) s = body->GetString("locale", Presence::kOptional, &start.locale, 16);
  if (s.ok() && !start.locale.empty() && start.locale.rfind("zh", 0) != 0 && start.locale.rfind("en", 0) != 0) {
    s = Status::InvalidArgument("field 'locale': zh or en");
  }
  const rapidjson::Value* customer = nullptr;
  if (s.ok()) s = body->GetObject("customer", Presence::kOptional, &customer);
  if (!s.ok()) return SendError(res, s);
  if (customer != nullptr) {
    auto c = JsonObject::From(*customer);
    if (!c.ok()) return SendError(res, c.status().WithContext("field 'customer'"));
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    auto who = ReadCustomerIdentity(*c, desk->second.identity, now, options_.identity, &start.link_token);
    if (!who.ok()) return SendError(res, who.status());
    start.verified_user = who->user_id;
    start.profile = {who->name, who->email, who->department};
  }
  auto started = engine_->StartConversation(start);
  if (!started.ok()) return SendError(res, started.status());
  auto view = engine_->GetConversation(started->conversation_id);
  if (!view.ok()) return SendError(res, view.status());
  JsonWriter w;
  w.BeginObject().Field("conversation_id", started->conversation_id).Field("customer_token", started->customer_token);
  w.Field("resumed", started->resumed).Field("linked", started->linked).Key("messages").Raw(MessagesJson(started->messages));
  w.Key("conversation").Raw(ConversationViewJson(*view)).EndObject();
  SendJson(res, started->resumed ? 200 : 201, w.Take());
}

void HttpApi::PostMessage(HttpCall& call) {
  httplib::Response& res = call.response;
  auto body = ReadJsonBody(call.request, false, {"text", "client_msg_id", "choice", "channel"});
  if (!body.ok()) return SendError(res, body.status());
  CustomerMessageRequest m;
  m.conversation_id = call.Param("id");
  std::string channel;
  Status s = body->GetString("text", Presence::kRequired, &m.text);
  if (s.ok()) s = body->GetString("client_msg_id", Presence::kOptional, &m.client_msg_id, 100);
  if (s.ok()) s = body->GetString("choice", Presence::kOptional, &m.choice, 200);
  if (s.ok()) s = body->GetString("channel", Presence::kOptional, &channel, 16);
  if (s.ok() && !channel.empty() && channel != "web" && channel != "app") s = Status::InvalidArgument("field 'channel': web or app");
  if (!s.ok()) return SendError(res, s);
  if (!channel.empty()) m.channel = *ParseChannel(channel);
  auto turn = engine_->PostCustomerMessage(m);
  if (!turn.ok()) return SendError(res, turn.status());
  if (turn->decision) impl_->metrics.CountDecision(turn->conversation.desk, MatchDecisionName(*turn->decision));
  SendJson(res, 200, TurnJson(*turn));
}

}  // namespace kefu
