// The engine's core: opening, running operations as transactions, the operation context (Op),
// views, routing and escalation. Customers' calls are in engine_customers.cc, agents' in
// engine_agents.cc, timers and stats in engine_timers.cc.
#include "engine/engine.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <thread>

#include "base/json.h"
#include "base/utf8.h"
#include "engine/engine_impl.h"
#include "engine/migrate.h"
#include "kb/normalize.h"

namespace kefu {
namespace {

constexpr size_t kRecentHandleTimes = 50;
constexpr int64_t kDefaultHandleMicros = 5 * kMicrosPerMinute;
// Attempts of an operation that keeps losing lock conflicts before it gives up (Aborted, 503).
constexpr int kMaxAttempts = 30;

}  // namespace

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

// ---- Desks --------------------------------------------------------------------------------------

int64_t DeskRuntime::MeanHandleMicros() const {
  std::lock_guard<std::mutex> lock(mu);
  if (recent_handle.empty()) return kDefaultHandleMicros;
  int64_t sum = 0;
  for (int64_t h : recent_handle) sum += h;
  return sum / static_cast<int64_t>(recent_handle.size());
}

void DeskRuntime::AddHandleTime(int64_t micros) {
  std::lock_guard<std::mutex> lock(mu);
  recent_handle.push_back(micros);
  if (recent_handle.size() > kRecentHandleTimes) recent_handle.pop_front();
}

// ---- Running operations ----------------------------------------------------------------------------

Status Engine::Impl::Run(const std::function<Status(Op&)>& fn) {
  for (int attempt = 1;; ++attempt) {
    Status s;
    {
      auto tx = store->Begin();
      if (!tx.ok()) return tx.status();
      Op op(*this, **tx);
      s = fn(op);
      if (s.ok()) s = (*tx)->Commit();
      if (s.ok()) {
        op.rec.Committed();  // before the locks go: the next holder finds the records decoded
        op.RunAfterCommit();
        return s;
      }
    }  // the transaction ends here: rolled back, locks released
    if (s.code() != Status::Code::kAborted || attempt >= kMaxAttempts) return s;
    retries.fetch_add(1, std::memory_order_relaxed);
    // Back off a little, longer each time, so that the holder of the contended row can finish.
    const auto jitter = std::hash<std::thread::id>()(std::this_thread::get_id()) % 97;
    std::this_thread::sleep_for(std::chrono::microseconds(50 * attempt + static_cast<int64_t>(jitter)));
  }
}

Op::Op(Engine::Impl& impl, Transaction& tx) : impl(impl), rec(&tx, impl.cache.get()), now(impl.Now()) {}

Result<Op::Slot*> Op::Load(std::string_view id, RecordTxn::Lock lock) {
  auto it = slots_.find(id);
  if (it != slots_.end()) return &it->second;
  std::string bytes;
  auto c = rec.LoadConversation(id, lock, &bytes);
  if (!c.ok()) return c.status();
  Slot& s = slots_[std::string(id)];
  s.before = *c;
  s.before_bytes = std::move(bytes);
  s.c = std::move(*c);
  return &s;
}

Op::Slot* Op::Create(Conversation c) {
  Slot& s = slots_[c.id];
  s.c = std::move(c);
  return &s;
}

Result<Op::TicketSlot*> Op::LoadTicket(std::string_view desk, int64_t number) {
  const std::string key = std::string(desk) + "/" + std::to_string(number);
  auto it = tickets_.find(key);
  if (it != tickets_.end()) return &it->second;
  auto t = rec.LoadTicket(desk, number, RecordTxn::Lock::kUpdate);
  if (!t.ok()) return t.status();
  if (!t->has_value()) return Status::NotFound("no such ticket");
  TicketSlot& s = tickets_[key];
  s.before = **t;
  s.t = std::move(**t);
  return &s;
}

// The number of ticket `ticket_id` ("<PREFIX>-<number>") of `desk`; NotFound when it is not one.
static Result<int64_t> TicketNumber(const DeskRuntime& desk, std::string_view ticket_id) {
  const std::string prefix = desk.config().ticket_prefix + "-";
  int64_t number = 0;
  if (ticket_id.substr(0, prefix.size()) != prefix) return Status::NotFound("no such ticket");
  const std::string_view digits = ticket_id.substr(prefix.size());
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (ec != std::errc() || end != digits.data() + digits.size() || number <= 0) return Status::NotFound("no such ticket");
  return number;
}

Result<Op::TicketSlot*> Op::LoadTicketById(const DeskRuntime& desk, std::string_view ticket_id) {
  auto number = TicketNumber(desk, ticket_id);
  if (!number.ok()) return number.status();
  return LoadTicket(desk.config().id, *number);
}

Result<Ticket> Op::LoadTicketByIdUnlocked(const DeskRuntime& desk, std::string_view ticket_id) {
  auto number = TicketNumber(desk, ticket_id);
  if (!number.ok()) return number.status();
  auto t = rec.LoadTicket(desk.config().id, *number, RecordTxn::Lock::kNone);
  if (!t.ok()) return t.status();
  if (!t->has_value()) return Status::NotFound("no such ticket");
  return std::move(**t);
}

Result<Op::TicketSlot*> Op::OpenTicket(const DeskRuntime& desk, Conversation& c, Turn* turn, EscalationReason reason,
                                       std::string_view subject) {
  auto number = rec.NextTicketNumber(desk.config().id);
  if (!number.ok()) return number.status();
  Ticket t;
  t.number = *number;
  t.id = desk.config().ticket_prefix + "-" + std::to_string(t.number);
  t.desk = desk.config().id;
  t.conversation = c.id;
  t.customer = c.customer;
  t.subject = std::string(subject.empty() ? std::string_view(c.last_question) : subject);
  t.team = c.team;
  t.reason = reason;
  t.created_at = t.updated_at = now;
  Event e = EventOf(c, EventType::kTicket, "", now);
  e.detail = t.id + " open";
  turn->events.push_back(std::move(e));
  TicketSlot& s = tickets_[desk.config().id + "/" + std::to_string(t.number)];
  s.t = std::move(t);
  return &s;
}

Status Op::CheckOpenTickets(std::string_view desk, std::string_view customer) {
  auto tickets = rec.TicketsOfCustomer(desk, customer);
  if (!tickets.ok()) return tickets.status();
  int open = 0;
  for (const Ticket& t : *tickets) open += t.status == TicketStatus::kOpen || t.status == TicketStatus::kPending;
  if (open >= impl.options.max_open_tickets_per_customer) {
    return Status::ResourceExhausted("the customer has " + std::to_string(open) + " open tickets already (at most " +
                                     std::to_string(impl.options.max_open_tickets_per_customer) + ")");
  }
  return Status::OK();
}

const Agent* Op::AgentsView::Find(std::string_view username) const {
  for (const Agent& a : agents) {
    if (a.username == username) return &a;
  }
  return nullptr;
}

Result<Op::AgentsView*> Op::Agents(std::string_view desk) {
  auto it = agents_.find(desk);
  if (it != agents_.end()) return &it->second;
  AgentsView v;
  auto agents = rec.Agents(desk);
  if (!agents.ok()) return agents.status();
  auto lives = rec.AgentLives(desk);
  if (!lives.ok()) return lives.status();
  auto serving = rec.ServingCounts(desk);
  if (!serving.ok()) return serving.status();
  v.agents = std::move(*agents);
  v.lives = std::move(*lives);
  v.serving = std::move(*serving);
  return &agents_.emplace(std::string(desk), std::move(v)).first->second;
}

void Op::QueueChanged(std::string_view desk, bool positions_moved) {
  auto it = queue_news_.find(desk);
  if (it == queue_news_.end()) {
    queue_news_.emplace(std::string(desk), positions_moved);
  } else {
    it->second = it->second || positions_moved;
  }
}

Status Op::WriteSlot(Slot& s) {
  Conversation& c = s.c;
  // A conversation the bot serves always has its idle timer armed, early enough for a customer
  // who leaves after an answer (the timer re-arms itself when it fires early).
  if (c.state == ConversationState::kBot) {
    if (const DeskRuntime* d = impl.Desk(c.desk)) {
      const int64_t due = IdleDue(c, d->config().settings);
      if (c.idle_due == 0 || due < c.idle_due) c.idle_due = due;
    }
  }
  std::string bytes = EncodeConversation(c);
  if (!s.before || bytes != s.before_bytes) {
    KEFU_RETURN_IF_ERROR(rec.SaveConversation(s.before ? &*s.before : nullptr, c, bytes));
  }
  Turn& t = s.turn;
  for (; t.messages_written < t.messages.size(); ++t.messages_written) {
    rec.PutMessage(c.id, t.messages[t.messages_written], t.encoded[t.messages_written]);
  }
  for (; t.events_written < t.events.size(); ++t.events_written) rec.PutEvent(t.events[t.events_written]);
  s.before = c;
  s.before_bytes = std::move(bytes);
  return Status::OK();
}

Status Op::Flush() {
  for (auto& [id, s] : slots_) KEFU_RETURN_IF_ERROR(WriteSlot(s));
  for (auto& [key, s] : tickets_) {
    if (s.before && EncodeTicket(*s.before) == EncodeTicket(s.t)) continue;
    KEFU_RETURN_IF_ERROR(rec.SaveTicket(s.before ? &*s.before : nullptr, s.t));
    s.before = s.t;
  }
  agents_.clear();  // serving counts and presence may have changed: read again when needed
  return Status::OK();
}

Status Op::PublishQueueNews() {
  for (const auto& [desk, moved] : queue_news_) {
    auto length = rec.WaitingCount(desk);
    if (!length.ok()) return length.status();
    if (moved) {
      std::vector<QueueEntry> waiting;
      KEFU_RETURN_IF_ERROR(rec.ScanQueue(desk, [&](const QueueRow& row) {
        waiting.push_back(row.entry);
        return true;
      }));
      auto view = Agents(desk);
      if (!view.ok()) return view.status();
      std::map<std::string, int> position;  // per team
      for (const QueueEntry& q : waiting) {
        auto c = rec.LoadConversation(q.conversation, RecordTxn::Lock::kNone);
        if (!c.ok()) continue;
        QueueStatus status = StatusAt(desk, q.team, ++position[q.team]);
        auto v = ViewWith(*c, &status);
        if (!v.ok()) return v.status();
        LiveEvent e;
        e.desk = std::string(desk);
        e.conversation = c->id;
        e.type = LiveEventType::kQueue;
        e.for_customer = true;
        e.data = ConversationViewJson(*v);
        rec.tx().Publish(std::move(e));
      }
    }
    LiveEvent e;
    e.desk = std::string(desk);
    e.type = LiveEventType::kQueue;
    JsonWriter w;
    w.BeginObject().Field("length", *length).EndObject();
    e.data = w.Take();
    rec.tx().Publish(std::move(e));
  }
  return Status::OK();
}

Status Op::Finish() {
  KEFU_RETURN_IF_ERROR(Flush());
  for (auto& [id, s] : slots_) {
    for (LiveEvent& e : s.turn.live) rec.tx().Publish(std::move(e));
    s.turn.live.clear();
    if (!s.turn.state_changed && !s.turn.assigned) continue;
    auto view = View(s.c);
    if (!view.ok()) return view.status();
    const std::string json = ConversationViewJson(*view);
    if (s.turn.state_changed) {
      LiveEvent e;
      e.desk = s.c.desk;
      e.conversation = s.c.id;
      e.type = LiveEventType::kState;
      e.for_customer = true;
      e.data = json;
      rec.tx().Publish(std::move(e));
    }
    if (s.turn.assigned) {
      LiveEvent e;
      e.desk = s.c.desk;
      e.conversation = s.c.id;
      e.type = LiveEventType::kAssigned;
      e.agent = s.c.assignee;
      e.data = json;
      rec.tx().Publish(std::move(e));
    }
    s.turn.state_changed = s.turn.assigned = false;
  }
  for (LiveEvent& e : live_) rec.tx().Publish(std::move(e));
  live_.clear();
  KEFU_RETURN_IF_ERROR(PublishQueueNews());
  queue_news_.clear();
  return Status::OK();
}

void Op::RunAfterCommit() {
  for (auto& fn : after_commit_) fn();
  after_commit_.clear();
}

// ---- Views -----------------------------------------------------------------------------------------

QueueStatus Op::StatusAt(std::string_view desk, std::string_view team, int position) {
  QueueStatus q;
  q.position = position;
  const DeskRuntime* d = impl.Desk(desk);
  auto view = Agents(desk);
  int seats = 0, free = 0;
  if (view.ok()) {
    for (const Agent& a : (*view)->agents) {
      auto live = (*view)->lives.find(a.username);
      if (live == (*view)->lives.end() || live->second.presence != AgentPresence::kOnline) continue;
      ++q.agents_online;
      if (!a.Serves(team)) continue;
      auto serving = (*view)->serving.find(a.username);
      seats += a.capacity;
      free += std::max(0, a.capacity - (serving == (*view)->serving.end() ? 0 : serving->second));
    }
  }
  q.expected_wait = ExpectedWaitMicros(position, seats, free, d ? d->MeanHandleMicros() : kDefaultHandleMicros);
  q.desk_open = d == nullptr || d->config().hours.IsOpen(now);
  return q;
}

Result<QueueStatus> Op::QueueStatusOf(const Conversation& c) {
  const QueueEntry mine{c.id, c.team, c.priority, c.enqueued_at};
  int position = 0;
  bool found = false;
  KEFU_RETURN_IF_ERROR(rec.ScanQueue(c.desk, [&](const QueueRow& row) {
    if (row.entry.team == c.team) ++position;
    found = row.entry.conversation == c.id;
    return !found && !QueueBefore(mine, row.entry);
  }));
  return StatusAt(c.desk, c.team, found ? position : 0);
}

Result<ConversationView> Op::ViewWith(const Conversation& c, const QueueStatus* queue) {
  ConversationView v;
  v.id = c.id;
  v.desk = c.desk;
  v.state = c.state;
  v.channel = c.last_channel;
  v.customer = c.customer;
  v.assignee = c.assignee;
  if (!c.assignee.empty()) {
    auto agent = rec.LoadAgent(c.desk, c.assignee);
    if (!agent.ok()) return agent.status();
    v.assignee_name = agent->has_value() ? DisplayName(**agent) : c.assignee;
  }
  v.team = c.team;
  v.ticket = c.ticket;
  v.last_question = c.last_question;
  v.last_seq = c.last_seq;
  v.created_at = c.created_at;
  v.escalation = c.escalation;
  v.priority = c.priority;
  v.customer_profile = c.profile;
  if (c.state == ConversationState::kQueued) {
    v.waiting_since = c.enqueued_at;
    if (queue != nullptr) {
      v.queue = *queue;
    } else {
      auto q = QueueStatusOf(c);
      if (!q.ok()) return q.status();
      v.queue = *q;
    }
  }
  v.can_rate = c.state == ConversationState::kResolved && c.resolutions > c.rated_resolution;
  return v;
}

Result<ConversationView> Op::View(const Conversation& c) { return ViewWith(c, nullptr); }

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
    if (v.queue->expected_wait < 0) {
      w.Null();
    } else {
      w.Int(v.queue->expected_wait / kMicrosPerSecond);
    }
    w.Field("desk_open", v.queue->desk_open).Field("agents_online", v.queue->agents_online).EndObject();
  }
  w.Field("can_rate", v.can_rate);
  return w.EndObject().Take();
}

