#include "engine/engine.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "base/json.h"
#include "base/utf8.h"
#include "engine/group_commit.h"
#include "engine/router.h"
#include "engine/state_machine.h"
#include "engine/waiting_line.h"
#include "kb/normalize.h"

namespace kefu {
namespace {

// ---- Store keys ------------------------------------------------------------------------------
// a/<desk>/<username>          agent account
// c/<desk>/<conversation>      conversation
// m/<conversation>/<seq:012>   message
// t/<desk>/<number:012>        ticket
// e/<desk>/<id:016>            event
// s/<token hash>               agent session
// k/<desk>/<language>          knowledge base uploaded by an admin (overrides the config's file)

std::string Padded(uint64_t n, int width) {
  std::string s = std::to_string(n);
  return std::string(width > static_cast<int>(s.size()) ? width - s.size() : 0, '0') + s;
}
std::string AgentKey(std::string_view desk, std::string_view user) {
  return "a/" + std::string(desk) + "/" + std::string(user);
}
std::string ConversationKey(std::string_view desk, std::string_view id) {
  return "c/" + std::string(desk) + "/" + std::string(id);
}
std::string MessagePrefix(std::string_view id) { return "m/" + std::string(id) + "/"; }
std::string MessageKey(std::string_view id, uint64_t seq) { return MessagePrefix(id) + Padded(seq, 12); }
std::string TicketKey(std::string_view desk, int64_t number) {
  return "t/" + std::string(desk) + "/" + Padded(static_cast<uint64_t>(number), 12);
}
std::string EventKey(std::string_view desk, uint64_t id) { return "e/" + std::string(desk) + "/" + Padded(id, 16); }
std::string SessionKey(std::string_view token_hash) { return "s/" + std::string(token_hash); }
std::string KbKey(std::string_view desk, std::string_view language) {
  return "k/" + std::string(desk) + "/" + std::string(language);
}

constexpr size_t kRecentHandleTimes = 50;
constexpr int64_t kDefaultHandleMicros = 5 * kMicrosPerMinute;
constexpr size_t kMaxHistoryPage = 1000;

struct KbBundle {
  std::string language;
  KnowledgeBase kb;
  std::unique_ptr<Matcher> matcher;
};

struct AgentState {
  Agent agent;
  int active = 0;  // conversations in state agent assigned to them
  int64_t last_assigned_at = 0;
  int failed_logins = 0;
  int64_t first_failed_at = 0;
};

struct Session {
  std::string desk;
  std::string username;
  int64_t expires_at = 0;
};

struct DeskState {
  DeskConfig config;
  std::vector<std::shared_ptr<const KbBundle>> kbs;
  std::unordered_map<std::string, Conversation> conversations;
  WaitingLine queue;
  std::map<std::string, AgentState> agents;
  std::map<std::string, Ticket> tickets;  // by id
  int64_t next_ticket = 1001;
  uint64_t next_event = 1;
  StatsAccumulator stats;
  std::deque<int64_t> recent_handle;
  std::deque<LiveEvent> live;
  uint64_t next_live = 1;
  std::unordered_map<std::string, uint64_t> read_seq;  // conversation -> last seq its assignee read
};

// Everything one call changes, committed as one batch.
struct Change {
  StoreBatch batch;
  std::set<std::string> conversations;  // touched: their records are written at commit
  std::set<std::string> tickets;
  std::vector<LiveEvent> live;
};

std::string Say(std::string_view language, std::string_view en, std::string_view zh) {
  return std::string(language == "zh" ? zh : en);
}

std::string MinutesText(int64_t micros, std::string_view language) {
  const int64_t minutes = std::max<int64_t>(1, (micros + kMicrosPerMinute - 1) / kMicrosPerMinute);
  return language == "zh" ? std::to_string(minutes) + " 分钟" : std::to_string(minutes) + (minutes == 1 ? " minute" : " minutes");
}

bool HasUnspacedText(std::string_view text) {
  size_t pos = 0;
  const std::string valid = IsValidUtf8(text) ? std::string() : SanitizeUtf8(text);
  std::string_view t = valid.empty() ? text : std::string_view(valid);
  while (pos < t.size()) {
    if (IsUnspacedScript(DecodeUtf8(t, &pos))) return true;
  }
  return false;
}

bool IsUsername(std::string_view u) {
  if (u.empty() || u.size() > 64) return false;
  for (char c : u) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return false;
  }
  return true;
}

Status CheckText(std::string_view text, int max_chars, std::string_view what) {
  if (!IsValidUtf8(text)) return Status::InvalidArgument(std::string(what) + ": invalid UTF-8");
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) + ": must not be empty");
  }
  if (CountCodePoints(text) > static_cast<size_t>(max_chars)) {
    return Status::InvalidArgument(std::string(what) + ": longer than " + std::to_string(max_chars) + " characters");
  }
  return Status::OK();
}

}  // namespace

std::string ConversationViewJson(const ConversationView& v);

struct Engine::Impl {
  Clock* clock = nullptr;
  EngineOptions options;
  std::unique_ptr<Store> store;
  std::unique_ptr<GroupCommitter> committer;

  mutable std::mutex mu;
  // Live events have their own lock, so that publishing a durable group's events (on the writing
  // thread) never waits behind requests holding `mu`. Lock order: mu, then live_mu.
  mutable std::mutex live_mu;
  mutable std::condition_variable live_cv;  // with live_mu
  std::map<std::string, DeskState> desks;                           // GUARDED_BY(mu)
  std::unordered_map<std::string, std::string> desk_of;             // conversation -> desk
  std::unordered_map<std::string, std::string> token_owner;         // token hash -> conversation
  std::unordered_map<std::string, std::string> open_of_customer;    // CustomerKey -> latest conversation
  std::unordered_map<std::string, Session> sessions;                // token hash -> session
  std::unordered_map<std::string, std::deque<int64_t>> recent_starts;  // customer -> start times
  bool shutting_down = false;  // GUARDED_BY(live_mu)
  struct PendingLive {
    uint64_t ticket;  // the commit that must be durable first
    DeskState* desk;
    LiveEvent event;
  };
  std::deque<PendingLive> pending_live;  // GUARDED_BY(live_mu), in ticket order

  int64_t Now() const { return clock->NowMicros(); }

  // ---- Lookup ----------------------------------------------------------------------------------

  // The key of open_of_customer: customer ids are per desk (one app user id may exist on two).
  static std::string CustomerKey(std::string_view desk, std::string_view customer) {
    return std::string(desk) + "/" + std::string(customer);
  }

  // `token_hash` becomes the newest token of `c`; the previous one stays valid as another device's
  // and the oldest beyond kMaxDeviceTokens stops opening anything.
  void AddDeviceToken(Conversation& c, const std::string& token_hash) {
    if (!c.customer_token_hash.empty()) c.device_token_hashes.push_back(c.customer_token_hash);
    while (c.device_token_hashes.size() > kMaxDeviceTokens) {
      token_owner.erase(c.device_token_hashes.front());
      c.device_token_hashes.erase(c.device_token_hashes.begin());
    }
    c.customer_token_hash = token_hash;
    token_owner[token_hash] = c.id;
  }

  // The anonymous (web) conversation of `d` that `token` opens, or nullptr: conversations of
  // identified customers and of other desks are never linked to anyone.
  Conversation* LinkableConversation(DeskState& d, std::string_view token) {
    auto owner = token_owner.find(HashToken(token));
    if (owner == token_owner.end()) return nullptr;
    auto it = d.conversations.find(owner->second);
    if (it == d.conversations.end() || it->second.customer.rfind("web:", 0) != 0) return nullptr;
    return &it->second;
  }

  DeskState* Desk(std::string_view id) {
    auto it = desks.find(std::string(id));
    return it == desks.end() ? nullptr : &it->second;
  }
  const DeskState* Desk(std::string_view id) const {
    auto it = desks.find(std::string(id));
    return it == desks.end() ? nullptr : &it->second;
  }

  // The conversation and its desk, or NotFound.
  Status Find(std::string_view id, DeskState** desk, Conversation** c) {
    auto d = desk_of.find(std::string(id));
    if (d == desk_of.end()) return Status::NotFound("no such conversation");
    *desk = Desk(d->second);
    *c = &(*desk)->conversations.at(d->first);
    return Status::OK();
  }
  Status Find(std::string_view id, const DeskState** desk, const Conversation** c) const {
    auto d = desk_of.find(std::string(id));
    if (d == desk_of.end()) return Status::NotFound("no such conversation");
    *desk = Desk(d->second);
    *c = &(*desk)->conversations.at(d->first);
    return Status::OK();
  }
  // As Find, but only within the agent's desk (NotFound otherwise: do not reveal other desks).
  Status FindForAgent(const AgentIdentity& agent, std::string_view id, DeskState** desk, Conversation** c) {
    KEFU_RETURN_IF_ERROR(Find(id, desk, c));
    if ((*desk)->config.id != agent.desk) return Status::NotFound("no such conversation");
    return Status::OK();
  }
  Status CheckAgent(const AgentIdentity& agent, DeskState** desk, AgentState** state) {
    *desk = Desk(agent.desk);
    if (*desk == nullptr) return Status::Unauthenticated("unknown agent");
    auto it = (*desk)->agents.find(agent.username);
    if (it == (*desk)->agents.end()) return Status::Unauthenticated("unknown agent");
    *state = &it->second;
    return Status::OK();
  }

  std::shared_ptr<const KbBundle> KbFor(const DeskState& d, std::string_view text) const {
    if (d.kbs.size() > 1 && HasUnspacedText(text)) {
      for (const auto& kb : d.kbs) {
        if (kb->language.rfind("zh", 0) == 0) return kb;
      }
    }
    if (d.kbs.size() > 1) {
      for (const auto& kb : d.kbs) {
        if (kb->language.rfind("zh", 0) != 0) return kb;
      }
    }
    return d.kbs.front();
  }

  // ---- Views -----------------------------------------------------------------------------------

  struct Seats {
    int seats = 0;
    int free = 0;
    int online = 0;
  };

  Seats SeatsFor(const DeskState& d, const std::string& team) const {
    Seats s;
    for (const auto& [name, a] : d.agents) {
      if (a.agent.presence != AgentPresence::kOnline) continue;
      ++s.online;
      if (!a.agent.Serves(team)) continue;
      s.seats += a.agent.capacity;
      s.free += std::max(0, a.agent.capacity - a.active);
    }
    return s;
  }

