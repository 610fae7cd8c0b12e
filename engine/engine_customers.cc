// Customers' calls: start or resume, messages, handoff, feedback, ratings, history, tickets.
#include <algorithm>

#include "base/utf8.h"
#include "engine/auth.h"
#include "engine/engine.h"
#include "engine/engine_impl.h"

namespace kefu {
namespace {

constexpr size_t kMaxHistoryPage = 1000;
// Messages a retried client_msg_id is answered with at most (its message and the replies to it).
constexpr size_t kMaxRetryReplies = 50;

std::string CustomerOf(const StartRequest& r) {
  if (!r.channel_user.empty()) return std::string(ChannelName(r.channel)) + ":" + r.channel_user;
  if (!r.verified_user.empty()) return "app:" + r.verified_user;
  return "web:" + RandomHex(12);
}

// `token_hash` becomes the newest token of `c`; the previous one stays valid as another device's
// and the oldest beyond kMaxDeviceTokens stops opening anything (its index row goes).
void AddDeviceToken(Conversation& c, const std::string& token_hash) {
  if (!c.customer_token_hash.empty()) c.device_token_hashes.push_back(c.customer_token_hash);
  while (c.device_token_hashes.size() > kMaxDeviceTokens) c.device_token_hashes.erase(c.device_token_hashes.begin());
  c.customer_token_hash = token_hash;
}

// The language of the desk's first KB ("" before an API desk's first upload).
std::string FirstLanguage(const DeskRuntime& d) {
  auto kb = d.FirstKb();
  return kb == nullptr ? std::string() : kb->language;
}

}  // namespace

// Resumes an identified customer's open conversation (or links their anonymous one); false in
// `*resumed` when there is none to resume.
static Status ResumeIdentified(Op& op, const DeskRuntime& d, const StartRequest& request, const std::string& customer,
                               const std::string& token_hash, StartResult* result) {
  KEFU_RETURN_IF_ERROR(op.rec.LockCustomer(d.config().id, customer));
  Op::Slot* own = nullptr;
  auto own_id = op.rec.ConversationOfCustomer(d.config().id, customer);
  if (!own_id.ok()) return own_id.status();
  if (own_id->has_value()) {
    auto slot = op.Load(**own_id);
    if (!slot.ok() && slot.status().code() != Status::Code::kNotFound) return slot.status();
    if (slot.ok()) own = *slot;
  }
  Op::Slot* web = nullptr;
  if (!request.verified_user.empty() && !request.link_token.empty()) {
    // Only the anonymous (web) conversation of the same desk may be linked.
    auto web_id = op.rec.ConversationOfToken(HashToken(request.link_token));
    if (!web_id.ok()) return web_id.status();
    if (web_id->has_value() && (own == nullptr || **web_id != own->c.id)) {
      auto slot = op.Load(**web_id);
      if (!slot.ok() && slot.status().code() != Status::Code::kNotFound) return slot.status();
      if (slot.ok() && (*slot)->c.desk == d.config().id && (*slot)->c.customer.rfind("web:", 0) == 0) web = *slot;
    }
  }
  if (web != nullptr && (own == nullptr || web->c.last_activity_at >= own->c.last_activity_at)) {
    // The person wrote on the website before logging in: that conversation becomes theirs.
    auto tickets = op.rec.TicketsOfCustomer(d.config().id, web->c.customer);
    if (!tickets.ok()) return tickets.status();
    for (const Ticket& t : *tickets) {
      if (t.conversation != web->c.id) continue;
      auto slot = op.LoadTicket(d.config().id, t.number);
      if (!slot.ok()) return slot.status();
      (*slot)->t.customer = customer;
    }
    web->c.customer = customer;
    own = web;
    result->linked = true;
  }
  if (own == nullptr) return Status::OK();
  // Another device (or channel) of the same customer: the conversation continues, with a token
  // of its own; replies now go out on this channel.
  AddDeviceToken(own->c, token_hash);
  own->c.last_channel = request.channel;
  if (!request.profile.empty()) own->c.profile = request.profile;
  result->conversation_id = own->c.id;
  result->resumed = true;
  return op.Finish();
}

Result<StartResult> Engine::StartConversation(const StartRequest& request) {
  Impl& m = *impl_;
  DeskRuntime* d = m.Desk(request.desk);
  if (d == nullptr) return Status::NotFound("no such desk");
  const std::string token = RandomToken();
  const std::string token_hash = HashToken(token);
  const bool identified = !request.verified_user.empty() || !request.channel_user.empty();
  const std::string customer = CustomerOf(request);
  StartResult result;
  Status s = m.Run([&](Op& op) {
    result = StartResult();
    result.customer_token = token;
    if (identified) KEFU_RETURN_IF_ERROR(ResumeIdentified(op, *d, request, customer, token_hash, &result));
    if (result.resumed) return Status::OK();
    {
      std::lock_guard<std::mutex> lock(m.starts_mu);
      auto& starts = m.recent_starts[customer];
      while (!starts.empty() && starts.front() < op.now - kMicrosPerMinute) starts.pop_front();
      if (static_cast<int>(starts.size()) >= m.options.max_conversations_per_customer_minute) {
        return Status::ResourceExhausted("too many new conversations; try again in a minute");
      }
    }
    op.AfterCommit([&m, customer, now = op.now] {
      std::lock_guard<std::mutex> lock(m.starts_mu);
      if (m.recent_starts.size() > 100000) m.recent_starts.clear();  // bounded; limits are per minute anyway
      m.recent_starts[customer].push_back(now);
    });
    Conversation c;
    c.id = RandomHex(16);
    c.desk = d->config().id;
    c.customer = customer;
    c.customer_token_hash = token_hash;
    c.last_channel = request.channel;
    c.profile = request.profile;
    c.language = request.locale.rfind("zh", 0) == 0           ? "zh"
                 : !request.locale.empty()                    ? "en"
                 : FirstLanguage(*d).rfind("zh", 0) == 0      ? "zh"
                                                              : "en";
    c.created_at = c.last_activity_at = op.now;
    Op::Slot* slot = op.Create(std::move(c));
    Event e = EventOf(slot->c, EventType::kStarted, "customer", op.now);
    e.detail = std::string(ChannelName(request.channel));
    slot->turn.events.push_back(std::move(e));
    Message welcome;
    welcome.kind = MessageKind::kBot;
    welcome.text = slot->c.language == "zh" ? d->config().welcome_zh : d->config().welcome_en;
    welcome.channel = request.channel;
    result.messages.push_back(Append(slot->c, std::move(welcome), op.now, &slot->turn));
    result.conversation_id = slot->c.id;
    return op.Finish();
  });
  if (!s.ok()) return s;
  if (result.resumed) {
    auto history = History(result.conversation_id, 0, kMaxHistoryPage, false);
    if (history.ok()) result.messages = std::move(*history);
  }
  return result;
}

Status Engine::AuthorizeCustomer(std::string_view conversation_id, std::string_view token) const {
  if (token.empty()) return Status::Unauthenticated("missing customer token");
  const std::string hash = HashToken(token);
  std::optional<std::string> owner;
  KEFU_RETURN_IF_ERROR(impl_->Run([&](Op& op) {
    auto o = op.rec.ConversationOfToken(hash);
    if (!o.ok()) return o.status();
    owner = *o;
    return Status::OK();
  }));
  if (!owner) return Status::Unauthenticated("invalid customer token");
  // The hash was found by lookup; compare the ids in constant time all the same.
  if (!ConstantTimeEquals(*owner, conversation_id)) return Status::NotFound("no such conversation");
  return Status::OK();
}

// The customer's message: a retry answers with what the first attempt produced; otherwise the
// bot (or the waiting line, or the agent) takes it.
static Status TakeCustomerMessage(Engine::Impl& m, Op& op, DeskRuntime& d, const CustomerMessageRequest& request,
                                  const KbBundle& kb, const MatchResult& match, CustomerTurn* turn) {
  auto slot = op.Load(request.conversation_id);
  if (!slot.ok()) return slot.status();
  Conversation& c = (*slot)->c;
  Turn& t = (*slot)->turn;
  if (!request.client_msg_id.empty()) {
    auto seq = op.rec.FindClientMessage(c.id, request.client_msg_id);
    if (!seq.ok()) return seq.status();
    if (seq->has_value()) {
      auto page = op.rec.Messages(c.id, **seq - 1, kMaxRetryReplies, false);
      if (!page.ok()) return page.status();
      for (size_t i = 0; i < page->size(); ++i) {
        if (i > 0 && (*page)[i].kind == MessageKind::kCustomer) break;
        turn->messages.push_back((*page)[i]);
      }
      turn->duplicate = true;
      auto view = op.View(c);
      if (!view.ok()) return view.status();
      turn->conversation = std::move(*view);
      return Status::OK();
    }
  }
  if (c.last_seq + 2 > m.options.max_messages_per_conversation) {
    return Status::ResourceExhausted("this conversation has reached " +
                                     std::to_string(m.options.max_messages_per_conversation) +
                                     " messages; start a new conversation");
  }
  Message said;
  said.kind = MessageKind::kCustomer;
  said.text = request.text;
  said.channel = request.channel.value_or(c.last_channel == Channel::kWeCom ? Channel::kWeb : c.last_channel);
  said.client_msg_id = request.client_msg_id;
  const int64_t idle_since = c.last_activity_at;
  const ConversationState was = c.state;
  AddCustomerMessage(c, std::move(said), kb.language, op.now, &t);

  Status s;
  bool bot = c.state == ConversationState::kNew || c.state == ConversationState::kBot;
  if (c.state == ConversationState::kResolved) {
    bool back_to_agent = false;
    std::optional<Agent> last;
    if (!c.last_agent.empty() && op.now - idle_since <= d.config().settings.reopen_window_micros) {
      auto agent = op.rec.LoadAgent(d.config().id, c.last_agent);
      if (!agent.ok()) return agent.status();
      auto live = op.rec.LoadAgentLive(d.config().id, c.last_agent, RecordTxn::Lock::kUpdate);
      if (!live.ok()) return live.status();
      auto serving = op.rec.Serving(d.config().id, c.last_agent);
      if (!serving.ok()) return serving.status();
      back_to_agent = agent->has_value() && live->presence == AgentPresence::kOnline &&
                      static_cast<int>(serving->size()) < (*agent)->capacity;
      if (back_to_agent) last = **agent;
    }
    if (back_to_agent) {
      s = AssignTo(c, *last, ConversationAction::kReopenToAgent, "customer", op.now, &t);
      c.escalated_at = op.now;
      c.first_response_at = 0;
    } else {
      s = Transition(c, ConversationAction::kReopenToBot, "customer", "reopened", op.now, &t);
      bot = s.ok();
    }
  } else if (c.state == ConversationState::kNew) {
    s = Transition(c, ConversationAction::kBotTakes, "bot", "first message", op.now, &t);
  }
  if (s.ok() && bot) {
    turn->decision = match.decision;
    BotPlan plan = PlanBotTurn(c, kb.kb, match, d.config().settings);
    for (Event& e : plan.events) {
      e.at = op.now;
      t.events.push_back(std::move(e));
    }
    if (plan.kind == BotPlan::Kind::kReply) {
      if (!plan.reply.entry_id.empty()) c.answered_at = op.now;
      Append(c, std::move(plan.reply), op.now, &t);
      // Thanks to the bot that served them: the customer's own word that it is resolved (the
      // stats need not wait for the idle timeout). A new conversation's "thanks" proves nothing.
      if (match.reason == MatchReason::kThanks && was == ConversationState::kBot) {
        s = m.Resolve(op, d, c, &t, "customer", "customer thanked");
      }
    } else {
      turn->decision = MatchDecision::kEscalate;
      s = m.Escalate(op, d, c, &t, plan.reason, plan.team, "bot");
    }
  }
  if (s.ok() && c.state == ConversationState::kQueued && match.decision == MatchDecision::kAnswer) {
    // Waiting for a person (perhaps all night), the customer still gets what the bot knows for
    // sure; they keep their place, and the answer shows in the history the agent will read.
    turn->decision = match.decision;
    BotPlan plan = PlanBotTurn(c, kb.kb, match, d.config().settings);
    for (Event& e : plan.events) {
      e.at = op.now;
      t.events.push_back(std::move(e));
    }
    Append(c, std::move(plan.reply), op.now, &t);
  }
  // Queued conversations: what the bot did not answer waits for the person; agents see the line's
  // new question.
  if (c.state == ConversationState::kQueued) op.QueueChanged(d.config().id, false);
  if (!s.ok() && s.code() != Status::Code::kResourceExhausted) return s;
  // A full line is told to the customer in a system message; the turn succeeded.
  KEFU_RETURN_IF_ERROR(op.Finish());
  turn->messages = t.messages;
  auto view = op.View(c);
  if (!view.ok()) return view.status();
  turn->conversation = std::move(*view);
  return Status::OK();
}

Result<CustomerTurn> Engine::PostCustomerMessage(const CustomerMessageRequest& request) {
  Impl& m = *impl_;
  if (request.client_msg_id.size() > 100) return Status::InvalidArgument("field 'client_msg_id': longer than 100 characters");
  if (!IsValidUtf8(request.client_msg_id)) return Status::InvalidArgument("field 'client_msg_id': invalid UTF-8");
  // The desk (for the KB) from the working set; the matcher runs before the transaction: it is
  // the slowest step and needs no lock.
  std::string desk;
  KEFU_RETURN_IF_ERROR(m.Run([&](Op& op) {
    auto c = op.rec.LoadConversation(request.conversation_id, RecordTxn::Lock::kNone);
    if (!c.ok()) return c.status();
    desk = c->desk;
    return Status::OK();
  }));
  DeskRuntime* d = m.Desk(desk);
  if (d == nullptr) return Status::NotFound("no such conversation");
  KEFU_RETURN_IF_ERROR(CheckText(request.text, d->config().settings.max_message_chars, "field 'text'"));
  std::shared_ptr<const KbBundle> kb = d->KbFor(request.text);
  MatchResult match;
  if (kb == nullptr) {  // a desk without a KB yet: every question goes to a person
    kb = std::make_shared<const KbBundle>();
    match.decision = MatchDecision::kEscalate;
    match.reason = MatchReason::kLowConfidence;
    if (!request.choice.empty()) return Status::InvalidArgument("field 'choice': no such entry");
  } else if (!request.choice.empty()) {
    const int entry = kb->matcher->FindEntry(request.choice);
    if (entry < 0) return Status::InvalidArgument("field 'choice': no such entry");
    const bool handoff = kb->kb.entries[static_cast<size_t>(entry)].handoff;
    match.decision = handoff ? MatchDecision::kEscalate : MatchDecision::kAnswer;
    match.reason = handoff ? MatchReason::kHandoffEntry : MatchReason::kConfident;
    match.candidates.push_back({entry, 1.0f});
  } else {
    match = kb->matcher->Match(request.text);
  }
  CustomerTurn turn;
  Status s = m.Run([&](Op& op) {
    turn = CustomerTurn();
    return TakeCustomerMessage(m, op, *d, request, *kb, match, &turn);
  });
  if (!s.ok()) return s;
  return turn;
}

// The turn's messages and the conversation's view once `op` is finished.
static Status FinishTurn(Op& op, Op::Slot& slot, CustomerTurn* turn) {
  KEFU_RETURN_IF_ERROR(op.Finish());
  turn->messages = slot.turn.messages;
  auto view = op.View(slot.c);
  if (!view.ok()) return view.status();
  turn->conversation = std::move(*view);
  return Status::OK();
}

Result<CustomerTurn> Engine::RequestHandoff(std::string_view conversation_id) {
  Impl& m = *impl_;
  CustomerTurn turn;
  Status s = m.Run([&](Op& op) {
    turn = CustomerTurn();
    auto slot = op.Load(conversation_id);
    if (!slot.ok()) return slot.status();
    Conversation& c = (*slot)->c;
    DeskRuntime* d = m.Desk(c.desk);
    if (d == nullptr) return Status::NotFound("no such conversation");
    if (c.state == ConversationState::kQueued || c.state == ConversationState::kAgent) {
      return FinishTurn(op, **slot, &turn);  // already with (or waiting for) a person
    }
    Turn& t = (*slot)->turn;
    if (c.state == ConversationState::kResolved) {
      KEFU_RETURN_IF_ERROR(Transition(c, ConversationAction::kReopenToBot, "customer", "reopened", op.now, &t));
    } else if (c.state == ConversationState::kBot && !c.last_question.empty()) {
      // Leaving the bot for a person after a question it did not answer (it clarified, or the
      // customer asked at once): a KB gap. After an answer, wanting a person says nothing of the
      // KB (a "this didn't help" vote does, and counts there).
      auto last = op.rec.LoadMessage(c.id, c.last_seq);
      if (!last.ok()) return last.status();
      const bool answered = last->has_value() && (*last)->kind == MessageKind::kBot && !(*last)->entry_id.empty();
      if (!answered) {
        Event u = EventOf(c, EventType::kUnmatched, "customer", op.now);
        u.detail = c.last_question;
        t.events.push_back(std::move(u));
      }
    }
    Status e = m.Escalate(op, *d, c, &t, EscalationReason::kAskedForPerson, "", "customer");
    if (!e.ok() && e.code() != Status::Code::kResourceExhausted) return e;
    return FinishTurn(op, **slot, &turn);
  });
  if (!s.ok()) return s;
  return turn;
}

Result<CustomerTurn> Engine::LeaveQueue(std::string_view conversation_id) {
  Impl& m = *impl_;
  CustomerTurn turn;
  Status s = m.Run([&](Op& op) {
    turn = CustomerTurn();
    auto slot = op.Load(conversation_id);
    if (!slot.ok()) return slot.status();
    Conversation& c = (*slot)->c;
    DeskRuntime* d = m.Desk(c.desk);
    if (d == nullptr) return Status::NotFound("no such conversation");
    if (c.state != ConversationState::kQueued) return Status::Conflict("the conversation is not waiting in the line");
    Turn& t = (*slot)->turn;
    KEFU_RETURN_IF_ERROR(WithdrawFromQueue(c, op.now, &t));
    if (!c.ticket.empty()) {
      auto ticket = op.LoadTicketById(*d, c.ticket);
      if (!ticket.ok() && ticket.status().code() != Status::Code::kNotFound) return ticket.status();
      if (ticket.ok() && (*ticket)->t.status == TicketStatus::kOpen) {
        (*ticket)->t.status = TicketStatus::kClosed;
        (*ticket)->t.updated_at = op.now;
      }
    }
    op.QueueChanged(d->config().id, true);
    return FinishTurn(op, **slot, &turn);
  });
  if (!s.ok()) return s;
  return turn;
}

Result<CustomerTurn> Engine::GiveFeedback(std::string_view conversation_id, uint64_t message_seq, bool helpful) {
  Impl& m = *impl_;
  CustomerTurn turn;
  Status s = m.Run([&](Op& op) {
    turn = CustomerTurn();
    auto slot = op.Load(conversation_id);
    if (!slot.ok()) return slot.status();
    auto message = op.rec.LoadMessage(conversation_id, message_seq);
    if (!message.ok()) return message.status();
    if (!message->has_value()) return Status::NotFound("no such message");
    if ((*message)->kind != MessageKind::kBot) {
      return Status::InvalidArgument("field 'message_seq': feedback is for the bot's messages");
    }
    Conversation& c = (*slot)->c;
    DeskRuntime* d = m.Desk(c.desk);
    if (d == nullptr) return Status::NotFound("no such conversation");
    Turn& t = (*slot)->turn;
    Event e = EventOf(c, EventType::kFeedback, "customer", op.now);
    e.detail = (*message)->entry_id;
    e.value = helpful ? 1 : 0;
    if (!helpful) e.reason = c.last_question;  // the question the answer did not help with: a KB gap
    t.events.push_back(std::move(e));
    if (!helpful && c.state == ConversationState::kBot) {
      std::string team;
      {
        std::lock_guard<std::mutex> lock(d->mu);
        for (const auto& kb : d->kbs) {
          if (const KbEntry* entry = kb->kb.Find((*message)->entry_id)) team = entry->team;
        }
      }
      Status esc = m.Escalate(op, *d, c, &t, EscalationReason::kUnhelpfulAnswer, team, "customer");
      if (!esc.ok() && esc.code() != Status::Code::kResourceExhausted) return esc;
    }
    // "This helped" on the bot's last word: the customer says the conversation is resolved.
    if (helpful && c.state == ConversationState::kBot && c.last_seq == message_seq) {
      KEFU_RETURN_IF_ERROR(m.Resolve(op, *d, c, &t, "customer", "helpful answer"));
    }
    return FinishTurn(op, **slot, &turn);
  });
  if (!s.ok()) return s;
  return turn;
}

Status Engine::Rate(std::string_view conversation_id, int rating) {
  if (rating < 1 || rating > 5) return Status::InvalidArgument("field 'rating': must be an integer from 1 to 5");
  return impl_->Run([&](Op& op) {
    auto slot = op.Load(conversation_id);
    if (!slot.ok()) return slot.status();
    Conversation& c = (*slot)->c;
    if (c.state != ConversationState::kResolved) return Status::Conflict("the conversation is not resolved");
    if (c.rated_resolution >= c.resolutions) return Status::Conflict("already rated");
    c.rated_resolution = c.resolutions;
    Event e = EventOf(c, EventType::kCsat, "customer", op.now);
    e.detail = c.last_agent;
    e.value = rating;
    (*slot)->turn.events.push_back(std::move(e));
    return op.Finish();
  });
}

Result<std::vector<Message>> Engine::History(std::string_view conversation_id, uint64_t after_seq, size_t limit,
                                             bool include_notes) const {
  std::vector<Message> out;
  Status s = impl_->Run([&](Op& op) {
    auto c = op.rec.LoadConversation(conversation_id, RecordTxn::Lock::kNone);
    if (!c.ok()) return c.status();
    auto page = op.rec.Messages(conversation_id, after_seq, limit, include_notes);
    if (!page.ok()) return page.status();
    out = std::move(*page);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return out;
}

Result<ConversationView> Engine::GetConversation(std::string_view conversation_id) const {
  ConversationView view;
  Status s = impl_->Run([&](Op& op) {
    auto c = op.rec.LoadConversation(conversation_id, RecordTxn::Lock::kNone);
    if (!c.ok()) return c.status();
    auto v = op.View(*c);
    if (!v.ok()) return v.status();
    view = std::move(*v);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return view;
}

Result<int64_t> Engine::CustomerSeen(std::string_view conversation_id) {
  Impl& m = *impl_;
  int64_t every = 60 * kMicrosPerSecond;
  Status s = m.Run([&](Op& op) {
    auto peek = op.rec.LoadConversation(conversation_id, RecordTxn::Lock::kNone);
    if (!peek.ok()) return peek.status();
    const DeskRuntime* d = m.Desk(peek->desk);
    if (d == nullptr) return Status::NotFound("no such conversation");
    every = std::clamp<int64_t>(d->config().settings.customer_gone_micros / 3, kMicrosPerSecond, every);
    // Only a waiting customer's presence matters (CustomerGone), or an answered one's (whether they
    // left after the answer: IdleDue), and a write every half interval is enough: most calls read
    // and write nothing.
    const bool matters = peek->state == ConversationState::kQueued ||
                         (peek->state == ConversationState::kBot && peek->answered_at != 0);
    if (!matters || op.now - peek->customer_seen_at < every / 2) return Status::OK();
    auto slot = op.Load(conversation_id);
    if (!slot.ok()) return slot.status();
    (*slot)->c.customer_seen_at = op.now;
    return op.Finish();
  });
  if (!s.ok()) return s;
  return every;
}

Result<std::vector<Ticket>> Engine::CustomerTickets(std::string_view conversation_id) const {
  std::vector<Ticket> out;
  Status s = impl_->Run([&](Op& op) {
    auto c = op.rec.LoadConversation(conversation_id, RecordTxn::Lock::kNone);
    if (!c.ok()) return c.status();
    auto tickets = op.rec.TicketsOfCustomer(c->desk, c->customer);
    if (!tickets.ok()) return tickets.status();
    out = std::move(*tickets);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace kefu
