// What happens to a conversation, as plain functions over data: each transition takes the
// conversation as loaded and the time, changes it, and records in a Turn what the change produced
// (messages, events for the stats, live events for streams). None of them touches the store, the
// clock or a lock: the engine loads the records, calls these, and writes the result in the same
// transaction (engine.cc). Routing's choices live in router.h, the state machine in
// state_machine.h; the phrases customers read live here.
#ifndef KEFU_ENGINE_DESK_H_
#define KEFU_ENGINE_DESK_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/desk_config.h"
#include "engine/live_bus.h"
#include "engine/model.h"
#include "engine/state_machine.h"
#include "kb/knowledge_base.h"
#include "kb/matcher.h"

namespace kefu {

// Where a waiting customer stands.
struct QueueStatus {
  int position = 0;            // 1-based among those waiting for the same team
  int64_t expected_wait = -1;  // microseconds; -1 unknown (nobody online)
  bool desk_open = true;       // business hours
  int agents_online = 0;
};

// What one operation did to one conversation.
struct Turn {
  std::vector<Message> messages;  // appended, in order, with their seq and time
  std::vector<std::string> encoded;  // each message's stored form (EncodeMessage), made once
  std::vector<Event> events;      // for the stats (desk, conversation and time set)
  std::vector<LiveEvent> live;    // message events, in order
  bool state_changed = false;     // streams get the conversation's final view
  bool assigned = false;          // agents get an "assigned" event with the final view
  size_t messages_written = 0;    // how many of `messages` and `events` the store has already
  size_t events_written = 0;
};

// The language of the bot's and system's own phrases: `zh` or English.
std::string Say(std::string_view language, std::string_view en, std::string_view zh);

// Appends `m` to `c` (next seq, time, last activity) and to the turn; returns the stored copy.
const Message& Append(Conversation& c, Message m, int64_t now, Turn* turn);

// A system message in the conversation's channel.
Message SystemText(const Conversation& c, std::string text);

// Moves `c` by `action` and records the state change. The event carries what the stats need: the
// queue wait when an agent takes a waiting conversation, and at resolution whether the episode
// went to a person and the agent's handle time. Conflict when the action is not allowed.
Status Transition(Conversation& c, ConversationAction action, std::string_view actor, std::string_view reason,
                  int64_t now, Turn* turn);

// An event of `c` at `now` (desk and conversation filled in).
Event EventOf(const Conversation& c, EventType type, std::string_view actor, int64_t now);

// The bot's decision on a customer's message while it serves the conversation.
struct BotPlan {
  enum class Kind { kReply, kEscalate } kind = Kind::kReply;
  Message reply;                 // kReply: the answer, clarification or small talk
  EscalationReason reason = EscalationReason::kNone;  // kEscalate
  std::string team;              // kEscalate: the entry's team, "" for the desk's default
  std::vector<Event> events;     // bot answer / clarify / unmatched (time and ids set later)
};
// Decides the bot's turn for match `r` of the conversation's last question on `kb`. Increments or
// resets the clarify streak.
BotPlan PlanBotTurn(Conversation& c, const KnowledgeBase& kb, const MatchResult& r, const DeskSettings& settings);

// new/bot -> queued for `reason`, routing to `team` (the desk's default when empty): the episode
// starts (its SLA timer is armed) and the customer waits. The caller opens the ticket and inserts
// nothing: the waiting line is an index of the conversation (records.h).
Status StartEscalation(Conversation& c, EscalationReason reason, std::string_view team, const DeskConfig& desk,
                       std::string_view actor, int64_t now, Turn* turn);

// The agent `agent` takes `c` (queued -> agent by `action`, or resolved -> agent on reopening, or
// agent -> agent on transfer). The customer is told who joined.
Status AssignTo(Conversation& c, const Agent& agent, ConversationAction action, std::string_view actor, int64_t now,
                Turn* turn);

// agent -> queued (the agent transferred to `team`, or went offline): first in line of its
// priority class, with at least priority 1 (it has waited already).
Status Requeue(Conversation& c, std::string_view team, std::string_view actor, std::string_view reason, int64_t now,
               Turn* turn);

// queued -> bot: the customer left the line ("never mind"); the episode ends unserved and the bot
// is back. The caller closes the ticket.
Status WithdrawFromQueue(Conversation& c, int64_t now, Turn* turn);

// Why a waiting customer's conversation leaves the line for its ticket.
enum class DeferReason {
  kCustomerGone,  // no message, stream or poll for the desk's customer_gone time
  kDeskClosed,    // outside business hours nobody waits for a live seat
};

// Whether the customer waiting on `c` is gone at `now`: nothing from them (a message, or their
// widget seen open) for the desk's customer_gone time, counted from when they joined the line at
// the earliest.
bool CustomerGone(const Conversation& c, const DeskSettings& settings, int64_t now);

// queued -> bot: the customer is answered later through their ticket `c.ticket` instead of in a
// live chat, and told so; the bot serves them meanwhile. The episode stays escalated (an idle
// resolution is not the bot's). The caller sets the ticket pending.
Status DeferToTicket(Conversation& c, DeferReason why, int64_t now, Turn* turn);

// Any open state -> resolved. The customer is asked to rate when a person was involved.
Status ResolveConversation(Conversation& c, std::string_view actor, std::string_view reason, int64_t now, Turn* turn);

// The customer's message `text` on `c` (appended, the last question and channel updated).
void AddCustomerMessage(Conversation& c, Message m, std::string_view kb_language, int64_t now, Turn* turn);

// What a waiting customer is told when they join the line.
std::string QueueNotice(const Conversation& c, const QueueStatus& q);
// ... when the line is full.
std::string QueueFullNotice(const Conversation& c);

// When the idle timer of a conversation the bot serves is due: after the desk's idle timeout of
// silence, or sooner, the desk's customer_gone time after the customer left (no message and the
// widget not seen open) with their latest question answered. 0 when the bot does not serve it.
int64_t IdleDue(const Conversation& c, const DeskSettings& settings);

// The idle timer of `c` fired at `now`: true when the conversation should resolve as the bot's,
// with `*reason` "idle timeout" or "left after an answer". Otherwise sets `c.idle_due` to when it
// is due again (0 when the conversation no longer needs the timer).
bool IdleTimerFires(Conversation& c, const DeskSettings& settings, int64_t now, std::string* reason);
// The SLA timer of `c` fired: true when the first human response is now late (the breach is
// recorded on `c`); clears the timer either way.
bool SlaTimerFires(Conversation& c, const DeskSettings& settings, int64_t now);

}  // namespace kefu

#endif  // KEFU_ENGINE_DESK_H_
