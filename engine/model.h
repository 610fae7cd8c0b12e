// The engine's records: conversations, messages, agents, tickets and events, with their names
// on the wire and their compact JSON encodings in the store.
#ifndef KEFU_ENGINE_MODEL_H_
#define KEFU_ENGINE_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kefu {

// The states of the design; WeCom's service_state is the same order (0..4).
enum class ConversationState { kNew = 0, kBot = 1, kQueued = 2, kAgent = 3, kResolved = 4 };
std::string_view ConversationStateName(ConversationState s);  // "new", "bot", ...
std::optional<ConversationState> ParseConversationState(std::string_view name);
inline int WeComServiceState(ConversationState s) { return static_cast<int>(s); }

enum class Channel { kWeb = 0, kApp = 1, kWeCom = 2 };
std::string_view ChannelName(Channel c);  // "web", "app", "wecom"
std::optional<Channel> ParseChannel(std::string_view name);

enum class AgentPresence { kOffline = 0, kAway = 1, kOnline = 2 };
std::string_view PresenceName(AgentPresence p);  // "offline", "away", "online"
std::optional<AgentPresence> ParsePresence(std::string_view name);

// Why a conversation went to a person.
enum class EscalationReason {
  kNone = 0,
  kLowConfidence,    // the bot found nothing that fits
  kAskedForPerson,   // the customer asked (rule, button or API)
  kUnhelpfulAnswer,  // the customer marked an answer unhelpful
  kClarifyStreak,    // too many clarifications in a row
  kHandoffEntry,     // the KB entry says a person must handle it
  kFollowUp,         // an agent opened a follow-up ticket
};
std::string_view EscalationReasonName(EscalationReason r);  // "low_confidence", ...
std::optional<EscalationReason> ParseEscalationReason(std::string_view name);

enum class MessageKind { kCustomer = 0, kBot, kAgent, kSystem, kNote };
std::string_view MessageKindName(MessageKind k);  // "customer", "bot", "agent", "system", "note"
std::optional<MessageKind> ParseMessageKind(std::string_view name);

struct MessageChoice {
  std::string entry_id;  // the KB entry a clarify choice stands for ("" for a plain quick reply)
  std::string title;     // the button's text
};

struct MessageLink {
  std::string title;
  std::string url;
};

struct Message {
  uint64_t seq = 0;  // 1, 2, ... per conversation
  MessageKind kind = MessageKind::kCustomer;
  std::string author;       // the agent's username for agent messages and notes
  std::string author_name;  // ... and their display name when they wrote it (what people see)
  std::string text;
  int64_t at = 0;      // microseconds since the epoch
  Channel channel = Channel::kWeb;
  std::string client_msg_id;           // customer messages: the client's id for retries
  std::string entry_id;                // bot answers: the KB entry
  std::vector<MessageChoice> choices;  // bot: clarify choices and quick replies
  std::vector<MessageLink> links;      // bot: links of the answer

  // Notes are internal: never shown to the customer.
  bool internal() const { return kind == MessageKind::kNote; }
};

// Tokens of other devices a conversation keeps valid besides its newest one.
constexpr size_t kMaxDeviceTokens = 8;

// What an identified customer's signed identity says about them (an app's or intranet's JWT
// profile claims), shown to agents. Empty for anonymous customers.
struct CustomerProfile {
  std::string name;
  std::string email;
  std::string department;
  bool empty() const { return name.empty() && email.empty() && department.empty(); }
};

struct Conversation {
  std::string id;
  std::string desk;
  std::string customer;             // "web:<random>", "app:<verified user id>" or "wecom:<kf>/<user>"
  std::string customer_token_hash;  // hex BLAKE2b of the customer's bearer token (the newest)
  // Hashes of the tokens of the customer's other devices (an identified customer resumes from
  // each device with a token of its own), oldest first, at most kMaxDeviceTokens.
  std::vector<std::string> device_token_hashes;
  ConversationState state = ConversationState::kNew;
  Channel last_channel = Channel::kWeb;
  std::string language;     // "zh" or "en": of the bot's and system's own phrases
  std::string team;         // routing team of the current escalation
  std::string assignee;     // the agent serving now (state agent)
  std::string last_agent;   // the agent who served last (for reopening)
  int priority = 0;         // queue order: higher first, then longest waiting
  int64_t created_at = 0;
  int64_t last_customer_at = 0;  // last customer message
  int64_t customer_seen_at = 0;  // last time the customer's widget was seen open (a stream or poll)
  int64_t answered_at = 0;       // the bot answered the customer's latest question then; 0 when not
  int64_t last_activity_at = 0;  // last message of anyone
  int64_t enqueued_at = 0;       // when it (last) entered the queue
  int64_t escalated_at = 0;      // start of the current human episode; 0 when none
  int64_t first_response_at = 0; // first agent reply in the current episode; 0 when none yet
  int64_t assigned_at = 0;       // when the current assignee took it (handle time); 0 when none
  EscalationReason escalation = EscalationReason::kNone;
  uint64_t last_seq = 0;
  int clarify_streak = 0;        // clarifications in a row without an answer
  std::string last_question;     // the customer's last text
  std::string ticket;            // the current ticket ("HR-1042"), "" when none
  int resolutions = 0;           // times resolved
  int rated_resolution = 0;      // the resolution count last rated (CSAT once per resolution)
  bool sla_breached = false;     // in the current episode
  // Due times of the conversation's armed timers (records.h keeps a timer row for each), 0 when
  // none. The idle timer may fire early (activity moved on since it was armed): it re-arms then.
  int64_t idle_due = 0;
  int64_t sla_due = 0;
  CustomerProfile profile;  // the latest the customer's identity carried
};

