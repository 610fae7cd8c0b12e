// Agents' calls: accounts, sessions, presence, the queue, and work on conversations and tickets.
#include <algorithm>
#include <mutex>

#include "base/json.h"
#include "base/utf8.h"
#include "engine/auth.h"
#include "engine/engine.h"
#include "engine/engine_impl.h"

namespace kefu {
namespace {

// Agents' calls refresh their heartbeat at most this often (each refresh is a write).
constexpr int64_t kHeartbeatWriteMicros = 10 * kMicrosPerSecond;

bool IsUsername(std::string_view u) {
  if (u.empty() || u.size() > 64) return false;
  for (char c : u) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return false;
  }
  return true;
}


}  // namespace

LiveEvent PresenceEvent(std::string_view desk, std::string_view username, std::string_view name, AgentPresence presence) {
  LiveEvent e;
  e.desk = std::string(desk);
  e.type = LiveEventType::kPresence;
  JsonWriter w;
  w.BeginObject().Field("agent", username).Field("name", name).Field("presence", PresenceName(presence)).EndObject();
  e.data = w.Take();
  return e;
}

// ---- Accounts and sessions ------------------------------------------------------------------------------

Status Engine::CreateAgent(std::string_view desk, std::string_view username, std::string_view password,
                           std::string_view display_name, const std::vector<std::string>& teams, int capacity,
                           bool desk_admin) {
  if (!IsUsername(username)) return Status::InvalidArgument("field 'username': must match [a-z0-9._-]{1,64}");
  if (password.size() < 8) return Status::InvalidArgument("field 'password': at least 8 characters");
  if (password.size() > 200) return Status::InvalidArgument("field 'password': at most 200 characters");
  if (!IsValidUtf8(display_name) || CountCodePoints(display_name) > 100) {
    return Status::InvalidArgument("field 'name': at most 100 characters of valid UTF-8");
  }
  if (capacity < 1 || capacity > 100) return Status::InvalidArgument("field 'capacity': must be from 1 to 100");
  Impl& m = *impl_;
  if (m.Desk(desk) == nullptr) return Status::NotFound("no such desk");
  auto exists = [&](Op& op) -> Result<bool> {
    auto a = op.rec.LoadAgent(desk, username);
    if (!a.ok()) return a.status();
    return a->has_value();
  };
  bool taken = false;
  KEFU_RETURN_IF_ERROR(m.Run([&](Op& op) {
    auto e = exists(op);
    if (!e.ok()) return e.status();
    taken = *e;
    return Status::OK();
  }));
  if (taken) return Status::Conflict("an agent with this username exists");
  auto hash = HashPassword(password, m.options.password_cost);  // slow on purpose: outside any transaction
  if (!hash.ok()) return hash.status();
  return m.Run([&](Op& op) {
    KEFU_RETURN_IF_ERROR(op.rec.LockCustomer(desk, "agent:" + std::string(username)));  // one creation at a time
    auto e = exists(op);
    if (!e.ok()) return e.status();
    if (*e) return Status::Conflict("an agent with this username exists");
    Agent a;
    a.desk = std::string(desk);
    a.username = std::string(username);
    a.display_name = std::string(display_name);
    a.password_hash = *hash;
    a.teams = teams;
    a.desk_admin = desk_admin;
    a.capacity = capacity;
    a.created_at = op.now;
    a.session_epoch = RandomHex(8);
    op.rec.PutAgent(a);
    return op.rec.SaveAgentLive(desk, username, AgentLive(), AgentLive());
  });
}

bool Engine::Impl::VerifyPasswordBounded(std::string_view hash, std::string_view password) {
  {
    std::unique_lock<std::mutex> lock(verify_mu);
    verify_cv.wait(lock, [&] { return verifying < options.max_concurrent_password_checks; });
    ++verifying;
  }
  const bool ok = VerifyPassword(hash, password);
  {
    std::lock_guard<std::mutex> lock(verify_mu);
    --verifying;
  }
  verify_cv.notify_one();
  return ok;
}

