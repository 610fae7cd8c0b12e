#include "engine/desk.h"

#include <algorithm>

#include "engine/clock.h"
#include "engine/stats.h"
#include "kb/normalize.h"

namespace kefu {
namespace {

std::string MinutesText(int64_t micros, std::string_view language) {
  const int64_t minutes = std::max<int64_t>(1, (micros + kMicrosPerMinute - 1) / kMicrosPerMinute);
  return language == "zh" ? std::to_string(minutes) + " 分钟"
                          : std::to_string(minutes) + (minutes == 1 ? " minute" : " minutes");
}

Message BotText(const Conversation& c, std::string text) {
  Message m;
  m.kind = MessageKind::kBot;
  m.text = std::move(text);
  m.channel = c.last_channel;
  return m;
}

}  // namespace

std::string Say(std::string_view language, std::string_view en, std::string_view zh) {
  return std::string(language == "zh" ? zh : en);
}

Event EventOf(const Conversation& c, EventType type, std::string_view actor, int64_t now) {
  Event e;
  e.desk = c.desk;
  e.conversation = c.id;
  e.type = type;
  e.actor = std::string(actor);
  e.at = now;
  return e;
}

const Message& Append(Conversation& c, Message m, int64_t now, Turn* turn) {
  m.seq = ++c.last_seq;
  m.at = now;
  c.last_activity_at = now;
  LiveEvent e;
  e.desk = c.desk;
  e.conversation = c.id;
  e.type = LiveEventType::kMessage;
  e.agent = c.assignee;
  e.for_customer = !m.internal();
  e.data = EncodeMessage(m);
  turn->encoded.push_back(e.data);
  turn->live.push_back(std::move(e));
  turn->messages.push_back(std::move(m));
  return turn->messages.back();
}

Message SystemText(const Conversation& c, std::string text) {
  Message m;
  m.kind = MessageKind::kSystem;
  m.text = std::move(text);
  m.channel = c.last_channel;
  return m;
}

Status Transition(Conversation& c, ConversationAction action, std::string_view actor, std::string_view reason,
                  int64_t now, Turn* turn) {
  auto next = NextState(c.state, action);
  if (!next.ok()) return next.status();
  Event e = EventOf(c, EventType::kStateChanged, actor, now);
  e.from = c.state;
  e.to = *next;
  e.reason = std::string(reason);
  if (e.from == ConversationState::kQueued && e.to == ConversationState::kAgent) e.value = now - c.enqueued_at;
  if (e.to == ConversationState::kResolved) {
    if (c.escalated_at != 0) e.detail = std::string(kEscalatedEpisode);
    if (e.from == ConversationState::kAgent && c.assigned_at != 0) e.value = std::max<int64_t>(1, now - c.assigned_at);
  }
  c.state = *next;
  turn->events.push_back(std::move(e));
  turn->state_changed = true;
  return Status::OK();
}

void AddCustomerMessage(Conversation& c, Message m, std::string_view kb_language, int64_t now, Turn* turn) {
  c.last_channel = m.channel;
  c.last_customer_at = now;
  c.answered_at = 0;  // a new question: not answered yet
  c.last_question = m.text;
  c.language = HasUnspacedText(m.text) || kb_language.rfind("zh", 0) == 0 ? "zh" : "en";
  Append(c, std::move(m), now, turn);
  turn->events.push_back(EventOf(c, EventType::kMessage, "customer", now));
}

BotPlan PlanBotTurn(Conversation& c, const KnowledgeBase& kb, const MatchResult& r, const DeskSettings& settings) {
  BotPlan plan;
  Event e;
  e.desk = c.desk;
  e.conversation = c.id;
  e.actor = "bot";
  switch (r.decision) {
    case MatchDecision::kSmallTalk:
      plan.reply = BotText(c, r.reply);
      return plan;
    case MatchDecision::kAnswer: {
      const KbEntry& entry = kb.entries[r.candidates[0].entry];
      auto variant = entry.variants.find(std::string(ChannelName(c.last_channel)));
      plan.reply = BotText(c, variant == entry.variants.end() ? entry.answer : variant->second);
      plan.reply.entry_id = entry.id;
      for (const KbLink& l : entry.links) plan.reply.links.push_back({l.title, l.url});
      for (const std::string& q : entry.quick_replies) plan.reply.choices.push_back({"", q});
      c.clarify_streak = 0;
      e.type = EventType::kBotAnswer;
      e.detail = entry.id;
      plan.events.push_back(std::move(e));
      return plan;
    }
    case MatchDecision::kClarify: {
      if (++c.clarify_streak > settings.clarify_limit) {
        plan.kind = BotPlan::Kind::kEscalate;
        plan.reason = EscalationReason::kClarifyStreak;
        plan.team = kb.entries[r.candidates[0].entry].team;
        return plan;
      }
      plan.reply = BotText(c, Say(c.language, "Did you mean one of these?", "您想问的是下面哪一个？"));
      e.type = EventType::kBotClarify;
      for (const MatchCandidate& cand : r.candidates) {
        const KbEntry& entry = kb.entries[cand.entry];
        plan.reply.choices.push_back({entry.id, entry.title});
        e.detail += (e.detail.empty() ? "" : " ") + entry.id;
      }
      plan.events.push_back(std::move(e));
      return plan;
    }
    case MatchDecision::kEscalate:
      break;
  }
  plan.kind = BotPlan::Kind::kEscalate;
  plan.reason = EscalationReason::kLowConfidence;
  if (r.reason == MatchReason::kAskedForPerson) {
    plan.reason = EscalationReason::kAskedForPerson;
  } else if (r.reason == MatchReason::kHandoffEntry) {
    plan.reason = EscalationReason::kHandoffEntry;
    const KbEntry& entry = kb.entries[r.candidates[0].entry];
    plan.team = entry.team;
    e.type = EventType::kBotAnswer;
    e.detail = entry.id;
    plan.events.push_back(std::move(e));
  } else {
    e.type = EventType::kUnmatched;
    e.detail = c.last_question;
    plan.events.push_back(std::move(e));
  }
  // Below the answer threshold the nearest entry is a guess (a parking question near payroll):
  // such a question goes to the desk's default team (plan.team stays empty).
  return plan;
}

Status StartEscalation(Conversation& c, EscalationReason reason, std::string_view team, const DeskConfig& desk,
                       std::string_view actor, int64_t now, Turn* turn) {
  if (c.state == ConversationState::kNew) {
    KEFU_RETURN_IF_ERROR(Transition(c, ConversationAction::kBotTakes, "bot", "first message", now, turn));
  }
  c.escalation = reason;
  c.team = team.empty() ? desk.default_team : std::string(team);
  c.enqueued_at = c.escalated_at = now;
  c.first_response_at = 0;
  c.sla_breached = false;
  c.clarify_streak = 0;
  c.sla_due = now + desk.settings.first_response_sla_micros + 1;
  return Transition(c, ConversationAction::kEscalate, actor, EscalationReasonName(reason), now, turn);
}

Status AssignTo(Conversation& c, const Agent& agent, ConversationAction action, std::string_view actor, int64_t now,
                Turn* turn) {
  c.assignee = agent.username;
  c.last_agent = agent.username;
  KEFU_RETURN_IF_ERROR(Transition(c, action, actor, "assigned", now, turn));
  c.assigned_at = now;
  Event e = EventOf(c, EventType::kAssigned, actor, now);
  e.detail = agent.username;
  turn->events.push_back(std::move(e));
  turn->assigned = true;
  const std::string& name = DisplayName(agent);
  Append(c, SystemText(c, Say(c.language, name + " has joined the conversation.", name + " 已接入，为您服务。")), now,
         turn);
  return Status::OK();
}

Status Requeue(Conversation& c, std::string_view team, std::string_view actor, std::string_view reason, int64_t now,
               Turn* turn) {
  c.assignee.clear();
  c.assigned_at = 0;
  if (!team.empty()) c.team = std::string(team);
  c.priority = std::max(c.priority, 1);
  c.enqueued_at = now;
  return Transition(c, ConversationAction::kRequeue, actor, reason, now, turn);
}

Status WithdrawFromQueue(Conversation& c, int64_t now, Turn* turn) {
  KEFU_RETURN_IF_ERROR(Transition(c, ConversationAction::kWithdraw, "customer", "withdrawn", now, turn));
  c.escalated_at = 0;
  c.enqueued_at = 0;
  c.sla_due = 0;
  c.priority = 0;
  Append(c,
         SystemText(c, Say(c.language, "You left the line. Ask me anything, or ask for a person again at any time.",
                           "您已退出排队。有问题可以继续问我，也可以随时再转人工。")),
         now, turn);
  return Status::OK();
}

bool CustomerGone(const Conversation& c, const DeskSettings& settings, int64_t now) {
  const int64_t last_sign = std::max({c.last_customer_at, c.customer_seen_at, c.enqueued_at});
  return c.state == ConversationState::kQueued && now - last_sign > settings.customer_gone_micros;
}

Status DeferToTicket(Conversation& c, DeferReason why, int64_t now, Turn* turn) {
  const bool gone = why == DeferReason::kCustomerGone;
  KEFU_RETURN_IF_ERROR(
      Transition(c, ConversationAction::kDefer, "system", gone ? "customer gone" : "desk closed", now, turn));
  c.enqueued_at = 0;
  c.sla_due = 0;
  c.priority = 0;
  const std::string ticket = c.ticket.empty() ? "" : " (" + c.ticket + ")";
  Append(c,
         SystemText(c, gone ? Say(c.language,
                                  "You seem to have stepped away, so a person will answer your request" + ticket +
                                      " here as soon as they can. Ask me anything meanwhile.",
                                  "您似乎已离开，客服会尽快在这里回复您的请求" + ticket + "。其间有问题也可以继续问我。")
                            : Say(c.language,
                                  "We are closed now. A person will answer your request" + ticket +
                                      " here when we open. Ask me anything meanwhile.",
                                  "现在是非工作时间。客服上班后会在这里回复您的请求" + ticket + "。其间有问题也可以继续问我。")),
         now, turn);
  return Status::OK();
}

Status ResolveConversation(Conversation& c, std::string_view actor, std::string_view reason, int64_t now, Turn* turn) {
  const ConversationState from = c.state;
  KEFU_RETURN_IF_ERROR(Transition(c, ConversationAction::kResolve, actor, reason, now, turn));
  c.assignee.clear();
  c.assigned_at = 0;
  c.escalated_at = 0;
  c.idle_due = 0;
  c.sla_due = 0;
  ++c.resolutions;
  if (from == ConversationState::kAgent || from == ConversationState::kQueued) {
    Append(c,
           SystemText(c, Say(c.language, "This conversation is resolved. How did we do? Rate us from 1 to 5.",
                             "本次会话已结束，请为我们的服务打分（1-5 分）。")),
           now, turn);
  }
  return Status::OK();
}

std::string QueueNotice(const Conversation& c, const QueueStatus& q) {
  const std::string& lang = c.language;
  const std::string ticket =
      c.ticket.empty() ? "" : Say(lang, " Your ticket is ", "您的工单号是 ") + c.ticket + Say(lang, ".", "。");
  if (!q.desk_open || q.agents_online == 0) {
    return Say(lang,
               "Our team is offline right now. We have your question and will reply here as soon as someone is in.",
               "人工客服现在不在线。我们已记录您的问题，客服上线后会第一时间在这里回复您。") +
           ticket;
  }
  std::string text = Say(lang, "I'm passing you to a person. You are number ", "正在为您转接人工客服，您前面排在第 ") +
                     std::to_string(q.position) + Say(lang, " in line", " 位");
  if (q.expected_wait > 0) text += Say(lang, "; expected wait about ", "，预计等待约 ") + MinutesText(q.expected_wait, lang);
  return text + Say(lang, ".", "。") + ticket;
}

std::string QueueFullNotice(const Conversation& c) {
  return Say(c.language, "All our agents are busy and the waiting line is full. Please try again in a few minutes.",
             "当前排队人数已满，请稍后再试。");
}

namespace {

// The customer left with their latest question answered: due customer_gone after the last sign of
// them; 0 when that does not apply.
int64_t LeftDue(const Conversation& c, const DeskSettings& settings) {
  if (c.answered_at == 0 || c.answered_at < c.last_customer_at) return 0;
  return std::max({c.last_activity_at, c.customer_seen_at}) + settings.customer_gone_micros + 1;
}

}  // namespace

int64_t IdleDue(const Conversation& c, const DeskSettings& settings) {
  if (c.state != ConversationState::kBot) return 0;
  const int64_t idle = c.last_activity_at + settings.idle_timeout_micros + 1;
  const int64_t left = LeftDue(c, settings);
  return left == 0 ? idle : std::min(idle, left);
}

bool IdleTimerFires(Conversation& c, const DeskSettings& settings, int64_t now, std::string* reason) {
  const int64_t due = IdleDue(c, settings);
  if (due == 0 || now < due) {
    c.idle_due = due;
    return false;
  }
  *reason = due == LeftDue(c, settings) ? "left after an answer" : "idle timeout";
  return true;
}

bool SlaTimerFires(Conversation& c, const DeskSettings& settings, int64_t now) {
  c.sla_due = 0;
  const bool waiting_for_person = c.state == ConversationState::kQueued || c.state == ConversationState::kAgent;
  if (!waiting_for_person || c.sla_breached || c.first_response_at != 0 || c.escalated_at == 0) return false;
  if (now - c.escalated_at <= settings.first_response_sla_micros) {
    c.sla_due = c.escalated_at + settings.first_response_sla_micros + 1;
    return false;
  }
  c.sla_breached = true;
  return true;
}

}  // namespace kefu