// ---- Routing, escalation, resolution ----------------------------------------------------------------

namespace {

bool AnyFreeSeat(const Op::AgentsView& v) {
  for (const Agent& a : v.agents) {
    auto live = v.lives.find(a.username);
    if (live == v.lives.end() || live->second.presence != AgentPresence::kOnline) continue;
    auto serving = v.serving.find(a.username);
    if ((serving == v.serving.end() ? 0 : serving->second) < a.capacity) return true;
  }
  return false;
}

std::vector<AgentLoad> LoadsOf(const Op::AgentsView& v) {
  std::vector<AgentLoad> loads;
  for (const Agent& a : v.agents) {
    auto live = v.lives.find(a.username);
    auto serving = v.serving.find(a.username);
    const AgentLive l = live == v.lives.end() ? AgentLive() : live->second;
    loads.push_back(AgentLoad{a.username, l.presence, a.capacity, serving == v.serving.end() ? 0 : serving->second,
                              a.teams, l.last_assigned_at});
  }
  return loads;
}

}  // namespace

Status Engine::Impl::Route(Op& op, DeskRuntime& d) {
  const std::string& desk = d.config().id;
  KEFU_RETURN_IF_ERROR(op.Flush());  // the line and the seats as this operation left them
  std::set<std::string> seen;
  bool changed = false;
  while (true) {
    auto view = op.Agents(desk);
    if (!view.ok()) return view.status();
    if (!AnyFreeSeat(**view)) break;
    // Claims the oldest rows nobody else holds (FOR UPDATE SKIP LOCKED): routers on other
    // processes take others; rows skipped before stay held by this operation and come back first.
    auto rows = op.rec.ClaimQueue(desk, seen.size() + 8);
    if (!rows.ok()) return rows.status();
    bool progressed = false;
    for (const QueueRow& row : *rows) {
      if (!seen.insert(row.key).second) continue;
      progressed = true;
      auto current = op.Agents(desk);
      if (!current.ok()) return current.status();
      const int chosen = ChooseAgent(LoadsOf(**current), row.entry.team);
      if (chosen < 0) continue;
      const Agent agent = (*current)->agents[static_cast<size_t>(chosen)];
      auto slot = op.Load(row.entry.conversation, RecordTxn::Lock::kTry);
      if (!slot.ok()) {
        if (slot.status().code() == Status::Code::kAborted || slot.status().code() == Status::Code::kNotFound) continue;
        return slot.status();
      }
      Conversation& c = (*slot)->c;
      if (c.state != ConversationState::kQueued) continue;
      if (CustomerGone(c, d.config().settings, op.now)) {  // a seat is for someone who is there
        KEFU_RETURN_IF_ERROR(Defer(op, d, c, &(*slot)->turn, DeferReason::kCustomerGone));
        changed = true;
        continue;
      }
      // The agent's load is checked under its live row's lock, so that no process ever puts the
      // agent over capacity.
      auto live = op.rec.LoadAgentLive(desk, agent.username, RecordTxn::Lock::kTry);
      if (!live.ok()) {
        if (live.status().code() == Status::Code::kAborted) continue;
        return live.status();
      }
      auto serving = op.rec.Serving(desk, agent.username);
      if (!serving.ok()) return serving.status();
      if (live->presence != AgentPresence::kOnline || static_cast<int>(serving->size()) >= agent.capacity) {
        (*current)->serving[agent.username] = agent.capacity;  // full after all: not a candidate now
        continue;
      }
      AgentLive after = *live;
      after.last_assigned_at = op.now;
      KEFU_RETURN_IF_ERROR(op.rec.SaveAgentLive(desk, agent.username, *live, after));
      KEFU_RETURN_IF_ERROR(AssignTo(c, agent, ConversationAction::kAssign, "system", op.now, &(*slot)->turn));
      if (!c.ticket.empty()) {
        auto t = op.LoadTicketById(d, c.ticket);
        if (t.ok() && (*t)->t.assignee != agent.username) {
          (*t)->t.assignee = agent.username;
          (*t)->t.updated_at = op.now;
        }
      }
      KEFU_RETURN_IF_ERROR(op.Flush());
      changed = true;
    }
    if (!progressed) break;
  }
  if (changed) op.QueueChanged(desk, true);
  return Status::OK();
}