const std::string& Engine::Impl::DummyPasswordHash() {
  std::call_once(dummy_once, [&] {
    auto h = HashPassword("not-a-password-" + RandomToken(), options.password_cost);
    dummy_hash = h.ok() ? *h : std::string();
  });
  return dummy_hash;
}

Result<std::string> Engine::Login(std::string_view desk, std::string_view username, std::string_view password,
                                  std::string* display_name) {
  Impl& m = *impl_;
  const Status wrong = Status::Unauthenticated("wrong desk, username or password");
  std::optional<std::string> hash;
  std::string epoch;  // of the account whose hash was verified
  // The attempt is counted before the password is verified, under the agent's live row's lock:
  // however many arrive at once, at most max_failed_logins wrong passwords are ever verified per
  // window (a success gives the attempt back).
  Status reserved = m.Desk(desk) == nullptr ? Status::OK() : m.Run([&](Op& op) {
    hash.reset();
    auto a = op.rec.LoadAgent(desk, username);
    if (!a.ok()) return a.status();
    if (!a->has_value()) return Status::OK();
    auto live = op.rec.LoadAgentLive(desk, username, RecordTxn::Lock::kUpdate);
    if (!live.ok()) return live.status();
    AgentLive after = *live;
    if (after.first_failed_at != 0 && op.now - after.first_failed_at > m.options.failed_login_window_micros) {
      after.failed_logins = 0;
      after.first_failed_at = 0;
    }
    if (after.failed_logins >= m.options.max_failed_logins) {
      return Status::ResourceExhausted("too many failed logins for this account; try again in a few minutes");
    }
    if (after.failed_logins++ == 0) after.first_failed_at = op.now;
    hash = (*a)->password_hash;
    epoch = (*a)->session_epoch;
    return op.rec.SaveAgentLive(desk, username, *live, after);
  });
  if (!reserved.ok()) return reserved;
  if (!hash) {
    m.VerifyPasswordBounded(m.DummyPasswordHash(), password);  // as slow as a real check: no user enumeration
    return wrong;
  }
  if (!m.VerifyPasswordBounded(*hash, password)) return wrong;
  const std::string token = RandomToken();
  Status s = m.Run([&](Op& op) {
    auto live = op.rec.LoadAgentLive(desk, username, RecordTxn::Lock::kUpdate);
    if (!live.ok()) return live.status();
    auto a = op.rec.LoadAgent(desk, username);
    if (!a.ok()) return a.status();
    if (!a->has_value() || (*a)->session_epoch != epoch) return wrong;  // reset or removed meanwhile
    if (display_name != nullptr) *display_name = DisplayName(**a);
    AgentLive after = *live;
    after.failed_logins = 0;
    after.first_failed_at = 0;
    after.last_seen = op.now;
    KEFU_RETURN_IF_ERROR(op.rec.SaveAgentLive(desk, username, *live, after));
    op.rec.PutSession(HashToken(token), Session{std::string(desk), std::string(username),
                                                op.now + m.options.agent_session_micros, epoch});
    return Status::OK();
  });
  if (!s.ok()) return s;
  return token;
}

Result<AgentIdentity> Engine::AuthenticateAgent(std::string_view token) {
  Impl& m = *impl_;
  if (token.empty()) return Status::Unauthenticated("missing agent token");
  const std::string hash = HashToken(token);
  AgentIdentity id;
  bool refresh = false;
  Status s = m.Run([&](Op& op) {
    auto session = op.rec.LoadSession(hash);
    if (!session.ok()) return session.status();
    if (!session->has_value()) return Status::Unauthenticated("invalid agent token");
    if ((*session)->expires_at <= op.now) return Status::Unauthenticated("the agent token has expired; log in again");
    auto agent = op.rec.LoadAgent((*session)->desk, (*session)->username);
    if (!agent.ok()) return agent.status();
    if (!agent->has_value() || m.Desk((*session)->desk) == nullptr ||
        (*agent)->session_epoch != (*session)->agent_epoch) {
      return Status::Unauthenticated("invalid agent token");  // removed, reset, or made again since
    }
    id = AgentIdentity{(*session)->desk, (*session)->username, (**agent).desk_admin};
    auto live = op.rec.LoadAgentLive(id.desk, id.username, RecordTxn::Lock::kNone);
    if (!live.ok()) return live.status();
    refresh = op.now - live->last_seen > kHeartbeatWriteMicros;
    return Status::OK();
  });
  if (!s.ok()) return s;
  if (refresh) Heartbeat(id);  // a best effort: the next call tries again
  return id;
}

