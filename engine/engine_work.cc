// Agents' work on conversations and tickets: claim, reply, notes, transfer, resolve, tickets.
#include <algorithm>

#include "engine/engine.h"
#include "engine/engine_impl.h"

namespace kefu {

Status Engine::Impl::OnConversation(const AgentIdentity& agent, std::string_view id,
                                    const std::function<Status(Op&, DeskRuntime&, const Agent&, Op::Slot&)>& fn) {
  DeskRuntime* d = Desk(agent.desk);
  if (d == nullptr) return Status::Unauthenticated("unknown agent");
  return Run([&](Op& op) {
    auto a = op.rec.LoadAgent(agent.desk, agent.username);
    if (!a.ok()) return a.status();
    if (!a->has_value()) return Status::Unauthenticated("unknown agent");
    auto slot = op.Load(id);
    if (!slot.ok()) return slot.status();
    if ((*slot)->c.desk != agent.desk) return Status::NotFound("no such conversation");  // do not reveal other desks
    return fn(op, *d, **a, **slot);
  });
}

// The ticket of `c` follows its new assignee.
static Status TicketFollows(Op& op, const DeskRuntime& d, const Conversation& c) {
  if (c.ticket.empty()) return Status::OK();
  auto t = op.LoadTicketById(d, c.ticket);
  if (!t.ok()) return t.status().code() == Status::Code::kNotFound ? Status::OK() : t.status();
  if ((*t)->t.assignee != c.assignee) {
    (*t)->t.assignee = c.assignee;
    (*t)->t.updated_at = op.now;
  }
  return Status::OK();
}

// Takes a seat of `agent` for a conversation: Conflict (with `full`'s words, reason "full") when
// the agent is at capacity, (reason "offline") when not there; the check runs under the agent's live
// row's lock.
static Status TakeSeat(Op& op, const Agent& agent, std::string_view full, bool must_be_online) {
  auto live = op.rec.LoadAgentLive(agent.desk, agent.username, RecordTxn::Lock::kUpdate);
  if (!live.ok()) return live.status();
  if (must_be_online && live->presence != AgentPresence::kOnline) {
    return Status::Conflict("that agent is not online").WithReason("offline");
  }
  if (live->presence == AgentPresence::kOffline) {
    return Status::Conflict("go online or away to claim conversations").WithReason("offline");
  }
  auto serving = op.rec.Serving(agent.desk, agent.username);
  if (!serving.ok()) return serving.status();
  if (static_cast<int>(serving->size()) >= agent.capacity) return Status::Conflict(full).WithReason("full");
  AgentLive after = *live;
  after.last_assigned_at = op.now;
  return op.rec.SaveAgentLive(agent.desk, agent.username, *live, after);
}

Result<ConversationView> Engine::Claim(const AgentIdentity& agent, std::string_view id) {
  ConversationView view;
  Status s = impl_->OnConversation(agent, id, [&](Op& op, DeskRuntime& d, const Agent& a, Op::Slot& slot) {
    Conversation& c = slot.c;
    if (c.state == ConversationState::kAgent && c.assignee == agent.username) {
      return Status::Conflict("you already serve this conversation").WithReason("yours");
    }
    if (c.state == ConversationState::kAgent && !c.assignee.empty()) {
      auto other = op.rec.LoadAgent(c.desk, c.assignee);
      if (!other.ok()) return other.status();
      const std::string& name = other->has_value() ? DisplayName(**other) : c.assignee;
      return Status::Conflict(name + " has already taken this conversation").WithReason("taken");
    }
    if (c.state != ConversationState::kQueued) {
      return Status::Conflict("the conversation is not waiting in the queue").WithReason("not_waiting");
    }
    KEFU_RETURN_IF_ERROR(TakeSeat(op, a, "you are at capacity; resolve or transfer a conversation first", false));
    KEFU_RETURN_IF_ERROR(AssignTo(c, a, ConversationAction::kAssign, "agent:" + agent.username, op.now, &slot.turn));
    KEFU_RETURN_IF_ERROR(TicketFollows(op, d, c));
    op.QueueChanged(agent.desk, true);
    KEFU_RETURN_IF_ERROR(op.Finish());
    auto v = op.View(c);
    if (!v.ok()) return v.status();
    view = std::move(*v);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return view;
}

// Appends an agent's message (reply or note) to a conversation; `check` refuses what the agent
// may not do there.
static Result<Message> AgentMessage(Engine::Impl& m, const AgentIdentity& agent, std::string_view id,
                                    std::string_view text, MessageKind kind) {
  Message out;
  DeskRuntime* d = m.Desk(agent.desk);
  if (d == nullptr) return Status::Unauthenticated("unknown agent");
  KEFU_RETURN_IF_ERROR(CheckText(text, d->config().settings.max_message_chars, "field 'text'"));
  Status s = m.OnConversation(agent, id, [&](Op& op, DeskRuntime& desk, const Agent& a, Op::Slot& slot) {
    Conversation& c = slot.c;
    const bool reply = kind == MessageKind::kAgent;
    if (reply && (c.state != ConversationState::kAgent || c.assignee != agent.username)) {
      return Status::Conflict("only the assigned agent can reply; claim the conversation first");
    }
    Message msg;
    msg.kind = kind;
    msg.author = agent.username;
    msg.author_name = DisplayName(a);
    msg.text = std::string(text);
    msg.channel = c.last_channel;
    out = Append(c, std::move(msg), op.now, &slot.turn);
    if (reply) {
      op.AfterCommit([&desk, conversation = c.id, seq = c.last_seq] {
        std::lock_guard<std::mutex> lock(desk.mu);
        desk.read_seq[conversation] = seq;
      });
    }
    if (reply && c.first_response_at == 0) {
      c.first_response_at = op.now;
      Event e = EventOf(c, EventType::kFirstResponse, "agent:" + agent.username, op.now);
      e.value = c.first_response_at - c.escalated_at;
      slot.turn.events.push_back(std::move(e));
    }
    return op.Finish();
  });
  if (!s.ok()) return s;
  return out;
}

Result<Message> Engine::Reply(const AgentIdentity& agent, std::string_view id, std::string_view text) {
  return AgentMessage(*impl_, agent, id, text, MessageKind::kAgent);
}

Result<Message> Engine::AddNote(const AgentIdentity& agent, std::string_view id, std::string_view text) {
  return AgentMessage(*impl_, agent, id, text, MessageKind::kNote);
}

Status Engine::Transfer(const AgentIdentity& agent, std::string_view id, std::string_view to_agent,
                        std::string_view to_team) {
  Impl& m = *impl_;
  return m.OnConversation(agent, id, [&](Op& op, DeskRuntime& d, const Agent&, Op::Slot& slot) {
    Conversation& c = slot.c;
    if (c.state != ConversationState::kAgent || c.assignee != agent.username) {
      return Status::Conflict("only the assigned agent can transfer");
    }
    if (to_agent.empty() == to_team.empty()) return Status::InvalidArgument("give exactly one of 'to_agent' and 'to_team'");
    Event e = EventOf(c, EventType::kTransferred, "agent:" + agent.username, op.now);
    if (!to_agent.empty()) {
      auto target = op.rec.LoadAgent(agent.desk, to_agent);
      if (!target.ok()) return target.status();
      if (!target->has_value()) return Status::NotFound("field 'to_agent': no such agent on this desk");
      if (to_agent == agent.username) return Status::InvalidArgument("field 'to_agent': that is you");
      KEFU_RETURN_IF_ERROR(TakeSeat(op, **target, "that agent is at capacity", true));
      e.detail = "agent:" + std::string(to_agent);
      slot.turn.events.push_back(std::move(e));
      KEFU_RETURN_IF_ERROR(AssignTo(c, **target, ConversationAction::kTransfer, "agent:" + agent.username, op.now,
                                    &slot.turn));
      KEFU_RETURN_IF_ERROR(TicketFollows(op, d, c));
    } else {
      e.detail = "team:" + std::string(to_team);
      slot.turn.events.push_back(std::move(e));
      KEFU_RETURN_IF_ERROR(Requeue(c, to_team, "agent:" + agent.username, "transfer", op.now, &slot.turn));
      KEFU_RETURN_IF_ERROR(m.Route(op, d));
      if (c.state == ConversationState::kQueued) {
        auto q = op.QueueStatusOf(c);
        if (!q.ok()) return q.status();
        Append(c, SystemText(c, QueueNotice(c, *q)), op.now, &slot.turn);
      }
      op.QueueChanged(agent.desk, true);
    }
    KEFU_RETURN_IF_ERROR(m.Route(op, d));  // the seat freed may serve someone waiting
    return op.Finish();
  });
}

Status Engine::Resolve(const AgentIdentity& agent, std::string_view id) {
  Impl& m = *impl_;
  return m.OnConversation(agent, id, [&](Op& op, DeskRuntime& d, const Agent&, Op::Slot& slot) {
    Conversation& c = slot.c;
    if (c.state == ConversationState::kResolved) return Status::Conflict("already resolved");
    if (c.state == ConversationState::kAgent && c.assignee != agent.username) {
      return Status::Conflict("another agent is serving this conversation");
    }
    KEFU_RETURN_IF_ERROR(m.Resolve(op, d, c, &slot.turn, "agent:" + agent.username, "resolved by agent"));
    return op.Finish();
  });
}

// ---- Tickets -----------------------------------------------------------------------------------------

Result<std::vector<Ticket>> Engine::Tickets(const AgentIdentity& agent, std::optional<TicketStatus> status) const {
  if (impl_->Desk(agent.desk) == nullptr) return Status::Unauthenticated("unknown agent");
  std::vector<Ticket> out;
  Status s = impl_->Run([&](Op& op) {
    auto tickets = op.rec.TicketsByStatus(agent.desk, status);
    if (!tickets.ok()) return tickets.status();
    out = std::move(*tickets);
    return Status::OK();
  });
  if (!s.ok()) return s;
  std::sort(out.begin(), out.end(), [](const Ticket& a, const Ticket& b) { return a.number < b.number; });
  return out;
}

// A ticket's status change and what it does to its conversation.
static Status ChangeTicketStatus(Engine::Impl& m, Op& op, DeskRuntime& d, Ticket& t, Op::Slot* slot,
                                 const AgentIdentity& agent, TicketStatus to, const std::string& note) {
  t.status = to;
  const std::string actor = "agent:" + agent.username;
  if (slot != nullptr) {
    Event e = EventOf(slot->c, EventType::kTicket, actor, op.now);
    e.detail = t.id + " " + std::string(TicketStatusName(to));
    slot->turn.events.push_back(std::move(e));
  }
  if (to == TicketStatus::kPending && t.assignee.empty()) t.assignee = agent.username;
  if (slot == nullptr) return Status::OK();
  Conversation& c = slot->c;
  // A pending ticket waits on someone else: the live chat ends so the seat is free for others.
  if (to == TicketStatus::kPending && c.state == ConversationState::kAgent && c.assignee == agent.username) {
    Append(c,
           SystemText(c, Say(c.language, "We are looking into this (ticket " + t.id + ") and will get back to you here.",
                             "我们正在跟进此问题（工单 " + t.id + "），有结果会在这里通知您。")),
           op.now, &slot->turn);
    KEFU_RETURN_IF_ERROR(m.Resolve(op, d, c, &slot->turn, actor, "ticket pending"));
  }
  if (to == TicketStatus::kSolved) {
    if (c.state != ConversationState::kResolved && c.state != ConversationState::kNew) {
      KEFU_RETURN_IF_ERROR(m.Resolve(op, d, c, &slot->turn, actor, "ticket solved"));
    }
    std::string text = Say(c.language, "Update on your request " + t.id + ": it is solved.", "您的工单 " + t.id + " 已处理完成。");
    if (!note.empty()) text += " " + note;
    Append(c, SystemText(c, text), op.now, &slot->turn);
    t.customer_notified = true;
  }
  return Status::OK();
}

Result<Ticket> Engine::UpdateTicket(const AgentIdentity& agent, std::string_view ticket_id, const TicketUpdate& u) {
  Impl& m = *impl_;
  DeskRuntime* d = m.Desk(agent.desk);
  if (d == nullptr) return Status::Unauthenticated("unknown agent");
  if (u.priority && (*u.priority < 0 || *u.priority > 2)) return Status::InvalidArgument("field 'priority': 0, 1 or 2");
  if (!u.note.empty()) KEFU_RETURN_IF_ERROR(CheckText(u.note, d->config().settings.max_message_chars, "field 'note'"));
  Ticket result;
  Status s = m.Run([&](Op& op) {
    auto me = op.rec.LoadAgent(agent.desk, agent.username);
    if (!me.ok()) return me.status();
    if (!me->has_value()) return Status::Unauthenticated("unknown agent");
    // Its conversation first, then the ticket: the locks' order (records.h).
    auto peek = op.LoadTicketByIdUnlocked(*d, ticket_id);
    if (!peek.ok()) return peek.status();
    Op::Slot* slot = nullptr;
    if (!peek->conversation.empty()) {
      auto loaded = op.Load(peek->conversation);
      if (!loaded.ok() && loaded.status().code() != Status::Code::kNotFound) return loaded.status();
      if (loaded.ok()) slot = *loaded;
    }
    auto ts = op.LoadTicketById(*d, ticket_id);
    if (!ts.ok()) return ts.status();
    Ticket& t = (*ts)->t;
    if (u.assignee && !u.assignee->empty()) {
      auto other = op.rec.LoadAgent(agent.desk, *u.assignee);
      if (!other.ok()) return other.status();
      if (!other->has_value()) return Status::NotFound("field 'assignee': no such agent on this desk");
    }
    if (u.status && t.status == TicketStatus::kClosed && *u.status != TicketStatus::kClosed) {
      return Status::Conflict("the ticket is closed");
    }
    if (u.priority) t.priority = *u.priority;
    if (u.tags) t.tags = *u.tags;
    if (u.remind_at) t.remind_at = *u.remind_at;
    if (u.assignee) t.assignee = *u.assignee;
    if (u.status && *u.status != t.status) {
      KEFU_RETURN_IF_ERROR(ChangeTicketStatus(m, op, *d, t, slot, agent, *u.status, u.note));
    }
    t.updated_at = op.now;
    LiveEvent live;
    live.desk = agent.desk;
    live.type = LiveEventType::kTicket;
    live.conversation = t.conversation;
    live.data = EncodeTicket(t);
    op.Publish(std::move(live));
    result = t;
    return op.Finish();
  });
  if (!s.ok()) return s;
  return result;
}

Result<Ticket> Engine::OpenFollowUp(const AgentIdentity& agent, std::string_view id, std::string_view subject) {
  KEFU_RETURN_IF_ERROR(CheckText(subject, 500, "field 'subject'"));
  Ticket result;
  Status s = impl_->OnConversation(agent, id, [&](Op& op, DeskRuntime& d, const Agent&, Op::Slot& slot) {
    // A follow-up is a ticket of its own: the conversation keeps its own ticket.
    KEFU_RETURN_IF_ERROR(op.CheckOpenTickets(slot.c.desk, slot.c.customer));
    auto t = op.OpenTicket(d, slot.c, &slot.turn, EscalationReason::kFollowUp, subject);
    if (!t.ok()) return t.status();
    (*t)->t.assignee = agent.username;
    result = (*t)->t;
    return op.Finish();
  });
  if (!s.ok()) return s;
  return result;
}

}  // namespace kefu