  int64_t MeanHandleMicros(const DeskState& d) const {
    if (d.recent_handle.empty()) return kDefaultHandleMicros;
    int64_t sum = 0;
    for (int64_t h : d.recent_handle) sum += h;
    return sum / static_cast<int64_t>(d.recent_handle.size());
  }

  QueueStatus MakeQueueStatus(const DeskState& d, int position, const Seats& seats) const {
    QueueStatus q;
    q.position = position;
    q.agents_online = seats.online;
    q.expected_wait = ExpectedWaitMicros(position, seats.seats, seats.free, MeanHandleMicros(d));
    q.desk_open = d.config.hours.IsOpen(Now());
    return q;
  }

  QueueStatus QueueStatusOf(const DeskState& d, const Conversation& c) const {
    return MakeQueueStatus(d, d.queue.PositionInTeam(EntryOf(c)), SeatsFor(d, c.team));
  }

  // `queue` (optional) is the conversation's queue status when the caller computed it already.
  ConversationView View(const DeskState& d, const Conversation& c, const QueueStatus* queue = nullptr) const {
    ConversationView v;
    v.id = c.id;
    v.desk = c.desk;
    v.state = c.state;
    v.channel = c.last_channel;
    v.customer = c.customer;
    v.assignee = c.assignee;
    if (!c.assignee.empty()) {
      auto it = d.agents.find(c.assignee);
      v.assignee_name = it == d.agents.end() || it->second.agent.display_name.empty() ? c.assignee
                                                                                       : it->second.agent.display_name;
    }
    v.team = c.team;
    v.ticket = c.ticket;
    v.last_question = c.last_question;
    v.last_seq = c.last_seq;
    v.created_at = c.created_at;
    v.escalation = c.escalation;
    v.priority = c.priority;
    if (c.state == ConversationState::kQueued) {
      v.waiting_since = c.enqueued_at;
      v.queue = queue != nullptr ? *queue : QueueStatusOf(d, c);
    }
    v.can_rate = c.state == ConversationState::kResolved && c.resolutions > c.rated_resolution;
    return v;
  }

  // ---- Changes ---------------------------------------------------------------------------------

  void AddEvent(DeskState& d, Change& ch, Event e) {
    e.id = d.next_event++;
    e.desk = d.config.id;
    e.at = Now();
    ch.batch.Put(EventKey(d.config.id, e.id), EncodeEvent(e));
    d.stats.Add(e);
  }

  void AddLive(DeskState&, Change& ch, LiveEvent e) { ch.live.push_back(std::move(e)); }

  Message& Append(DeskState& d, Conversation& c, Change& ch, Message m, std::vector<Message>* out) {
    m.seq = ++c.last_seq;
    m.at = Now();
    c.last_activity_at = m.at;
    ch.batch.Put(MessageKey(c.id, m.seq), EncodeMessage(m));
    ch.conversations.insert(c.id);
    LiveEvent e;
    e.conversation = c.id;
    e.type = "message";
    e.agent = c.assignee;
    e.for_customer = !m.internal();
    e.data = EncodeMessage(m);
    AddLive(d, ch, std::move(e));
    out->push_back(std::move(m));
    return out->back();
  }

  Message SystemText(const Conversation& c, std::string text) {
    Message m;
    m.kind = MessageKind::kSystem;
    m.text = std::move(text);
    m.channel = c.last_channel;
    return m;
  }

  Status Transition(DeskState& d, Conversation& c, ConversationAction action, std::string_view actor,
                    std::string_view reason, Change& ch) {
    auto next = NextState(c.state, action);
    if (!next.ok()) return next.status();
    Event e;
    e.conversation = c.id;
    e.type = EventType::kStateChanged;
    e.actor = std::string(actor);
    e.from = c.state;
    e.to = *next;
    e.reason = std::string(reason);
    c.state = *next;
    AddEvent(d, ch, std::move(e));
    ch.conversations.insert(c.id);
    LiveEvent live;
    live.conversation = c.id;
    live.type = "state";
    live.for_customer = true;
    live.data = ConversationViewJson(View(d, c));
    AddLive(d, ch, std::move(live));
    return Status::OK();
  }

  enum class QueueNews { kForAgents, kPositionsMoved };

  // Agents hear that the queue changed; with kPositionsMoved every waiting customer also hears
  // their new position and expected wait (computed in one pass over the queue).
  void QueueChanged(DeskState& d, Change& ch, QueueNews news) {
    if (news == QueueNews::kPositionsMoved) {
      std::map<std::string, std::pair<int, Seats>> teams;  // team -> (position so far, seats)
      for (const QueueEntry& q : d.queue) {
        auto [it, inserted] = teams.try_emplace(q.team, 0, Seats());
        if (inserted) it->second.second = SeatsFor(d, q.team);
        const QueueStatus status = MakeQueueStatus(d, ++it->second.first, it->second.second);
        const Conversation& w = d.conversations.at(q.conversation);
        LiveEvent e;
        e.conversation = w.id;
        e.type = "queue";
        e.for_customer = true;
        e.data = ConversationViewJson(View(d, w, &status));
        AddLive(d, ch, std::move(e));
      }
    }
    LiveEvent e;
    e.type = "queue";
    JsonWriter w;
    w.BeginObject().Field("length", static_cast<int64_t>(d.queue.size())).EndObject();
    e.data = w.Take();
    AddLive(d, ch, std::move(e));
  }

  QueueEntry EntryOf(const Conversation& c) const { return QueueEntry{c.id, c.team, c.priority, c.enqueued_at}; }

  Ticket& OpenTicket(DeskState& d, Conversation& c, EscalationReason reason, Change& ch, std::string_view subject) {
    Ticket t;
    t.number = d.next_ticket++;
    t.id = d.config.ticket_prefix + "-" + std::to_string(t.number);
    t.desk = d.config.id;
    t.conversation = c.id;
    t.customer = c.customer;
    t.subject = std::string(subject.empty() ? std::string_view(c.last_question) : subject);
    t.team = c.team;
    t.reason = reason;
    t.status = TicketStatus::kOpen;
    t.created_at = t.updated_at = Now();
    c.ticket = t.id;
    Event e;
    e.conversation = c.id;
    e.type = EventType::kTicket;
    e.detail = t.id + " open";
    AddEvent(d, ch, std::move(e));
    ch.tickets.insert(t.id);
    return d.tickets[t.id] = std::move(t);
  }

  void ReleaseSeat(DeskState& d, const std::string& username) {
    auto it = d.agents.find(username);
    if (it != d.agents.end() && it->second.active > 0) --it->second.active;
  }

  void Assign(DeskState& d, Conversation& c, AgentState& a, ConversationAction action, std::string_view actor,
              Change& ch, std::vector<Message>* out) {
    const ConversationState from = c.state;
    if (from == ConversationState::kQueued) d.queue.Erase(EntryOf(c));
    if (!c.assignee.empty() && c.assignee != a.agent.username) ReleaseSeat(d, c.assignee);
    c.assignee = a.agent.username;
    c.last_agent = a.agent.username;
    ++a.active;
    a.last_assigned_at = Now();
    Transition(d, c, action, actor, "assigned", ch);
    Event e;
    e.conversation = c.id;
    e.type = EventType::kAssigned;
    e.actor = std::string(actor);
    e.detail = a.agent.username;
    AddEvent(d, ch, std::move(e));
    if (!c.ticket.empty()) {
      auto t = d.tickets.find(c.ticket);
      if (t != d.tickets.end() && t->second.assignee != a.agent.username) {
        t->second.assignee = a.agent.username;
        t->second.updated_at = Now();
        ch.tickets.insert(t->first);
      }
    }
    const std::string name = a.agent.display_name.empty() ? a.agent.username : a.agent.display_name;
    Append(d, c, ch, SystemText(c, Say(c.language, name + " has joined the conversation.", name + " 已接入，为您服务。")),
           out);
    LiveEvent live;
    live.conversation = c.id;
    live.type = "assigned";
    live.agent = a.agent.username;
    live.data = ConversationViewJson(View(d, c));
    AddLive(d, ch, std::move(live));
  }

  // Assigns waiting conversations to online agents with free seats, in queue order.
  void Route(DeskState& d, Change& ch, std::vector<Message>* out) {
    bool changed = false;
    for (auto it = d.queue.begin(); it != d.queue.end();) {
      std::vector<AgentLoad> loads;
      std::vector<AgentState*> states;
      bool any_free = false;
      for (auto& [name, a] : d.agents) {
        loads.push_back(AgentLoad{name, a.agent.presence, a.agent.capacity, a.active, a.agent.teams, a.last_assigned_at});
        states.push_back(&a);
        any_free = any_free || (a.agent.presence == AgentPresence::kOnline && a.active < a.agent.capacity);
      }
      if (!any_free) break;
      const int chosen = ChooseAgent(loads, it->team);
      if (chosen < 0) {
        ++it;
        continue;
      }
      Conversation& c = d.conversations.at(it->conversation);
      ++it;  // Assign erases the entry
      std::vector<Message> sink;
      Assign(d, c, *states[chosen], ConversationAction::kAssign, "system", ch, out ? out : &sink);
      changed = true;
    }
    if (changed) QueueChanged(d, ch, QueueNews::kPositionsMoved);
  }

  std::string QueueNotice(const DeskState& d, const Conversation& c) const {
    const QueueStatus q = QueueStatusOf(d, c);
    const std::string& lang = c.language;
    const std::string ticket = c.ticket.empty() ? "" : Say(lang, " Your ticket is ", "您的工单号是 ") + c.ticket + Say(lang, ".", "。");
    if (!q.desk_open || q.agents_online == 0) {
      return Say(lang, "Our team is offline right now. We have your question and will reply here as soon as someone is in.",
                 "人工客服现在不在线。我们已记录您的问题，客服上线后会第一时间在这里回复您。") + ticket;
    }
    std::string text = Say(lang, "I'm passing you to a person. You are number ", "正在为您转接人工客服，您前面排在第 ") +
                       std::to_string(q.position) + Say(lang, " in line", " 位");
    if (q.expected_wait > 0) text += Say(lang, "; expected wait about ", "，预计等待约 ") + MinutesText(q.expected_wait, lang);
    return text + Say(lang, ".", "。") + ticket;
  }