Status Engine::Logout(std::string_view token) {
  const std::string hash = HashToken(token);
  return impl_->Run([&](Op& op) {
    auto session = op.rec.LoadSession(hash);
    if (!session.ok()) return session.status();
    if (!session->has_value()) return Status::Unauthenticated("invalid agent token");
    op.rec.DeleteSession(hash);
    return Status::OK();
  });
}

Status Engine::SetPresence(const AgentIdentity& agent, AgentPresence presence) {
  Impl& m = *impl_;
  DeskRuntime* d = m.Desk(agent.desk);
  if (d == nullptr) return Status::Unauthenticated("unknown agent");
  return m.Run([&](Op& op) {
    auto a = op.rec.LoadAgent(agent.desk, agent.username);
    if (!a.ok()) return a.status();
    if (!a->has_value()) return Status::Unauthenticated("unknown agent");
    auto live = op.rec.LoadAgentLive(agent.desk, agent.username, RecordTxn::Lock::kUpdate);
    if (!live.ok()) return live.status();
    AgentLive after = *live;
    after.presence = presence;
    after.last_seen = op.now;
    after.heartbeat_due =
        presence == AgentPresence::kOffline ? 0 : op.now + d->config().settings.heartbeat_timeout_micros + 1;
    KEFU_RETURN_IF_ERROR(op.rec.SaveAgentLive(agent.desk, agent.username, *live, after));
    op.Publish(PresenceEvent(agent.desk, agent.username, DisplayName(**a), presence));
    if (presence == AgentPresence::kOnline) KEFU_RETURN_IF_ERROR(m.Route(op, *d));
    op.QueueChanged(agent.desk, true);  // positions and expected waits depend on who is online
    return op.Finish();
  });
}

Status Engine::Heartbeat(const AgentIdentity& agent) {
  return impl_->Run([&](Op& op) {
    auto a = op.rec.LoadAgent(agent.desk, agent.username);
    if (!a.ok()) return a.status();
    if (!a->has_value()) return Status::Unauthenticated("unknown agent");
    auto live = op.rec.LoadAgentLive(agent.desk, agent.username, RecordTxn::Lock::kUpdate);
    if (!live.ok()) return live.status();
    AgentLive after = *live;
    after.last_seen = op.now;  // the heartbeat timer re-arms from it when it fires
    return op.rec.SaveAgentLive(agent.desk, agent.username, *live, after);
  });
}

// ---- Reading the desk ----------------------------------------------------------------------------------