struct Agent {
  std::string desk;
  std::string username;
  std::string display_name;
  std::string password_hash;  // libsodium crypto_pwhash_str
  std::vector<std::string> teams;  // empty: serves every team
  int capacity = 3;                // most conversations served at once
  int64_t created_at = 0;
  bool desk_admin = false;         // may use the desk's admin routes (KB, drafts, agents, stats)
  // Sessions carry the epoch of their login: a new epoch (a password reset, an account removed and
  // made again) ends every earlier session at once.
  std::string session_epoch;

  bool Serves(std::string_view team) const;
};

// The name people see for an agent: the display name, else the username.
inline const std::string& DisplayName(const Agent& a) { return a.display_name.empty() ? a.username : a.display_name; }

// An agent's live state, a record of its own so that heartbeats never rewrite the account, and
// the row that serialises assignments to the agent (capacity is checked under its lock).
struct AgentLive {
  AgentPresence presence = AgentPresence::kOffline;
  int64_t last_seen = 0;      // last heartbeat or call
  int64_t heartbeat_due = 0;  // the armed heartbeat-expiry timer, 0 when none
  int64_t last_assigned_at = 0;
  int failed_logins = 0;      // within the window that started at first_failed_at
  int64_t first_failed_at = 0;
};

// An agent's session (the token is stored only as its hash, the key).
struct Session {
  std::string desk;
  std::string username;
  int64_t expires_at = 0;
  std::string agent_epoch;  // the agent's session_epoch at login
};

enum class TicketStatus { kOpen = 0, kPending, kSolved, kClosed };
std::string_view TicketStatusName(TicketStatus s);  // "open", "pending", "solved", "closed"
std::optional<TicketStatus> ParseTicketStatus(std::string_view name);

struct Ticket {
  std::string id;  // "<DESK PREFIX>-<number>", e.g. "HR-1042"
  std::string desk;
  int64_t number = 0;
  std::string conversation;
  std::string customer;
  std::string subject;  // the question that escalated
  int priority = 0;     // 0 normal, 1 high, 2 urgent
  std::vector<std::string> tags;
  std::string team;
  std::string assignee;
  TicketStatus status = TicketStatus::kOpen;
  EscalationReason reason = EscalationReason::kNone;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  int64_t remind_at = 0;  // pending tickets: when to remind the assignee; 0 none
  bool customer_notified = false;  // the customer heard that it was solved
};

// What happened, for stats and audit. Every state transition is one event.
enum class EventType {
  kStarted = 0,   // conversation created
  kMessage,       // a customer message (detail: the KB decision "answer"/"clarify"/... for stats)
  kBotAnswer,     // detail: entry id
  kBotClarify,    // detail: candidate entry ids
  kStateChanged,  // from, to, reason
  kAssigned,      // detail: agent
  kFirstResponse, // value: microseconds from escalation
  kFeedback,      // value: 1 helpful, 0 unhelpful; detail: entry id
  kCsat,          // value: rating
  kSlaBreached,   // value: microseconds waited
  kTicket,        // detail: ticket id and status
  kTransferred,   // detail: to agent or team
  kUnmatched,     // detail: the question the bot could not answer
};
std::string_view EventTypeName(EventType t);
std::optional<EventType> ParseEventType(std::string_view name);

struct Event {
  uint64_t id = 0;  // unique per desk (random); events are ordered by `at`
  int64_t at = 0;
  std::string desk;
  std::string conversation;
  EventType type = EventType::kStarted;
  std::string actor;  // "customer", "bot", "system" or "agent:<username>"
  ConversationState from = ConversationState::kNew;
  ConversationState to = ConversationState::kNew;
  std::string reason;  // for state changes: why
  std::string detail;
  int64_t value = 0;
};

// Compact JSON for the store; Decode returns Corruption naming the record on bad data. A message's
// encoding is also its form in the HTTP API and live events.
std::string EncodeConversation(const Conversation& c);
Result<Conversation> DecodeConversation(std::string_view json);
std::string EncodeMessage(const Message& m);
Result<Message> DecodeMessage(std::string_view json);
std::string EncodeAgent(const Agent& a);
Result<Agent> DecodeAgent(std::string_view json);
std::string EncodeTicket(const Ticket& t);
Result<Ticket> DecodeTicket(std::string_view json);
std::string EncodeEvent(const Event& e);
Result<Event> DecodeEvent(std::string_view json);
std::string EncodeAgentLive(const AgentLive& a);
Result<AgentLive> DecodeAgentLive(std::string_view json);
std::string EncodeSession(const Session& s);
Result<Session> DecodeSession(std::string_view json);

}  // namespace kefu

#endif  // KEFU_ENGINE_MODEL_H_