  // new/bot -> queued, opens a ticket, routes. ResourceExhausted when the queue is full.
  Status Escalate(DeskState& d, Conversation& c, EscalationReason reason, std::string_view team, std::string_view actor,
                  Change& ch, std::vector<Message>* out) {
    if (static_cast<int>(d.queue.size()) >= d.config.settings.max_queue) {
      Append(d, c, ch,
             SystemText(c, Say(c.language, "All our agents are busy and the waiting line is full. Please try again in a few minutes.",
                               "当前排队人数已满，请稍后再试。")),
             out);
      return Status::ResourceExhausted("the queue is full");
    }
    if (c.state == ConversationState::kNew) KEFU_RETURN_IF_ERROR(Transition(d, c, ConversationAction::kBotTakes, "bot", "first message", ch));
    c.escalation = reason;
    c.team = team.empty() ? d.config.default_team : std::string(team);
    c.enqueued_at = c.escalated_at = Now();
    c.first_response_at = 0;
    c.sla_breached = false;
    c.clarify_streak = 0;
    KEFU_RETURN_IF_ERROR(Transition(d, c, ConversationAction::kEscalate, actor, EscalationReasonName(reason), ch));
    d.queue.Insert(EntryOf(c));
    auto ticket = d.tickets.find(c.ticket);
    if (ticket == d.tickets.end() || ticket->second.status == TicketStatus::kSolved ||
        ticket->second.status == TicketStatus::kClosed) {
      OpenTicket(d, c, reason, ch, "");
    } else {
      ticket->second.status = TicketStatus::kOpen;
      ticket->second.updated_at = Now();
      ch.tickets.insert(ticket->first);
    }
    Route(d, ch, out);
    if (c.state == ConversationState::kQueued) {
      Append(d, c, ch, SystemText(c, QueueNotice(d, c)), out);
      // Joining at the back moves nobody; a priority entry moves those behind it.
      QueueChanged(d, ch, c.priority > 0 ? QueueNews::kPositionsMoved : QueueNews::kForAgents);
    }
    return Status::OK();
  }

  void Resolve(DeskState& d, Conversation& c, std::string_view actor, std::string_view reason, Change& ch,
               std::vector<Message>* out) {
    const ConversationState from = c.state;
    if (from == ConversationState::kQueued) d.queue.Erase(EntryOf(c));
    if (from == ConversationState::kAgent) {
      ReleaseSeat(d, c.assignee);
      auto it = d.agents.find(c.assignee);
      if (it != d.agents.end() && it->second.last_assigned_at > 0) {
        d.recent_handle.push_back(Now() - it->second.last_assigned_at);
        if (d.recent_handle.size() > kRecentHandleTimes) d.recent_handle.pop_front();
      }
    }
    c.assignee.clear();
    ++c.resolutions;
    Transition(d, c, ConversationAction::kResolve, actor, reason, ch);
    auto t = d.tickets.find(c.ticket);
    if (t != d.tickets.end() && (t->second.status == TicketStatus::kOpen)) {
      t->second.status = TicketStatus::kSolved;
      t->second.updated_at = Now();
      ch.tickets.insert(t->first);
    }
    if (from == ConversationState::kAgent || from == ConversationState::kQueued) {
      Append(d, c, ch,
             SystemText(c, Say(c.language, "This conversation is resolved. How did we do? Rate us from 1 to 5.",
                               "本次会话已结束，请为我们的服务打分（1-5 分）。")),
             out);
    }
    if (from == ConversationState::kQueued) QueueChanged(d, ch, QueueNews::kPositionsMoved);
    if (from == ConversationState::kAgent) Route(d, ch, nullptr);  // the freed seat serves the next in line
  }

  // The bot's turn on a customer message while it serves the conversation.
  Status BotTurn(DeskState& d, Conversation& c, const KbBundle& kb, const MatchResult& r, Change& ch,
                 std::vector<Message>* out) {
    const KnowledgeBase& base = kb.kb;
    Event m;
    m.conversation = c.id;
    m.actor = "bot";
    switch (r.decision) {
      case MatchDecision::kSmallTalk: {
        Message reply;
        reply.kind = MessageKind::kBot;
        reply.text = r.reply;
        reply.channel = c.last_channel;
        Append(d, c, ch, std::move(reply), out);
        return Status::OK();
      }
      case MatchDecision::kAnswer: {
        const KbEntry& e = base.entries[r.candidates[0].entry];
        Message reply;
        reply.kind = MessageKind::kBot;
        auto variant = e.variants.find(std::string(ChannelName(c.last_channel)));
        reply.text = variant == e.variants.end() ? e.answer : variant->second;
        reply.entry_id = e.id;
        reply.channel = c.last_channel;
        for (const KbLink& l : e.links) reply.links.push_back({l.title, l.url});
        for (const std::string& q : e.quick_replies) reply.choices.push_back({"", q});
        Append(d, c, ch, std::move(reply), out);
        c.clarify_streak = 0;
        m.type = EventType::kBotAnswer;
        m.detail = e.id;
        AddEvent(d, ch, std::move(m));
        return Status::OK();
      }
      case MatchDecision::kClarify: {
        if (++c.clarify_streak > d.config.settings.clarify_limit) {
          const KbEntry& e = base.entries[r.candidates[0].entry];
          return Escalate(d, c, EscalationReason::kClarifyStreak, e.team, "bot", ch, out);
        }
        Message reply;
        reply.kind = MessageKind::kBot;
        reply.text = Say(c.language, "Did you mean one of these?", "您想问的是下面哪一个？");
        reply.channel = c.last_channel;
        for (const MatchCandidate& cand : r.candidates) {
          reply.choices.push_back({base.entries[cand.entry].id, base.entries[cand.entry].title});
        }
        Append(d, c, ch, std::move(reply), out);
        m.type = EventType::kBotClarify;
        for (const MatchCandidate& cand : r.candidates) m.detail += (m.detail.empty() ? "" : " ") + base.entries[cand.entry].id;
        AddEvent(d, ch, std::move(m));
        return Status::OK();
      }
      case MatchDecision::kEscalate: {
        std::string team;
        EscalationReason reason = EscalationReason::kLowConfidence;
        if (r.reason == MatchReason::kAskedForPerson) {
          reason = EscalationReason::kAskedForPerson;
        } else if (r.reason == MatchReason::kHandoffEntry) {
          reason = EscalationReason::kHandoffEntry;
          const KbEntry& e = base.entries[r.candidates[0].entry];
          team = e.team;
          m.type = EventType::kBotAnswer;
          m.detail = e.id;
          AddEvent(d, ch, m);
        } else {
          Event u;
          u.conversation = c.id;
          u.type = EventType::kUnmatched;
          u.actor = "bot";
          u.detail = c.last_question;
          AddEvent(d, ch, std::move(u));
        }
        if (reason == EscalationReason::kLowConfidence && !r.candidates.empty()) {
          team = base.entries[r.candidates[0].entry].team;
        }
        return Escalate(d, c, reason, team, "bot", ch, out);
      }
    }
    return Status::OK();
  }

  // Hands the changes to the group committer in the order they were made and waits until they are
  // durable. Their live events are published by PublishDurable once their group is written (or at
  // once when nothing was written). Unlocks `lock`.
  Status Commit(std::unique_lock<std::mutex>& lock, DeskState& d, Change& ch) {
    for (const std::string& id : ch.conversations) {
      const Conversation& c = d.conversations.at(id);
      ch.batch.Put(ConversationKey(c.desk, c.id), EncodeConversation(c));
    }
    for (const std::string& id : ch.tickets) {
      const Ticket& t = d.tickets.at(id);
      ch.batch.Put(TicketKey(t.desk, t.number), EncodeTicket(t));
    }
    if (ch.batch.empty()) {
      {
        std::lock_guard<std::mutex> live_lock(live_mu);
        Publish(d, ch.live);
      }
      lock.unlock();
      live_cv.notify_all();
      return Status::OK();
    }
    const uint64_t ticket = committer->Submit(std::move(ch.batch));
    {
      std::lock_guard<std::mutex> live_lock(live_mu);
      for (LiveEvent& e : ch.live) pending_live.push_back(PendingLive{ticket, &d, std::move(e)});
    }
    lock.unlock();
    Status s = committer->Wait(ticket);
    if (!s.ok()) return Status::Unavailable("the data directory refused the write: " + s.message());
    return Status::OK();
  }

  // REQUIRES(live_mu)
  void Publish(DeskState& d, std::vector<LiveEvent>& events) {
    for (LiveEvent& e : events) Publish(d, std::move(e));
  }

  void Publish(DeskState& d, LiveEvent e) {
    e.id = d.next_live++;
    d.live.push_back(std::move(e));
    if (d.live.size() > options.live_events_per_desk) d.live.pop_front();
  }

  // The committer wrote every batch up to `durable`: their live events may now be seen.
  void PublishDurable(uint64_t durable) {
    {
      std::lock_guard<std::mutex> lock(live_mu);
      while (!pending_live.empty() && pending_live.front().ticket <= durable) {
        Publish(*pending_live.front().desk, std::move(pending_live.front().event));
        pending_live.pop_front();
      }
    }
    live_cv.notify_all();
  }

  // A write failed: memory goes back to what the store has, and every change made on top of the
  // lost one fails too (see group_commit.h).
  void RecoverFromFailedWrite(const Status& error) {
    std::fprintf(stderr, "kefu: store write failed, reloading state from the store: %s\n", error.ToString().c_str());
    std::lock_guard<std::mutex> lock(mu);
    Status s = LoadState();
    if (!s.ok()) std::fprintf(stderr, "kefu: reload failed: %s\n", s.ToString().c_str());
    committer->FailPending(error);
    std::lock_guard<std::mutex> live_lock(live_mu);
    pending_live.clear();
  }

  // ---- Loading ---------------------------------------------------------------------------------