Status Engine::Impl::Escalate(Op& op, DeskRuntime& d, Conversation& c, Turn* turn, EscalationReason reason,
                              std::string_view team, std::string_view actor) {
  auto waiting = op.rec.WaitingCount(d.config().id);
  if (!waiting.ok()) return waiting.status();
  if (*waiting >= d.config().settings.max_queue) {
    Append(c, SystemText(c, QueueFullNotice(c)), op.now, turn);
    return Status::ResourceExhausted("the queue is full");
  }
  Op::TicketSlot* ticket = nullptr;
  if (!c.ticket.empty()) {
    auto t = op.LoadTicketById(d, c.ticket);
    if (t.ok()) ticket = *t;
    if (!t.ok() && t.status().code() != Status::Code::kNotFound) return t.status();
  }
  const bool new_ticket =
      ticket == nullptr || ticket->t.status == TicketStatus::kSolved || ticket->t.status == TicketStatus::kClosed;
  if (Status open = new_ticket ? op.CheckOpenTickets(c.desk, c.customer) : Status::OK(); !open.ok()) {
    Append(c,
           SystemText(c, Say(c.language, "You have many requests open with us already; we will answer them here.",
                             "您已有多个未处理的请求，我们会在这里逐一回复您。")),
           op.now, turn);
    return open;
  }
  KEFU_RETURN_IF_ERROR(StartEscalation(c, reason, team, d.config(), actor, op.now, turn));
  if (new_ticket) {
    auto opened = op.OpenTicket(d, c, turn, reason, "");
    if (!opened.ok()) return opened.status();
    c.ticket = (*opened)->t.id;
  } else {
    ticket->t.status = TicketStatus::kOpen;
    ticket->t.updated_at = op.now;
  }
  if (!d.config().hours.IsOpen(op.now)) return Defer(op, d, c, turn, DeferReason::kDeskClosed);
  KEFU_RETURN_IF_ERROR(Route(op, d));
  if (c.state == ConversationState::kQueued) {
    auto q = op.QueueStatusOf(c);
    if (!q.ok()) return q.status();
    Append(c, SystemText(c, QueueNotice(c, *q)), op.now, turn);
    // Joining at the back moves nobody; a priority entry moves those behind it.
    op.QueueChanged(d.config().id, c.priority > 0);
  }
  return Status::OK();
}

