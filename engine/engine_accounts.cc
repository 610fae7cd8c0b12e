// Agent accounts over the admin routes: list, change, remove (Engine's "Agents" section). Sessions
// are tied to the account's epoch (Agent::session_epoch), so a reset or a removal ends them at once
// on every node without an index of sessions by agent.
#include <algorithm>

#include "base/utf8.h"
#include "engine/auth.h"
#include "engine/engine.h"
#include "engine/engine_impl.h"

namespace kefu {

namespace {

AgentSummary SummaryOf(const Agent& a, const AgentLive& live, int serving) {
  AgentSummary s;
  s.username = a.username;
  s.display_name = a.display_name;
  s.teams = a.teams;
  s.capacity = a.capacity;
  s.desk_admin = a.desk_admin;
  s.created_at = a.created_at;
  s.presence = live.presence;
  s.serving = serving;
  return s;
}

Status CheckUpdate(const AgentUpdate& u) {
  if (u.display_name && (!IsValidUtf8(*u.display_name) || CountCodePoints(*u.display_name) > 100)) {
    return Status::InvalidArgument("field 'name': at most 100 characters of valid UTF-8");
  }
  if (u.capacity && (*u.capacity < 1 || *u.capacity > 100)) {
    return Status::InvalidArgument("field 'capacity': must be from 1 to 100");
  }
  if (u.password && u.password->size() < 8) return Status::InvalidArgument("field 'password': at least 8 characters");
  if (u.password && u.password->size() > 200) return Status::InvalidArgument("field 'password': at most 200 characters");
  return Status::OK();
}

}  // namespace

Result<std::vector<AgentSummary>> Engine::ListAgents(std::string_view desk) const {
  Impl& m = *impl_;
  if (m.Desk(desk) == nullptr) return Status::NotFound("no such desk");
  std::vector<AgentSummary> out;
  Status s = m.Run([&](Op& op) {
    out.clear();
    auto agents = op.rec.Agents(desk);
    if (!agents.ok()) return agents.status();
    auto lives = op.rec.AgentLives(desk);
    if (!lives.ok()) return lives.status();
    auto serving = op.rec.ServingCounts(desk);
    if (!serving.ok()) return serving.status();
    for (const Agent& a : *agents) {
      auto live = lives->find(a.username);
      auto n = serving->find(a.username);
      out.push_back(SummaryOf(a, live == lives->end() ? AgentLive() : live->second,
                              n == serving->end() ? 0 : n->second));
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  std::sort(out.begin(), out.end(), [](const AgentSummary& a, const AgentSummary& b) { return a.username < b.username; });
  return out;
}

Result<AgentSummary> Engine::UpdateAgent(std::string_view desk, std::string_view username, const AgentUpdate& u) {
  KEFU_RETURN_IF_ERROR(CheckUpdate(u));
  Impl& m = *impl_;
  DeskRuntime* d = m.Desk(desk);
  if (d == nullptr) return Status::NotFound("no such desk");
  std::optional<std::string> hash;
  if (u.password) {
    auto h = HashPassword(*u.password, m.options.password_cost);  // slow on purpose: outside any transaction
    if (!h.ok()) return h.status();
    hash = *h;
  }
  AgentSummary result;
  Status s = m.Run([&](Op& op) {
    auto live = op.rec.LoadAgentLive(desk, username, RecordTxn::Lock::kUpdate);  // serialises with routing
    if (!live.ok()) return live.status();
    auto found = op.rec.LoadAgent(desk, username);
    if (!found.ok()) return found.status();
    if (!found->has_value()) return Status::NotFound("no such agent");
    Agent a = **found;
    if (u.display_name) a.display_name = *u.display_name;
    if (u.teams) a.teams = *u.teams;
    if (u.capacity) a.capacity = *u.capacity;
    if (u.desk_admin) a.desk_admin = *u.desk_admin;
    if (hash) {
      a.password_hash = *hash;
      a.session_epoch = RandomHex(8);  // every earlier session ends
    }
    op.rec.PutAgent(a);
    auto serving = op.rec.Serving(desk, username);
    if (!serving.ok()) return serving.status();
    result = SummaryOf(a, *live, static_cast<int>(serving->size()));
    if (u.capacity || u.teams) KEFU_RETURN_IF_ERROR(m.Route(op, *d));  // more room, or other teams
    return op.Finish();
  });
  if (!s.ok()) return s;
  return result;
}

Status Engine::DeleteAgent(std::string_view desk, std::string_view username) {
  Impl& m = *impl_;
  DeskRuntime* d = m.Desk(desk);
  if (d == nullptr) return Status::NotFound("no such desk");
  return m.Run([&](Op& op) {
    auto live = op.rec.LoadAgentLive(desk, username, RecordTxn::Lock::kUpdate);
    if (!live.ok()) return live.status();
    auto found = op.rec.LoadAgent(desk, username);
    if (!found.ok()) return found.status();
    if (!found->has_value()) return Status::NotFound("no such agent");
    KEFU_RETURN_IF_ERROR(m.RequeueAgentConversations(op, *d, username));
    op.rec.DeleteAgent(desk, username, *live);
    if (live->presence != AgentPresence::kOffline) op.Publish(PresenceEvent(desk, username, DisplayName(**found), AgentPresence::kOffline));
    KEFU_RETURN_IF_ERROR(m.Route(op, *d));  // what the agent served, to the free seats
    return op.Finish();
  });
}

}  // namespace kefu