  Status LoadKbs(DeskState& d) {
    d.kbs.clear();
    for (const std::string& path : d.config.knowledge_bases) {
      auto kb = LoadKnowledgeBase(path);
      if (!kb.ok()) return kb.status();
      auto bundle = std::make_shared<KbBundle>();
      bundle->language = kb->language;
      // An admin's upload for this language replaces the file.
      auto stored = store->Get(KbKey(d.config.id, kb->language.empty() ? "default" : kb->language));
      if (!stored.ok()) return stored.status();
      if (stored->has_value()) {
        auto uploaded = ParseKnowledgeBaseJson(**stored, "uploaded KB of desk " + d.config.id);
        if (uploaded.ok()) *kb = std::move(*uploaded);
      }
      auto matcher = Matcher::Build(*kb, options.matcher);
      if (!matcher.ok()) return matcher.status().WithContext(path);
      bundle->kb = std::move(*kb);
      bundle->matcher = std::move(*matcher);
      d.kbs.push_back(std::move(bundle));
    }
    return Status::OK();
  }

  // (Re)builds all runtime state from the store. Called at open and after a failed write.
  Status LoadState() {
    desk_of.clear();
    token_owner.clear();
    open_of_customer.clear();
    sessions.clear();
    for (auto& entry : desks) {  // not a structured binding: lambdas below capture `d` (clang < 16)
      const std::string desk = entry.first;
      DeskState& d = entry.second;
      d.conversations.clear();
      d.queue.Clear();
      d.agents.clear();
      d.tickets.clear();
      d.stats = StatsAccumulator();
      d.next_ticket = 1001;
      d.next_event = 1;
      Status s = store->ScanPrefix("a/" + desk + "/", [&](std::string_view, std::string_view value) {
        auto a = DecodeAgent(value);
        if (a.ok()) {
          AgentState st;
          st.agent = std::move(*a);
          st.agent.presence = AgentPresence::kOffline;
          d.agents[st.agent.username] = std::move(st);
        }
        return true;
      });
      KEFU_RETURN_IF_ERROR(s);
      s = store->ScanPrefix("c/" + desk + "/", [&](std::string_view, std::string_view value) {
        auto c = DecodeConversation(value);
        if (!c.ok()) return true;
        desk_of[c->id] = desk;
        if (!c->customer_token_hash.empty()) token_owner[c->customer_token_hash] = c->id;
        for (const std::string& h : c->device_token_hashes) token_owner[h] = c->id;
        auto open = open_of_customer.find(CustomerKey(desk, c->customer));
        if (open == open_of_customer.end() || d.conversations.at(open->second).created_at < c->created_at) {
          open_of_customer[CustomerKey(desk, c->customer)] = c->id;
        }
        d.conversations[c->id] = std::move(*c);
        return true;
      });
      KEFU_RETURN_IF_ERROR(s);
      for (auto& [cid, c] : d.conversations) {
        if (c.state == ConversationState::kQueued) d.queue.Insert(EntryOf(c));
        if (c.state == ConversationState::kAgent) {
          auto a = d.agents.find(c.assignee);
          if (a != d.agents.end()) ++a->second.active;
        }
      }
      s = store->ScanPrefix("t/" + desk + "/", [&](std::string_view, std::string_view value) {
        auto t = DecodeTicket(value);
        if (t.ok()) {
          d.next_ticket = std::max(d.next_ticket, t->number + 1);
          d.tickets[t->id] = std::move(*t);
        }
        return true;
      });
      KEFU_RETURN_IF_ERROR(s);
      s = store->ScanPrefix("e/" + desk + "/", [&](std::string_view, std::string_view value) {
        auto e = DecodeEvent(value);
        if (e.ok()) {
          d.next_event = std::max(d.next_event, e->id + 1);
          d.stats.Add(*e);
        }
        return true;
      });
      KEFU_RETURN_IF_ERROR(s);
    }
    const int64_t now = Now();
    return store->ScanPrefix("s/", [&](std::string_view key, std::string_view value) {
      auto doc = ParseJson(value);
      if (!doc.ok()) return true;
      auto o = JsonObject::From(**doc);
      if (!o.ok()) return true;
      Session s;
      o->GetString("desk", Presence::kOptional, &s.desk);
      o->GetString("username", Presence::kOptional, &s.username);
      o->GetInt("expires", Presence::kOptional, 0, INT64_MAX, &s.expires_at);
      if (s.expires_at > now) sessions[std::string(key.substr(2))] = std::move(s);
      return true;
    });
  }
};

std::string ConversationViewJson(const ConversationView& v) {
  JsonWriter w;
  w.BeginObject().Field("conversation_id", v.id).Field("desk", v.desk).Field("state", ConversationStateName(v.state));
  w.Field("service_state", WeComServiceState(v.state)).Field("channel", ChannelName(v.channel));
  if (!v.assignee.empty()) w.Field("assignee", v.assignee).Field("assignee_name", v.assignee_name);
  if (!v.team.empty()) w.Field("team", v.team);
  if (!v.ticket.empty()) w.Field("ticket", v.ticket);
  w.Field("last_seq", v.last_seq);
  if (v.queue) {
    w.Key("queue").BeginObject().Field("position", v.queue->position);
    w.Key("expected_wait_seconds");
    if (v.queue->expected_wait < 0) w.Null();
    else w.Int(v.queue->expected_wait / kMicrosPerSecond);
    w.Field("desk_open", v.queue->desk_open).Field("agents_online", v.queue->agents_online).EndObject();
  }
  w.Field("can_rate", v.can_rate);
  return w.EndObject().Take();
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() {
  WakeAll();
  impl_->committer.reset();  // drains pending writes before the store closes
}

Result<std::unique_ptr<Engine>> Engine::Open(const KefuConfig& config, std::unique_ptr<Store> store, Clock* clock,
                                             const EngineOptions& options) {
  KEFU_RETURN_IF_ERROR(InitCrypto());
  auto impl = std::make_unique<Impl>();
  impl->clock = clock;
  impl->options = options;
  impl->store = std::move(store);
  for (const DeskConfig& dc : config.desks) {
    DeskState& d = impl->desks[dc.id];
    d.config = dc;
    KEFU_RETURN_IF_ERROR(impl->LoadKbs(d));
  }
  KEFU_RETURN_IF_ERROR(impl->LoadState());
  Impl* raw = impl.get();
  impl->committer = std::make_unique<GroupCommitter>(
      raw->store.get(), [raw](const Status& error) { raw->RecoverFromFailedWrite(error); },
      [raw](uint64_t durable) { raw->PublishDurable(durable); });
  std::unique_ptr<Engine> engine(new Engine(std::move(impl)));
  // Seed agents of the config (demo desks) that do not exist yet.
  for (const DeskConfig& dc : config.desks) {
    for (const AgentSeed& seed : dc.agents) {
      Status s = engine->CreateAgent(dc.id, seed.username, seed.password, seed.display_name, seed.teams,
                                     seed.capacity > 0 ? seed.capacity : dc.settings.default_capacity);
      if (!s.ok() && s.code() != Status::Code::kConflict) return s;
    }
  }
  return engine;
}

// ---- Customers -----------------------------------------------------------------------------------

Result<StartResult> Engine::StartConversation(const StartRequest& request) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  DeskState* d = m.Desk(request.desk);
  if (d == nullptr) return Status::NotFound("no such desk");
  const int64_t now = m.Now();
  StartResult result;
  result.customer_token = RandomToken();
  const std::string token_hash = HashToken(result.customer_token);
  const bool identified = !request.verified_user.empty() || !request.channel_user.empty();
  const std::string customer = !request.channel_user.empty()
                                   ? std::string(ChannelName(request.channel)) + ":" + request.channel_user
                               : !request.verified_user.empty() ? "app:" + request.verified_user
                                                                : "web:" + RandomHex(12);
  const std::string customer_key = Impl::CustomerKey(d->config.id, customer);

  Change ch;
  if (identified) {
    auto open = m.open_of_customer.find(customer_key);
    Conversation* own = open == m.open_of_customer.end() ? nullptr : &d->conversations.at(open->second);
    Conversation* web = nullptr;
    if (!request.verified_user.empty() && !request.link_token.empty()) {
      web = m.LinkableConversation(*d, request.link_token);
    }
    if (web != nullptr && (own == nullptr || web->last_activity_at >= own->last_activity_at)) {
      // The person wrote on the website before logging in: that conversation becomes theirs.
      for (auto& [tid, t] : d->tickets) {
        if (t.conversation != web->id || t.customer != web->customer) continue;
        t.customer = customer;
        ch.tickets.insert(tid);
      }
      web->customer = customer;
      m.open_of_customer[customer_key] = web->id;
      own = web;
      result.linked = true;
    }
    if (own != nullptr) {
      Conversation& c = *own;
      // Another device (or channel) of the same customer: the conversation continues, with a token
      // of its own; replies now go out on this channel.
      m.AddDeviceToken(c, token_hash);
      c.last_channel = request.channel;
      ch.conversations.insert(c.id);
      result.conversation_id = c.id;
      result.resumed = true;
      const std::string id = c.id;
      KEFU_RETURN_IF_ERROR(m.Commit(lock, *d, ch));
      auto history = History(id, 0, kMaxHistoryPage, false);
      if (history.ok()) result.messages = std::move(*history);
      return result;
    }
  }
  auto& starts = m.recent_starts[customer];
  while (!starts.empty() && starts.front() < now - kMicrosPerMinute) starts.pop_front();
  if (static_cast<int>(starts.size()) >= m.options.max_conversations_per_customer_minute) {
    return Status::ResourceExhausted("too many new conversations; try again in a minute");
  }
  starts.push_back(now);
  if (m.recent_starts.size() > 100000) m.recent_starts.clear();  // bounded memory; limits are per minute anyway

  Conversation c;
  c.id = RandomHex(16);
  c.desk = d->config.id;
  c.customer = customer;
  c.customer_token_hash = token_hash;
  c.last_channel = request.channel;
  c.language = request.locale.rfind("zh", 0) == 0 ? "zh"
               : !request.locale.empty()          ? "en"
               : d->kbs.front()->language.rfind("zh", 0) == 0 ? "zh" : "en";
  c.created_at = c.last_activity_at = now;
  m.desk_of[c.id] = d->config.id;
  m.token_owner[token_hash] = c.id;
  m.open_of_customer[customer_key] = c.id;
  Conversation& stored = d->conversations[c.id] = std::move(c);
  Event e;
  e.conversation = stored.id;
  e.type = EventType::kStarted;
  e.actor = "customer";
  e.detail = std::string(ChannelName(request.channel));
  m.AddEvent(*d, ch, std::move(e));
  Message welcome;
  welcome.kind = MessageKind::kBot;
  welcome.text = stored.language == "zh" ? d->config.welcome_zh : d->config.welcome_en;
  welcome.channel = request.channel;
  m.Append(*d, stored, ch, std::move(welcome), &result.messages);
  result.conversation_id = stored.id;
  KEFU_RETURN_IF_ERROR(m.Commit(lock, *d, ch));
  return result;
}