Status Engine::Impl::Resolve(Op& op, DeskRuntime& d, Conversation& c, Turn* turn, std::string_view actor,
                             std::string_view reason) {
  const ConversationState from = c.state;
  const int64_t assigned_at = c.assigned_at;
  KEFU_RETURN_IF_ERROR(ResolveConversation(c, actor, reason, op.now, turn));
  if (from == ConversationState::kAgent && assigned_at != 0) {
    const int64_t handled = op.now - assigned_at;
    op.AfterCommit([&d, handled] { d.AddHandleTime(handled); });
  }
  if (!c.ticket.empty()) {
    auto t = op.LoadTicketById(d, c.ticket);
    if (!t.ok() && t.status().code() != Status::Code::kNotFound) return t.status();
    if (t.ok() && (*t)->t.status == TicketStatus::kOpen) {
      (*t)->t.status = TicketStatus::kSolved;
      (*t)->t.updated_at = op.now;
    }
  }
  if (from == ConversationState::kQueued) op.QueueChanged(d.config().id, true);
  if (from == ConversationState::kAgent) KEFU_RETURN_IF_ERROR(Route(op, d));  // the freed seat serves the next
  return Status::OK();
}

Status Engine::Impl::Defer(Op& op, DeskRuntime& d, Conversation& c, Turn* turn, DeferReason why) {
  KEFU_RETURN_IF_ERROR(DeferToTicket(c, why, op.now, turn));
  op.QueueChanged(d.config().id, true);
  if (c.ticket.empty()) return Status::OK();
  auto t = op.LoadTicketById(d, c.ticket);
  if (!t.ok()) return t.status().code() == Status::Code::kNotFound ? Status::OK() : t.status();
  Ticket& ticket = (*t)->t;
  if (ticket.status != TicketStatus::kOpen) return Status::OK();
  ticket.status = TicketStatus::kPending;  // waits for an agent's answer, which reaches the customer
  ticket.updated_at = op.now;
  Event e = EventOf(c, EventType::kTicket, "system", op.now);
  e.detail = ticket.id + " " + std::string(TicketStatusName(ticket.status));
  turn->events.push_back(std::move(e));
  LiveEvent live;
  live.desk = c.desk;
  live.type = LiveEventType::kTicket;
  live.conversation = c.id;
  live.data = EncodeTicket(ticket);
  op.Publish(std::move(live));
  return Status::OK();
}