Result<std::vector<ConversationView>> Engine::Queue(const AgentIdentity& agent) const {
  if (impl_->Desk(agent.desk) == nullptr) return Status::Unauthenticated("unknown agent");
  std::vector<ConversationView> out;
  Status s = impl_->Run([&](Op& op) {
    out.clear();
    std::vector<QueueEntry> waiting;
    KEFU_RETURN_IF_ERROR(op.rec.ScanQueue(agent.desk, [&](const QueueRow& row) {
      waiting.push_back(row.entry);
      return true;
    }));
    std::map<std::string, int> position;
    for (const QueueEntry& q : waiting) {
      auto c = op.rec.LoadConversation(q.conversation, RecordTxn::Lock::kNone);
      if (!c.ok()) continue;
      const QueueStatus status = op.StatusAt(agent.desk, q.team, ++position[q.team]);
      auto v = op.ViewWith(*c, &status);
      if (!v.ok()) return v.status();
      out.push_back(std::move(*v));
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<ConversationView>> Engine::AgentConversations(const AgentIdentity& agent) const {
  const DeskRuntime* d = impl_->Desk(agent.desk);
  if (d == nullptr) return Status::Unauthenticated("unknown agent");
  std::vector<ConversationView> out;
  Status s = impl_->Run([&](Op& op) {
    out.clear();
    auto ids = op.rec.Serving(agent.desk, agent.username);
    if (!ids.ok()) return ids.status();
    for (const std::string& id : *ids) {
      auto c = op.rec.LoadConversation(id, RecordTxn::Lock::kNone);
      if (!c.ok() || c->state != ConversationState::kAgent || c->assignee != agent.username) continue;
      auto v = op.View(*c);
      if (!v.ok()) return v.status();
      uint64_t seen = 0;
      {
        std::lock_guard<std::mutex> lock(d->mu);
        auto read = d->read_seq.find(id);
        if (read != d->read_seq.end()) seen = read->second;
      }
      v->unread = static_cast<int>(c->last_seq > seen ? c->last_seq - seen : 0);
      out.push_back(std::move(*v));
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  std::sort(out.begin(), out.end(),
            [](const ConversationView& a, const ConversationView& b) { return a.created_at < b.created_at; });
  return out;
}

Result<ConversationView> Engine::AgentGetConversation(const AgentIdentity& agent, std::string_view id) const {
  ConversationView view;
  Status s = impl_->Run([&](Op& op) {
    auto c = op.rec.LoadConversation(id, RecordTxn::Lock::kNone);
    if (!c.ok()) return c.status();
    if (c->desk != agent.desk) return Status::NotFound("no such conversation");
    auto v = op.View(*c);
    if (!v.ok()) return v.status();
    view = std::move(*v);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return view;
}

Result<std::vector<Message>> Engine::AgentHistory(const AgentIdentity& agent, std::string_view id, uint64_t after_seq,
                                                  size_t limit) {
  DeskRuntime* d = impl_->Desk(agent.desk);
  if (d == nullptr) return Status::Unauthenticated("unknown agent");
  std::vector<Message> out;
  Status s = impl_->Run([&](Op& op) {
    auto c = op.rec.LoadConversation(id, RecordTxn::Lock::kNone);
    if (!c.ok()) return c.status();
    if (c->desk != agent.desk) return Status::NotFound("no such conversation");
    if (c->assignee == agent.username) {
      std::lock_guard<std::mutex> lock(d->mu);
      d->read_seq[c->id] = c->last_seq;
      if (d->read_seq.size() > 100000) d->read_seq.clear();  // an estimate for unread badges: bounded
    }
    auto page = op.rec.Messages(id, after_seq, limit, true);
    if (!page.ok()) return page.status();
    out = std::move(*page);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<Suggestion>> Engine::Suggestions(const AgentIdentity& agent, std::string_view id) const {
  const DeskRuntime* d = impl_->Desk(agent.desk);
  if (d == nullptr) return Status::Unauthenticated("unknown agent");
  std::string question;
  KEFU_RETURN_IF_ERROR(impl_->Run([&](Op& op) {
    auto c = op.rec.LoadConversation(id, RecordTxn::Lock::kNone);
    if (!c.ok()) return c.status();
    if (c->desk != agent.desk) return Status::NotFound("no such conversation");
    question = c->last_question;
    return Status::OK();
  }));
  std::vector<Suggestion> out;
  if (question.empty()) return out;
  auto kb = d->KbFor(question);
  if (kb == nullptr) return out;
  for (const MatchCandidate& cand : kb->matcher->Rank(question, 3)) {
    const KbEntry& e = kb->kb.entries[static_cast<size_t>(cand.entry)];
    out.push_back({e.id, e.title, e.answer, cand.confidence});
  }
  return out;
}

}  // namespace kefu