Status Engine::AuthorizeCustomer(std::string_view conversation_id, std::string_view token) const {
  const Impl& m = *impl_;
  if (token.empty()) return Status::Unauthenticated("missing customer token");
  const std::string hash = HashToken(token);
  std::lock_guard<std::mutex> lock(m.mu);
  auto owner = m.token_owner.find(hash);
  if (owner == m.token_owner.end()) return Status::Unauthenticated("invalid customer token");
  // The hash was found by lookup; compare the ids in constant time all the same.
  if (!ConstantTimeEquals(owner->second, conversation_id)) return Status::NotFound("no such conversation");
  return Status::OK();
}

Result<CustomerTurn> Engine::PostCustomerMessage(const CustomerMessageRequest& request) {
  Impl& m = *impl_;
  std::shared_ptr<const KbBundle> kb;
  int max_chars = 0;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    DeskState* d = nullptr;
    Conversation* c = nullptr;
    KEFU_RETURN_IF_ERROR(m.Find(request.conversation_id, &d, &c));
    kb = m.KbFor(*d, request.text);
    max_chars = d->config.settings.max_message_chars;
  }
  KEFU_RETURN_IF_ERROR(CheckText(request.text, max_chars, "field 'text'"));
  if (request.client_msg_id.size() > 100) return Status::InvalidArgument("field 'client_msg_id': longer than 100 characters");
  if (!IsValidUtf8(request.client_msg_id)) return Status::InvalidArgument("field 'client_msg_id': invalid UTF-8");

  // The matcher runs outside the lock: it is thread-safe and the slowest step.
  MatchResult match;
  if (!request.choice.empty()) {
    const int entry = kb->matcher->FindEntry(request.choice);
    if (entry < 0) return Status::InvalidArgument("field 'choice': no such entry");
    match.decision = kb->kb.entries[entry].handoff ? MatchDecision::kEscalate : MatchDecision::kAnswer;
    match.reason = kb->kb.entries[entry].handoff ? MatchReason::kHandoffEntry : MatchReason::kConfident;
    match.candidates.push_back({entry, 1.0f});
  } else {
    match = kb->matcher->Match(request.text);
  }

  std::unique_lock<std::mutex> lock(m.mu);
  DeskState* d = nullptr;
  Conversation* cp = nullptr;
  KEFU_RETURN_IF_ERROR(m.Find(request.conversation_id, &d, &cp));
  CustomerTurn turn;
  if (!request.client_msg_id.empty()) {
    // A retry: answer with what the first attempt produced.
    const std::string id = cp->id, cmid = request.client_msg_id;
    lock.unlock();
    auto history = History(id, 0, SIZE_MAX, false);
    if (!history.ok()) return history.status();
    for (size_t i = 0; i < history->size(); ++i) {
      const Message& msg = (*history)[i];
      if (msg.kind != MessageKind::kCustomer || msg.client_msg_id != cmid) continue;
      turn.duplicate = true;
      for (size_t j = i; j < history->size(); ++j) {
        if (j > i && (*history)[j].kind == MessageKind::kCustomer) break;
        turn.messages.push_back((*history)[j]);
      }
      auto view = GetConversation(id);
      if (view.ok()) turn.conversation = std::move(*view);
      return turn;
    }
    lock.lock();
    KEFU_RETURN_IF_ERROR(m.Find(request.conversation_id, &d, &cp));
  }
  Conversation& conv = *cp;
  Change ch;
  const int64_t now = m.Now();
  Message said;
  said.kind = MessageKind::kCustomer;
  said.text = request.text;
  said.channel = request.channel;
  said.client_msg_id = request.client_msg_id;
  conv.last_channel = request.channel;
  conv.last_customer_at = now;
  conv.last_question = request.text;
  conv.language = HasUnspacedText(request.text) || kb->language.rfind("zh", 0) == 0 ? "zh" : "en";
  m.Append(*d, conv, ch, std::move(said), &turn.messages);
  Event e;
  e.conversation = conv.id;
  e.type = EventType::kMessage;
  e.actor = "customer";
  m.AddEvent(*d, ch, std::move(e));

  Status s;
  if (conv.state == ConversationState::kResolved) {
    auto last = d->agents.find(conv.last_agent);
    const bool back_to_agent = last != d->agents.end() && last->second.agent.presence == AgentPresence::kOnline &&
                               last->second.active < last->second.agent.capacity &&
                               now - conv.last_activity_at <= d->config.settings.reopen_window_micros;
    if (back_to_agent) {
      m.Assign(*d, conv, last->second, ConversationAction::kReopenToAgent, "customer", ch, &turn.messages);
      conv.escalated_at = now;
      conv.first_response_at = 0;
    } else {
      s = m.Transition(*d, conv, ConversationAction::kReopenToBot, "customer", "reopened", ch);
      if (s.ok()) s = m.BotTurn(*d, conv, *kb, match, ch, &turn.messages);
    }
  } else if (conv.state == ConversationState::kNew || conv.state == ConversationState::kBot) {
    if (conv.state == ConversationState::kNew) s = m.Transition(*d, conv, ConversationAction::kBotTakes, "bot", "first message", ch);
    if (s.ok()) s = m.BotTurn(*d, conv, *kb, match, ch, &turn.messages);
  }
  // Queued and agent conversations: the message waits for the person.
  if (conv.state == ConversationState::kQueued) m.QueueChanged(*d, ch, Impl::QueueNews::kForAgents);
  ch.conversations.insert(conv.id);
  Status queue_full = s.code() == Status::Code::kResourceExhausted ? s : Status::OK();
  if (!s.ok() && !queue_full.ok()) return s;
  turn.conversation = m.View(*d, conv);
  KEFU_RETURN_IF_ERROR(m.Commit(lock, *d, ch));
  return turn;  // a full queue is told to the customer in a system message; the turn succeeded
}

Result<CustomerTurn> Engine::RequestHandoff(std::string_view conversation_id) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  DeskState* d = nullptr;
  Conversation* c = nullptr;
  KEFU_RETURN_IF_ERROR(m.Find(conversation_id, &d, &c));
  CustomerTurn turn;
  Change ch;
  if (c->state == ConversationState::kQueued || c->state == ConversationState::kAgent) {
    turn.conversation = m.View(*d, *c);
    return turn;  // already with (or waiting for) a person
  }
  if (c->state == ConversationState::kResolved) {
    KEFU_RETURN_IF_ERROR(m.Transition(*d, *c, ConversationAction::kReopenToBot, "customer", "reopened", ch));
  } else if (c->state == ConversationState::kBot && !c->last_question.empty()) {
    // Leaving the bot for a person after asking something: the bot did not resolve that question.
    Event u;
    u.conversation = c->id;
    u.type = EventType::kUnmatched;
    u.actor = "customer";
    u.detail = c->last_question;
    m.AddEvent(*d, ch, std::move(u));
  }
  Status s = m.Escalate(*d, *c, EscalationReason::kAskedForPerson, "", "customer", ch, &turn.messages);
  if (!s.ok() && s.code() != Status::Code::kResourceExhausted) return s;
  turn.conversation = m.View(*d, *c);
  KEFU_RETURN_IF_ERROR(m.Commit(lock, *d, ch));
  return turn;
}

Result<CustomerTurn> Engine::GiveFeedback(std::string_view conversation_id, uint64_t message_seq, bool helpful) {
  Impl& m = *impl_;
  auto message = m.store->Get(MessageKey(conversation_id, message_seq));
  if (!message.ok()) return message.status();
  if (!message->has_value()) return Status::NotFound("no such message");
  auto decoded = DecodeMessage(**message);
  if (!decoded.ok()) return decoded.status();
  if (decoded->kind != MessageKind::kBot) return Status::InvalidArgument("field 'message_seq': feedback is for the bot's messages");
  std::unique_lock<std::mutex> lock(m.mu);
  DeskState* d = nullptr;
  Conversation* c = nullptr;
  KEFU_RETURN_IF_ERROR(m.Find(conversation_id, &d, &c));
  CustomerTurn turn;
  Change ch;
  Event e;
  e.conversation = c->id;
  e.type = EventType::kFeedback;
  e.actor = "customer";
  e.detail = decoded->entry_id;
  e.value = helpful ? 1 : 0;
  if (!helpful) e.reason = c->last_question;  // the question the answer did not help with: a KB gap
  m.AddEvent(*d, ch, std::move(e));
  if (!helpful && c->state == ConversationState::kBot) {
    std::string team;
    for (const auto& kb : d->kbs) {
      if (const KbEntry* entry = kb->kb.Find(decoded->entry_id)) team = entry->team;
    }
    Status s = m.Escalate(*d, *c, EscalationReason::kUnhelpfulAnswer, team, "customer", ch, &turn.messages);
    if (!s.ok() && s.code() != Status::Code::kResourceExhausted) return s;
  }
  turn.conversation = m.View(*d, *c);
  KEFU_RETURN_IF_ERROR(m.Commit(lock, *d, ch));
  return turn;
}

Status Engine::Rate(std::string_view conversation_id, int rating) {
  if (rating < 1 || rating > 5) return Status::InvalidArgument("field 'rating': must be an integer from 1 to 5");
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  DeskState* d = nullptr;
  Conversation* c = nullptr;
  KEFU_RETURN_IF_ERROR(m.Find(conversation_id, &d, &c));
  if (c->state != ConversationState::kResolved) return Status::Conflict("the conversation is not resolved");
  if (c->rated_resolution >= c->resolutions) return Status::Conflict("already rated");
  c->rated_resolution = c->resolutions;
  Change ch;
  ch.conversations.insert(c->id);
  Event e;
  e.conversation = c->id;
  e.type = EventType::kCsat;
  e.actor = "customer";
  e.detail = c->last_agent;
  e.value = rating;
  m.AddEvent(*d, ch, std::move(e));
  return m.Commit(lock, *d, ch);
}