Status Engine::Impl::SweepQueue(DeskRuntime& d) {
  constexpr size_t kPerTransaction = 64;
  const DeskConfig& config = d.config();
  const int64_t now = Now();
  const int64_t every = std::min<int64_t>(60 * kMicrosPerSecond, config.settings.customer_gone_micros / 4);
  if (now - d.last_sweep.load() < every) return Status::OK();
  d.last_sweep = now;
  std::vector<std::string> waiting;
  KEFU_RETURN_IF_ERROR(Run([&](Op& op) {
    waiting.clear();
    return op.rec.ScanQueue(config.id, [&](const QueueRow& row) {
      waiting.push_back(row.entry.conversation);
      return true;
    });
  }));
  for (size_t from = 0; from < waiting.size(); from += kPerTransaction) {
    KEFU_RETURN_IF_ERROR(Run([&](Op& op) {
      const bool closed = !config.hours.IsOpen(op.now);
      for (size_t i = from; i < std::min(waiting.size(), from + kPerTransaction); ++i) {
        auto slot = op.Load(waiting[i], RecordTxn::Lock::kTry);
        if (!slot.ok()) {  // busy (someone is working on it: not gone) or gone from the store
          const Status::Code code = slot.status().code();
          if (code == Status::Code::kAborted || code == Status::Code::kNotFound) continue;
          return slot.status();
        }
        Conversation& c = (*slot)->c;
        if (c.state != ConversationState::kQueued) continue;
        if (closed || CustomerGone(c, config.settings, op.now)) {
          KEFU_RETURN_IF_ERROR(Defer(op, d, c, &(*slot)->turn,
                                     closed ? DeferReason::kDeskClosed : DeferReason::kCustomerGone));
        }
      }
      return op.Finish();
    }));
  }
  return Status::OK();
}