Result<std::vector<Message>> Engine::History(std::string_view conversation_id, uint64_t after_seq, size_t limit,
                                             bool include_notes) const {
  const Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (m.desk_of.count(std::string(conversation_id)) == 0) return Status::NotFound("no such conversation");
  }
  std::vector<Message> out;
  Status decode_error;
  Status s = m.store->Scan(MessageKey(conversation_id, after_seq + 1), PrefixLimit(MessagePrefix(conversation_id)),
                           [&](std::string_view, std::string_view value) {
                             auto msg = DecodeMessage(value);
                             if (!msg.ok()) {
                               decode_error = msg.status();
                               return false;
                             }
                             if (include_notes || !msg->internal()) out.push_back(std::move(*msg));
                             return out.size() < limit;
                           });
  KEFU_RETURN_IF_ERROR(s);
  KEFU_RETURN_IF_ERROR(decode_error);
  return out;
}

Result<ConversationView> Engine::GetConversation(std::string_view conversation_id) const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  const DeskState* d = nullptr;
  const Conversation* c = nullptr;
  KEFU_RETURN_IF_ERROR(m.Find(conversation_id, &d, &c));
  return m.View(*d, *c);
}

Result<std::vector<Ticket>> Engine::CustomerTickets(std::string_view conversation_id) const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  const DeskState* d = nullptr;
  const Conversation* c = nullptr;
  KEFU_RETURN_IF_ERROR(m.Find(conversation_id, &d, &c));
  std::vector<Ticket> out;
  for (const auto& [id, t] : d->tickets) {
    if (t.customer == c->customer) out.push_back(t);
  }
  return out;
}

// ---- Agents ----------------------------------------------------------------------------------------

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
  {
    std::lock_guard<std::mutex> lock(m.mu);
    const DeskState* d = m.Desk(desk);
    if (d == nullptr) return Status::NotFound("no such desk");
    if (d->agents.count(std::string(username))) return Status::Conflict("an agent with this username exists");
  }
  auto hash = HashPassword(password, m.options.password_cost);  // slow on purpose: outside the lock
  if (!hash.ok()) return hash.status();
  std::unique_lock<std::mutex> lock(m.mu);
  DeskState* d = m.Desk(desk);
  if (d->agents.count(std::string(username))) return Status::Conflict("an agent with this username exists");
  AgentState& a = d->agents[std::string(username)];
  a.agent.desk = d->config.id;
  a.agent.username = std::string(username);
  a.agent.display_name = std::string(display_name);
  a.agent.password_hash = std::move(*hash);
  a.agent.teams = teams;
  a.agent.capacity = capacity;
  a.agent.created_at = m.Now();
  a.agent.desk_admin = desk_admin;
  Change ch;
  ch.batch.Put(AgentKey(desk, username), EncodeAgent(a.agent));
  return m.Commit(lock, *d, ch);
}

Result<std::string> Engine::Login(std::string_view desk, std::string_view username, std::string_view password) {
  Impl& m = *impl_;
  std::string hash;
  const Status wrong = Status::Unauthenticated("wrong desk, username or password");
  {
    std::lock_guard<std::mutex> lock(m.mu);
    DeskState* d = m.Desk(desk);
    if (d == nullptr) return wrong;
    auto it = d->agents.find(std::string(username));
    if (it == d->agents.end()) return wrong;
    AgentState& a = it->second;
    const int64_t now = m.Now();
    if (a.first_failed_at != 0 && now - a.first_failed_at > m.options.failed_login_window_micros) {
      a.failed_logins = 0;
      a.first_failed_at = 0;
    }
    if (a.failed_logins >= m.options.max_failed_logins) {
      return Status::ResourceExhausted("too many failed logins for this account; try again in a few minutes");
    }
    hash = a.agent.password_hash;
  }
  const bool ok = VerifyPassword(hash, password);
  std::unique_lock<std::mutex> lock(m.mu);
  DeskState* d = m.Desk(desk);
  AgentState& a = d->agents.at(std::string(username));
  if (!ok) {
    if (a.failed_logins++ == 0) a.first_failed_at = m.Now();
    return wrong;
  }
  a.failed_logins = 0;
  a.first_failed_at = 0;
  a.agent.last_seen = m.Now();
  const std::string token = RandomToken();
  const std::string token_hash = HashToken(token);
  Session s{d->config.id, a.agent.username, m.Now() + m.options.agent_session_micros};
  m.sessions[token_hash] = s;
  Change ch;
  JsonWriter w;
  w.BeginObject().Field("desk", s.desk).Field("username", s.username).Field("expires", s.expires_at).EndObject();
  ch.batch.Put(SessionKey(token_hash), w.str());
  KEFU_RETURN_IF_ERROR(m.Commit(lock, *d, ch));
  return token;
}

Result<AgentIdentity> Engine::AuthenticateAgent(std::string_view token) {
  Impl& m = *impl_;
  if (token.empty()) return Status::Unauthenticated("missing agent token");
  const std::string hash = HashToken(token);
  std::lock_guard<std::mutex> lock(m.mu);
  auto it = m.sessions.find(hash);
  if (it == m.sessions.end()) return Status::Unauthenticated("invalid agent token");
  if (it->second.expires_at <= m.Now()) {
    m.sessions.erase(it);
    return Status::Unauthenticated("the agent token has expired; log in again");
  }
  DeskState* d = m.Desk(it->second.desk);
  if (d == nullptr) return Status::Unauthenticated("invalid agent token");
  auto a = d->agents.find(it->second.username);
  if (a == d->agents.end()) return Status::Unauthenticated("invalid agent token");
  a->second.agent.last_seen = m.Now();
  return AgentIdentity{it->second.desk, it->second.username, a->second.agent.desk_admin};
}

Status Engine::Logout(std::string_view token) {
  Impl& m = *impl_;
  const std::string hash = HashToken(token);
  std::unique_lock<std::mutex> lock(m.mu);
  auto it = m.sessions.find(hash);
  if (it == m.sessions.end()) return Status::Unauthenticated("invalid agent token");
  DeskState* d = m.Desk(it->second.desk);
  m.sessions.erase(it);
  Change ch;
  ch.batch.Delete(SessionKey(hash));
  return m.Commit(lock, *d, ch);
}

Status Engine::SetPresence(const AgentIdentity& agent, AgentPresence presence) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  DeskState* d = nullptr;
  AgentState* a = nullptr;
  KEFU_RETURN_IF_ERROR(m.CheckAgent(agent, &d, &a));
  a->agent.presence = presence;
  a->agent.last_seen = m.Now();
  Change ch;
  LiveEvent e;
  e.type = "presence";
  JsonWriter w;
  w.BeginObject().Field("agent", a->agent.username).Field("presence", PresenceName(presence)).EndObject();
  e.data = w.Take();
  m.AddLive(*d, ch, std::move(e));
  if (presence == AgentPresence::kOnline) m.Route(*d, ch, nullptr);
  // Positions and expected waits depend on who is online.
  m.QueueChanged(*d, ch, Impl::QueueNews::kPositionsMoved);
  return m.Commit(lock, *d, ch);
}

Status Engine::Heartbeat(const AgentIdentity& agent) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  DeskState* d = nullptr;
  AgentState* a = nullptr;
  KEFU_RETURN_IF_ERROR(m.CheckAgent(agent, &d, &a));
  a->agent.last_seen = m.Now();
  return Status::OK();
}

Result<std::vector<ConversationView>> Engine::Queue(const AgentIdentity& agent) const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  const DeskState* d = m.Desk(agent.desk);
  if (d == nullptr) return Status::Unauthenticated("unknown agent");
  std::vector<ConversationView> out;
  for (const QueueEntry& q : d->queue) out.push_back(m.View(*d, d->conversations.at(q.conversation)));
  return out;
}

Result<std::vector<ConversationView>> Engine::AgentConversations(const AgentIdentity& agent) const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  const DeskState* d = m.Desk(agent.desk);
  if (d == nullptr) return Status::Unauthenticated("unknown agent");
  std::vector<ConversationView> out;
  for (const auto& [id, c] : d->conversations) {
    if (c.state != ConversationState::kAgent || c.assignee != agent.username) continue;
    ConversationView v = m.View(*d, c);
    auto read = d->read_seq.find(id);
    const uint64_t seen = read == d->read_seq.end() ? 0 : read->second;
    v.unread = static_cast<int>(c.last_seq > seen ? c.last_seq - seen : 0);
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(), [](const ConversationView& a, const ConversationView& b) {
    return a.created_at < b.created_at;
  });
  return out;
}

Result<ConversationView> Engine::AgentGetConversation(const AgentIdentity& agent, std::string_view id) const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  const DeskState* d = nullptr;
  const Conversation* c = nullptr;
  KEFU_RETURN_IF_ERROR(m.Find(id, &d, &c));
  if (d->config.id != agent.desk) return Status::NotFound("no such conversation");
  return m.View(*d, *c);
}

Result<std::vector<Message>> Engine::AgentHistory(const AgentIdentity& agent, std::string_view id, uint64_t after_seq,
                                                  size_t limit) {
  Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    DeskState* d = nullptr;
    Conversation* c = nullptr;
    KEFU_RETURN_IF_ERROR(m.FindForAgent(agent, id, &d, &c));
    if (c->assignee == agent.username) d->read_seq[c->id] = c->last_seq;
  }
  return History(id, after_seq, limit, true);
}

Result<ConversationView> Engine::Claim(const AgentIdentity& agent, std::string_view id) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  DeskState* d = nullptr;
  AgentState* a = nullptr;
  Conversation* c = nullptr;
  KEFU_RETURN_IF_ERROR(m.CheckAgent(agent, &d, &a));
  KEFU_RETURN_IF_ERROR(m.FindForAgent(agent, id, &d, &c));
  if (c->state != ConversationState::kQueued) return Status::Conflict("the conversation is not waiting in the queue");
  if (a->agent.presence == AgentPresence::kOffline) return Status::Conflict("go online or away to claim conversations");
  if (a->active >= a->agent.capacity) return Status::Conflict("you are at capacity; resolve or transfer a conversation first");
  Change ch;
  std::vector<Message> out;
  m.Assign(*d, *c, *a, ConversationAction::kAssign, "agent:" + agent.username, ch, &out);
  m.QueueChanged(*d, ch, Impl::QueueNews::kPositionsMoved);
  ConversationView view = m.View(*d, *c);
  KEFU_RETURN_IF_ERROR(m.Commit(lock, *d, ch));
  return view;
}

Result<Message> Engine::Reply(const AgentIdentity& agent, std::string_view id, std::string_view text) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  DeskState* d = nullptr;
  AgentState* a = nullptr;
  Conversation* c = nullptr;
  KEFU_RETURN_IF_ERROR(m.CheckAgent(agent, &d, &a));
  KEFU_RETURN_IF_ERROR(m.FindForAgent(agent, id, &d, &c));
  KEFU_RETURN_IF_ERROR(CheckText(text, d->config.settings.max_message_chars, "field 'text'"));
  if (c->state != ConversationState::kAgent || c->assignee != agent.username) {
    return Status::Conflict("only the assigned agent can reply; claim the conversation first");
  }
  Change ch;
  std::vector<Message> out;
  Message msg;
  msg.kind = MessageKind::kAgent;
  msg.author = agent.username;
  msg.text = std::string(text);
  msg.channel = c->last_channel;
  m.Append(*d, *c, ch, std::move(msg), &out);
  d->read_seq[c->id] = c->last_seq;
  if (c->first_response_at == 0) {
    c->first_response_at = m.Now();
    Event e;
    e.conversation = c->id;
    e.type = EventType::kFirstResponse;
    e.actor = "agent:" + agent.username;
    e.value = c->first_response_at - c->escalated_at;
    m.AddEvent(*d, ch, std::move(e));
  }
  KEFU_RETURN_IF_ERROR(m.Commit(lock, *d, ch));
  return out.front();
}

Result<Message> Engine::AddNote(const AgentIdentity& agent, std::string_view id, std::string_view text) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  DeskState* d = nullptr;
  AgentState* a = nullptr;
  Conversation* c = nullptr;
  KEFU_RETURN_IF_ERROR(m.CheckAgent(agent, &d, &a));
  KEFU_RETURN_IF_ERROR(m.FindForAgent(agent, id, &d, &c));
  KEFU_RETURN_IF_ERROR(CheckText(text, d->config.settings.max_message_chars, "field 'text'"));
  Change ch;
  std::vector<Message> out;
  Message note;
  note.kind = MessageKind::kNote;
  note.author = agent.username;
  note.text = std::string(text);
  note.channel = c->last_channel;
  m.Append(*d, *c, ch, std::move(note), &out);
  KEFU_RETURN_IF_ERROR(m.Commit(lock, *d, ch));
  return out.front();
}

Status Engine::Transfer(const AgentIdentity& agent, std::string_view id, std::string_view to_agent,
                        std::string_view to_team) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  DeskState* d = nullptr;
  AgentState* a = nullptr;
  Conversation* c = nullptr;
  KEFU_RETURN_IF_ERROR(m.CheckAgent(agent, &d, &a));
  KEFU_RETURN_IF_ERROR(m.FindForAgent(agent, id, &d, &c));
  if (c->state != ConversationState::kAgent || c->assignee != agent.username) {
    return Status::Conflict("only the assigned agent can transfer");
  }
  if (to_agent.empty() == to_team.empty()) return Status::InvalidArgument("give exactly one of 'to_agent' and 'to_team'");
  Change ch;
  std::vector<Message> out;
  Event e;
  e.conversation = c->id;
  e.type = EventType::kTransferred;
  e.actor = "agent:" + agent.username;
  if (!to_agent.empty()) {
    auto target = d->agents.find(std::string(to_agent));
    if (target == d->agents.end()) return Status::NotFound("field 'to_agent': no such agent on this desk");
    if (target->first == agent.username) return Status::InvalidArgument("field 'to_agent': that is you");
    if (target->second.agent.presence != AgentPresence::kOnline) return Status::Conflict("that agent is not online");
    if (target->second.active >= target->second.agent.capacity) return Status::Conflict("that agent is at capacity");
    e.detail = "agent:" + std::string(to_agent);
    m.AddEvent(*d, ch, std::move(e));
    m.Assign(*d, *c, target->second, ConversationAction::kTransfer, "agent:" + agent.username, ch, &out);
  } else {
    e.detail = "team:" + std::string(to_team);
    m.AddEvent(*d, ch, std::move(e));
    m.ReleaseSeat(*d, c->assignee);
    c->assignee.clear();
    c->team = std::string(to_team);
    c->priority = std::max(c->priority, 1);  // transferred customers have waited already
    c->enqueued_at = m.Now();
    KEFU_RETURN_IF_ERROR(m.Transition(*d, *c, ConversationAction::kRequeue, "agent:" + agent.username, "transfer", ch));
    d->queue.Insert(m.EntryOf(*c));
    m.Route(*d, ch, &out);
    if (c->state == ConversationState::kQueued) {
      m.Append(*d, *c, ch, m.SystemText(*c, m.QueueNotice(*d, *c)), &out);
    }
    m.QueueChanged(*d, ch, Impl::QueueNews::kPositionsMoved);
  }
  m.Route(*d, ch, nullptr);  // the seat freed may serve someone waiting
  return m.Commit(lock, *d, ch);
}

Status Engine::Resolve(const AgentIdentity& agent, std::string_view id) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  DeskState* d = nullptr;
  AgentState* a = nullptr;
  Conversation* c = nullptr;
  KEFU_RETURN_IF_ERROR(m.CheckAgent(agent, &d, &a));
  KEFU_RETURN_IF_ERROR(m.FindForAgent(agent, id, &d, &c));
  if (c->state == ConversationState::kResolved) return Status::Conflict("already resolved");
  if (c->state == ConversationState::kAgent && c->assignee != agent.username) {
    return Status::Conflict("another agent is serving this conversation");
  }
  Change ch;
  std::vector<Message> out;
  m.Resolve(*d, *c, "agent:" + agent.username, "resolved by agent", ch, &out);
  return m.Commit(lock, *d, ch);
}

Result<std::vector<Suggestion>> Engine::Suggestions(const AgentIdentity& agent, std::string_view id) const {
  const Impl& m = *impl_;
  std::shared_ptr<const KbBundle> kb;
  std::string question;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    const DeskState* d = nullptr;
    const Conversation* c = nullptr;
    KEFU_RETURN_IF_ERROR(m.Find(id, &d, &c));
    if (d->config.id != agent.desk) return Status::NotFound("no such conversation");
    question = c->last_question;
    kb = m.KbFor(*d, question);
  }
  std::vector<Suggestion> out;
  if (question.empty()) return out;
  for (const MatchCandidate& cand : kb->matcher->Rank(question, 3)) {
    const KbEntry& e = kb->kb.entries[cand.entry];
    out.push_back({e.id, e.title, e.answer, cand.confidence});
  }
  return out;
}

Result<std::vector<Ticket>> Engine::Tickets(const AgentIdentity& agent, std::optional<TicketStatus> status) const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  const DeskState* d = m.Desk(agent.desk);
  if (d == nullptr) return Status::Unauthenticated("unknown agent");
  std::vector<Ticket> out;
  for (const auto& [tid, t] : d->tickets) {
    if (!status || t.status == *status) out.push_back(t);
  }
  std::sort(out.begin(), out.end(), [](const Ticket& a, const Ticket& b) { return a.number < b.number; });
  return out;
}

Result<Ticket> Engine::UpdateTicket(const AgentIdentity& agent, std::string_view ticket_id, const TicketUpdate& u) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  DeskState* d = nullptr;
  AgentState* a = nullptr;
  KEFU_RETURN_IF_ERROR(m.CheckAgent(agent, &d, &a));
  auto it = d->tickets.find(std::string(ticket_id));
  if (it == d->tickets.end()) return Status::NotFound("no such ticket");
  Ticket& t = it->second;
  if (u.priority && (*u.priority < 0 || *u.priority > 2)) return Status::InvalidArgument("field 'priority': 0, 1 or 2");
  if (u.assignee && !u.assignee->empty() && d->agents.count(*u.assignee) == 0) {
    return Status::NotFound("field 'assignee': no such agent on this desk");
  }
  if (u.status && t.status == TicketStatus::kClosed && *u.status != TicketStatus::kClosed) {
    return Status::Conflict("the ticket is closed");
  }
  if (!u.note.empty()) KEFU_RETURN_IF_ERROR(CheckText(u.note, d->config.settings.max_message_chars, "field 'note'"));
  Change ch;
  std::vector<Message> out;
  Conversation* c = nullptr;
  auto conv = d->conversations.find(t.conversation);
  if (conv != d->conversations.end()) c = &conv->second;
  if (u.priority) t.priority = *u.priority;
  if (u.tags) t.tags = *u.tags;
  if (u.remind_at) t.remind_at = *u.remind_at;
  if (u.assignee) t.assignee = *u.assignee;
  if (u.status && *u.status != t.status) {
    const TicketStatus to = *u.status;
    t.status = to;
    Event e;
    e.conversation = t.conversation;
    e.type = EventType::kTicket;
    e.actor = "agent:" + agent.username;
    e.detail = t.id + " " + std::string(TicketStatusName(to));
    m.AddEvent(*d, ch, std::move(e));
    if (to == TicketStatus::kPending && t.assignee.empty()) t.assignee = agent.username;
    // A pending ticket waits on someone else: the live chat ends so the seat is free for others.
    if (to == TicketStatus::kPending && c != nullptr && c->state == ConversationState::kAgent) {
      if (c->assignee == agent.username) {
        m.Append(*d, *c, ch,
                 m.SystemText(*c, Say(c->language, "We are looking into this (ticket " + t.id + ") and will get back to you here.",
                                      "我们正在跟进此问题（工单 " + t.id + "），有结果会在这里通知您。")),
                 &out);
        m.Resolve(*d, *c, "agent:" + agent.username, "ticket pending", ch, &out);
      }
    }
    if (to == TicketStatus::kSolved && c != nullptr) {
      if (c->state != ConversationState::kResolved && c->state != ConversationState::kNew) {
        m.Resolve(*d, *c, "agent:" + agent.username, "ticket solved", ch, &out);
      }
      std::string text = Say(c->language, "Update on your request " + t.id + ": it is solved.",
                             "您的工单 " + t.id + " 已处理完成。");
      if (!u.note.empty()) text += " " + u.note;
      m.Append(*d, *c, ch, m.SystemText(*c, text), &out);
      t.customer_notified = true;
    }
  }
  t.updated_at = m.Now();
  ch.tickets.insert(t.id);
  LiveEvent live;
  live.type = "ticket";
  live.conversation = t.conversation;
  live.data = EncodeTicket(t);
  m.AddLive(*d, ch, std::move(live));
  Ticket result = t;
  KEFU_RETURN_IF_ERROR(m.Commit(lock, *d, ch));
  return result;
}