Status Engine::Impl::RequeueAgentConversations(Op& op, DeskRuntime& d, std::string_view username) {
  auto serving = op.rec.Serving(d.config().id, username);
  if (!serving.ok()) return serving.status();
  for (const std::string& id : *serving) {
    auto slot = op.Load(id);
    if (!slot.ok()) return slot.status();
    Conversation& c = (*slot)->c;
    if (c.state != ConversationState::kAgent || c.assignee != username) continue;
    KEFU_RETURN_IF_ERROR(Requeue(c, "", "system", "agent went offline", op.now, &(*slot)->turn));
    Append(c,
           SystemText(c, Say(c.language, "Your agent got disconnected; you are first in line for the next one.",
                             "客服连接已断开，您将优先由下一位客服接待。")),
           op.now, &(*slot)->turn);
    op.QueueChanged(d.config().id, true);
  }
  return Status::OK();
}

// ---- Opening and operations on the whole engine ----------------------------------------------------

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() { WakeAll(); }

Result<std::unique_ptr<Engine>> Engine::Open(const KefuConfig& config, std::unique_ptr<Store> store, const Clock* clock,
                                             const EngineOptions& options) {
  KEFU_RETURN_IF_ERROR(InitCrypto());
  auto impl = std::make_unique<Impl>();
  impl->clock = clock;
  impl->options = options;
  impl->store = std::move(store);
  impl->cache = std::make_unique<WorkingSet>(options.cache_bytes);
  KEFU_RETURN_IF_ERROR(MigrateStore(impl->store.get(), clock));
  for (const DeskConfig& dc : config.desks) {
    auto d = std::make_unique<DeskRuntime>();
    d->SetConfig(dc);
    KEFU_RETURN_IF_ERROR(impl->LoadKbs(*d));
    impl->desks.emplace(dc.id, std::move(d));
  }
  KEFU_RETURN_IF_ERROR(impl->FollowDesks(/*force=*/true));  // the admin API's desks
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

std::vector<Engine::DeskGauges> Engine::Gauges() const {
  std::vector<DeskGauges> out;
  for (const DeskRuntime* d : impl_->LiveDesks()) {
    const std::string& id = d->config().id;
    DeskGauges g;
    g.desk = id;
    Status s = impl_->Run([&](Op& op) {
      auto waiting = op.rec.WaitingCount(id);
      if (!waiting.ok()) return waiting.status();
      g.queued = static_cast<int>(*waiting);
      auto view = op.Agents(id);
      if (!view.ok()) return view.status();
      g.agents_online = g.serving = 0;
      for (const auto& [name, live] : (*view)->lives) g.agents_online += live.presence == AgentPresence::kOnline;
      for (const auto& [name, n] : (*view)->serving) g.serving += n;
      return Status::OK();
    });
    if (s.ok()) out.push_back(g);
  }
  return out;
}

EngineStats Engine::GetEngineStats() const {
  const Store::Counters c = impl_->store->counters();
  return {c.writes, c.transactions, impl_->retries.load(), impl_->cache->bytes(), impl_->cache->entries()};
}

bool Engine::shared_store() const { return impl_->store->shared(); }

SideStore Engine::Side(std::string_view ns) const { return SideStore(impl_->store.get(), std::string(ns) + "/"); }

Result<std::optional<std::string>> SideStore::Get(std::string_view key) { return store_->Get(ns_ + std::string(key)); }

Result<std::unique_ptr<Store::Lease>> SideStore::TryLease(std::string_view name) {
  return store_->TryLease(ns_ + std::string(name));
}

Status SideStore::ScanPrefix(std::string_view prefix, const ScanFn& fn) {
  return store_->ScanPrefix(ns_ + std::string(prefix),
                            [&](std::string_view k, std::string_view v) { return fn(k.substr(ns_.size()), v); });
}

Status SideStore::Write(const StoreBatch& batch) {
  StoreBatch prefixed;
  for (const StoreBatch::Op& op : batch.ops()) {
    if (op.is_delete) {
      prefixed.Delete(ns_ + op.key);
    } else {
      prefixed.Put(ns_ + op.key, op.value);
    }
  }
  return store_->Write(prefixed);
}

// ---- Live events ---------------------------------------------------------------------------------------

uint64_t Engine::LivePosition(std::string_view desk) const { return impl_->store->live()->Position(desk); }

std::vector<LiveEvent> Engine::WaitLiveEvents(std::string_view desk, uint64_t after_id, int64_t timeout_micros,
                                              const std::function<bool(const LiveEvent&)>& filter, bool* gap) const {
  if (impl_->Desk(desk) == nullptr) {
    *gap = false;
    return {};
  }
  return impl_->store->live()->Wait(desk, after_id, timeout_micros, filter, gap);
}

void Engine::WakeAll() { impl_->store->live()->WakeAll(); }

}  // namespace kefu