Result<Ticket> Engine::OpenFollowUp(const AgentIdentity& agent, std::string_view id, std::string_view subject) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  DeskState* d = nullptr;
  AgentState* a = nullptr;
  Conversation* c = nullptr;
  KEFU_RETURN_IF_ERROR(m.CheckAgent(agent, &d, &a));
  KEFU_RETURN_IF_ERROR(m.FindForAgent(agent, id, &d, &c));
  KEFU_RETURN_IF_ERROR(CheckText(subject, 500, "field 'subject'"));
  Change ch;
  Ticket& t = m.OpenTicket(*d, *c, EscalationReason::kFollowUp, ch, subject);
  t.assignee = agent.username;
  ch.conversations.insert(c->id);
  Ticket result = t;
  KEFU_RETURN_IF_ERROR(m.Commit(lock, *d, ch));
  return result;
}

// ---- Admin and operations --------------------------------------------------------------------------

Result<Engine::KnowledgeSnapshot> Engine::Knowledge(std::string_view desk, std::string_view language) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const DeskState* d = impl_->Desk(desk);
  if (d == nullptr) return Status::NotFound("no such desk");
  for (const auto& b : d->kbs) {
    if (!language.empty() && b->language != language) continue;
    KnowledgeSnapshot s;
    s.language = b->language;
    s.kb = &b->kb;
    s.matcher = b->matcher.get();
    s.keep_alive = b;
    return s;
  }
  return Status::NotFound("the desk has no knowledge base for language '" + std::string(language) + "'");
}

Result<Engine::KnowledgeSnapshot> Engine::KnowledgeFor(std::string_view desk, std::string_view text) const {
  std::string language;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    const DeskState* d = impl_->Desk(desk);
    if (d == nullptr) return Status::NotFound("no such desk");
    language = impl_->KbFor(*d, text)->language;
  }
  return Knowledge(desk, language);
}

Result<std::vector<std::string>> Engine::KnowledgeLanguages(std::string_view desk) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const DeskState* d = impl_->Desk(desk);
  if (d == nullptr) return Status::NotFound("no such desk");
  std::vector<std::string> out;
  for (const auto& b : d->kbs) out.push_back(b->language);
  return out;
}

Status Engine::ReplaceKnowledgeBase(std::string_view desk, std::string_view language, std::string_view kb_json) {
  Impl& m = *impl_;
  auto kb = ParseKnowledgeBaseJson(kb_json, "knowledge base");
  if (!kb.ok()) return kb.status();
  std::string lang;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    const DeskState* d = m.Desk(desk);
    if (d == nullptr) return Status::NotFound("no such desk");
    lang = language.empty() ? d->kbs.front()->language : std::string(language);
    bool found = false;
    for (const auto& b : d->kbs) found = found || b->language == lang;
    if (!found) return Status::NotFound("the desk has no knowledge base for language '" + lang + "'");
  }
  auto matcher = Matcher::Build(*kb, m.options.matcher);  // seconds for big KBs: outside the lock
  if (!matcher.ok()) return matcher.status();
  auto bundle = std::make_shared<KbBundle>();
  bundle->language = lang;
  bundle->kb = std::move(*kb);
  bundle->matcher = std::move(*matcher);
  std::unique_lock<std::mutex> lock(m.mu);
  DeskState* d = m.Desk(desk);
  Change ch;
  ch.batch.Put(KbKey(desk, lang.empty() ? "default" : lang), KnowledgeBaseToJson(bundle->kb));
  KEFU_RETURN_IF_ERROR(m.Commit(lock, *d, ch));
  lock.lock();
  for (auto& b : d->kbs) {
    if (b->language == lang) {
      b = bundle;
      break;
    }
  }
  return Status::OK();
}

Result<DeskStats> Engine::Stats(std::string_view desk) const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  const DeskState* d = m.Desk(desk);
  if (d == nullptr) return Status::NotFound("no such desk");
  return d->stats.Snapshot();
}

std::vector<std::string> Engine::DeskIds() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<std::string> out;
  for (const auto& [id, d] : impl_->desks) out.push_back(id);
  return out;
}

Result<DeskConfig> Engine::GetDeskConfig(std::string_view desk) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const DeskState* d = impl_->Desk(desk);
  if (d == nullptr) return Status::NotFound("no such desk");
  return d->config;
}

std::vector<Engine::DeskGauges> Engine::Gauges() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<DeskGauges> out;
  for (const auto& [id, d] : impl_->desks) {
    DeskGauges g;
    g.desk = id;
    g.queued = static_cast<int>(d.queue.size());
    for (const auto& [name, a] : d.agents) {
      g.agents_online += a.agent.presence == AgentPresence::kOnline;
      g.serving += a.active;
    }
    out.push_back(g);
  }
  return out;
}

EngineStats Engine::GetEngineStats() const { return {impl_->committer->writes(), impl_->committer->batches()}; }

Store* Engine::store() const { return impl_->store.get(); }

Status Engine::RunTimers() {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  const int64_t now = m.Now();
  for (auto& [desk_id, d] : m.desks) {
    Change ch;
    std::vector<Message> out;
    bool requeued = false;
    const DeskSettings& s = d.config.settings;
    // Silent agents go offline; what they served goes back to the queue, first in line.
    for (auto& [name, a] : d.agents) {
      if (a.agent.presence == AgentPresence::kOffline || now - a.agent.last_seen <= s.heartbeat_timeout_micros) continue;
      a.agent.presence = AgentPresence::kOffline;
      LiveEvent e;
      e.type = "presence";
      JsonWriter w;
      w.BeginObject().Field("agent", name).Field("presence", "offline").EndObject();
      e.data = w.Take();
      m.AddLive(d, ch, std::move(e));
      for (auto& [cid, c] : d.conversations) {
        if (c.state != ConversationState::kAgent || c.assignee != name) continue;
        m.ReleaseSeat(d, name);
        c.assignee.clear();
        c.priority = std::max(c.priority, 1);
        c.enqueued_at = now;
        m.Transition(d, c, ConversationAction::kRequeue, "system", "agent went offline", ch);
        requeued = true;
        d.queue.Insert(m.EntryOf(c));
        m.Append(d, c, ch,
                 m.SystemText(c, Say(c.language, "Your agent got disconnected; you are first in line for the next one.",
                                     "客服连接已断开，您将优先由下一位客服接待。")),
                 &out);
      }
    }
    for (auto& [cid, c] : d.conversations) {
      if (c.state == ConversationState::kBot && now - c.last_activity_at > s.idle_timeout_micros) {
        m.Resolve(d, c, "system", "idle timeout", ch, &out);
      }
      const bool waiting_for_person = c.state == ConversationState::kQueued || c.state == ConversationState::kAgent;
      if (waiting_for_person && !c.sla_breached && c.first_response_at == 0 && c.escalated_at != 0 &&
          now - c.escalated_at > s.first_response_sla_micros) {
        c.sla_breached = true;
        ch.conversations.insert(c.id);
        Event e;
        e.conversation = c.id;
        e.type = EventType::kSlaBreached;
        e.actor = "system";
        e.value = now - c.escalated_at;
        m.AddEvent(d, ch, std::move(e));
      }
    }
    for (auto& [tid, t] : d.tickets) {
      if (t.status != TicketStatus::kPending || t.remind_at == 0 || t.remind_at > now) continue;
      t.remind_at = 0;
      ch.tickets.insert(t.id);
      LiveEvent e;
      e.type = "reminder";
      e.agent = t.assignee;
      e.conversation = t.conversation;
      e.data = EncodeTicket(t);
      m.AddLive(d, ch, std::move(e));
    }
    const size_t queued_before_routing = d.queue.size();
    m.Route(d, ch, nullptr);
    if (ch.batch.empty() && ch.live.empty() && ch.conversations.empty() && ch.tickets.empty()) continue;
    if (requeued || d.queue.size() != queued_before_routing) m.QueueChanged(d, ch, Impl::QueueNews::kPositionsMoved);
    KEFU_RETURN_IF_ERROR(m.Commit(lock, d, ch));
    lock.lock();
  }
  return Status::OK();
}

// ---- Live events -----------------------------------------------------------------------------------

uint64_t Engine::LivePosition(std::string_view desk) const {
  // The desks map is fixed once the engine is open; only live_mu is needed for the ring.
  const DeskState* d = impl_->Desk(desk);
  std::lock_guard<std::mutex> lock(impl_->live_mu);
  return d == nullptr ? 0 : d->next_live - 1;
}

std::vector<LiveEvent> Engine::WaitLiveEvents(std::string_view desk, uint64_t after_id, int64_t timeout_micros,
                                              const std::function<bool(const LiveEvent&)>& filter, bool* gap) const {
  const Impl& m = *impl_;
  const DeskState* d = m.Desk(desk);
  std::vector<LiveEvent> out;
  *gap = false;
  if (d == nullptr) return out;
  std::unique_lock<std::mutex> lock(m.live_mu);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(timeout_micros);
  while (true) {
    // Ids in the ring are consecutive: start right after `after_id` instead of scanning it all.
    if (!d->live.empty()) {
      const uint64_t first = d->live.front().id;
      if (first > after_id + 1) *gap = true;
      const size_t start = after_id + 1 > first ? static_cast<size_t>(after_id + 1 - first) : 0;
      for (size_t i = start; i < d->live.size(); ++i) {
        if (filter(d->live[i])) out.push_back(d->live[i]);
      }
      after_id = std::max(after_id, d->live.back().id);
    }
    if (!out.empty() || *gap || m.shutting_down) return out;
    if (m.live_cv.wait_until(lock, deadline) == std::cv_status::timeout) return out;
  }
}

void Engine::WakeAll() {
  {
    std::lock_guard<std::mutex> lock(impl_->live_mu);
    impl_->shutting_down = true;
  }
  impl_->live_cv.notify_all();
}

}  // namespace kefu
