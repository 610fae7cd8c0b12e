// The conversation engine: desks, conversations, the queue, agents, routing, tickets, timers and
// stats, over a durable store. No HTTP here: the adapters and the tests drive it directly.
//
// The store is the authority (store.h, records.h): every call is one short transaction over it
// that locks the rows it changes (a conversation, an agent's live row, a ticket counter...), and
// returns only after the transaction is durable; concurrent calls on different conversations run
// in parallel and share one fsync (LevelDB) or run on several processes (PostgreSQL). Memory holds
// a bounded working set of decoded records (working_set.h), the desks' configuration and
// matchers, and nothing that a restart must rebuild from history.
// Authorisation lives here too: a customer call names its conversation and proves it with the
// conversation's token; an agent call carries the agent's identity and reaches only its desk.
//
// Thread-safe: every public method may be called from any thread.
#ifndef KEFU_ENGINE_ENGINE_H_
#define KEFU_ENGINE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/auth.h"
#include "engine/clock.h"
#include "engine/desk.h"
#include "engine/desk_config.h"
#include "engine/live_bus.h"
#include "engine/model.h"
#include "engine/stats.h"
#include "engine/store.h"
#include "kb/knowledge_base.h"
#include "kb/matcher.h"

namespace kefu {

struct EngineOptions {
  // Cost of hashing agents' passwords. Default interactive (libsodium's recommendation).
  PasswordCost password_cost = PasswordCost::kInteractive;
  // Agent tokens expire this long after login. Default 12 hours.
  int64_t agent_session_micros = 12 * kMicrosPerHour;
  // Failed logins per account within the window before further attempts are refused.
  int max_failed_logins = 5;
  // Password verifications (Argon2id, 64 MiB each at the interactive cost) running at once,
  // server-wide; more logins wait. Default 4.
  int max_concurrent_password_checks = 4;
  int64_t failed_login_window_micros = 5 * kMicrosPerMinute;
  // New conversations one customer may start per minute (per process). Default 10.
  int max_conversations_per_customer_minute = 10;
  // Messages one conversation may hold; beyond it the customer's messages are refused
  // (ResourceExhausted: start a new conversation). Default 10,000.
  uint64_t max_messages_per_conversation = 10000;
  // Tickets one customer may have open or pending at once; an escalation that would open another
  // is refused (the customer is told), an agent's follow-up too. Default 20.
  int max_open_tickets_per_customer = 20;
  // The working set's budget: decoded records kept in memory. Default 64 MiB; more saves decoding
  // on busy desks, less bounds memory on small machines (`kefu serve --cache-mb`).
  size_t cache_bytes = size_t{64} << 20;
  // Matcher settings for every desk's KBs.
  MatcherOptions matcher;
};

// Who is calling, once the adapter has checked the token.
struct AgentIdentity {
  std::string desk;
  std::string username;
  bool desk_admin = false;  // the agent may use the desk's admin routes
};

// An agent account as the admin routes show it: never the password hash.
struct AgentSummary {
  std::string username;
  std::string display_name;
  std::vector<std::string> teams;
  int capacity = 0;
  bool desk_admin = false;
  int64_t created_at = 0;
  AgentPresence presence = AgentPresence::kOffline;
  int serving = 0;  // conversations the agent serves now
};

// A change to an agent account; fields left unset keep their value.
struct AgentUpdate {
  std::optional<std::string> display_name;
  std::optional<std::vector<std::string>> teams;
  std::optional<int> capacity;
  std::optional<bool> desk_admin;
  std::optional<std::string> password;  // a reset: every session of the agent ends at once
};

struct StartRequest {
  std::string desk;
  Channel channel = Channel::kWeb;
  // An app's verified user id (the adapter checked its HMAC): the customer's open conversation
  // is resumed from any device. Empty for anonymous web customers.
  std::string verified_user;
  // With `verified_user`: the customer token of the anonymous (web) conversation this person had
  // before they logged in. That conversation becomes the verified user's (unless their own is more
  // recently active) and continues, history and tickets included. A token that is unknown, of
  // another desk, or of a conversation that already belongs to an identified customer links
  // nothing (StartResult::linked stays false); it never fails the start.
  std::string link_token;
  // A consumer-chat platform's user id, vouched for by the platform's signed callback (WeCom:
  // "<open_kfid>/<external_userid>"): the customer is "<channel>:<id>" and resumes like a
  // verified app user. Set by channel adapters only; excludes `verified_user`.
  std::string channel_user;
  // With `verified_user`: the identity's profile claims, kept on the conversation (the latest
  // start or resume wins) and shown to agents.
  CustomerProfile profile;
  std::string locale;  // "zh" or "en" for the welcome; "" picks the desk's first KB's language
};

struct StartResult {
  std::string conversation_id;
  // Returned once; only its hash is stored. Each resume adds a token (one per device, the newest
  // kMaxDeviceTokens stay valid), so a phone and a tablet can be active at the same time.
  std::string customer_token;
  bool resumed = false;
  bool linked = false;  // the `link_token`'s anonymous conversation became this customer's
  std::vector<Message> messages;  // the welcome (new) or the history (resumed)
};

// A conversation as a customer may see it.
struct ConversationView {
  std::string id;
  std::string desk;
  ConversationState state = ConversationState::kNew;
  Channel channel = Channel::kWeb;
  std::string customer;
  std::string assignee;       // username (agents' views) ...
  std::string assignee_name;  // ... and display name (customers' views)
  std::string team;
  std::string ticket;
  std::string last_question;
  uint64_t last_seq = 0;
  int64_t created_at = 0;
  int64_t waiting_since = 0;  // queued: when it entered the queue
  std::optional<QueueStatus> queue;  // while queued
  int unread = 0;             // agents' views: customer messages the assignee has not read
  bool can_rate = false;      // resolved and not rated yet
  EscalationReason escalation = EscalationReason::kNone;
  int priority = 0;
  CustomerProfile customer_profile;  // agents' views
};

// The outcome of a customer's message (or handoff request or feedback).
struct CustomerTurn {
  std::vector<Message> messages;  // the customer's message (if any) and every reply it caused
  ConversationView conversation;
  bool duplicate = false;  // a retry of a client_msg_id already accepted
  // The bot's decision on the message when the bot served it (answer, clarify, escalate, small
  // talk); empty when a person serves the conversation or for a duplicate.
  std::optional<MatchDecision> decision;
};

struct CustomerMessageRequest {
  std::string conversation_id;
  std::string text;
  std::string client_msg_id;  // optional; a repeat is accepted once
  // The channel the customer wrote from; unset: the conversation's last one (web for a WeCom
  // conversation, since WeCom messages always name their channel).
  std::optional<Channel> channel;
  std::string choice;  // optional: the entry id of a clarify choice the customer clicked
};

struct Suggestion {
  std::string entry_id;
  std::string title;
  std::string answer;
  float confidence = 0;
};

struct TicketUpdate {
  std::optional<TicketStatus> status;
  std::optional<int> priority;
  std::optional<std::vector<std::string>> tags;
  std::optional<int64_t> remind_at;     // pending reminders
  std::optional<std::string> assignee;  // another agent of the desk
  std::string note;                     // solving: the outcome told to the customer
};

struct EngineStats {
  uint64_t store_writes = 0;   // synced store writes (group commits)
  uint64_t store_batches = 0;  // engine changes they carried (batches / writes = mean group size)
  uint64_t retries = 0;        // transactions run again after a lock conflict
  size_t cache_bytes = 0;      // the working set's size
  size_t cache_entries = 0;
};

// Records of one adapter or module (a channel's cursors and id mappings, the knowledge loop's
// drafts and versions) in the engine's store under a namespace of their own: keys given here are
// relative to it. Writes are atomic and durable like the engine's. Thread-safe.
class SideStore {
 public:
  SideStore(Store* store, std::string ns) : store_(store), ns_(std::move(ns)) {}
  Result<std::optional<std::string>> Get(std::string_view key);
  // Keys starting with `prefix`, in order; `fn` receives keys relative to the namespace.
  Status ScanPrefix(std::string_view prefix, const ScanFn& fn);
  // Applies `batch` (relative keys) atomically and durably.
  Status Write(const StoreBatch& batch);
  // A lease on `name` within the namespace, held by one process of the deployment at a time
  // (Store::TryLease): nullptr when another holds it.
  Result<std::unique_ptr<Store::Lease>> TryLease(std::string_view name);
  // True when other processes may write the same records (Store::shared).
  bool shared() const { return store_->shared(); }

 private:
  Store* store_;
  std::string ns_;
};

// The JSON of a conversation view, as the HTTP API and live events carry it (one shape everywhere).
std::string ConversationViewJson(const ConversationView& v);

class Engine {
 public:
  // Opens the engine over `store` with the desks of `config`: loads each desk's KBs and builds their
  // matchers, restores conversations, queue order, assignments, tickets and stats from the store
  // (agents come back offline), and creates the config's seed agents that do not exist yet.
  // InvalidArgument naming the file for a bad KB; the store's error when it cannot be read.
  static Result<std::unique_ptr<Engine>> Open(const KefuConfig& config, std::unique_ptr<Store> store, const Clock* clock,
                                              const EngineOptions& options = {});
  ~Engine();

  // --- Customers -----------------------------------------------------------------------------

  // Starts a conversation, or resumes a verified app user's open one. NotFound for an unknown desk;
  // ResourceExhausted when the customer starts too many.
  Result<StartResult> StartConversation(const StartRequest& request);

  // OK when `token` is the customer token of `conversation_id`. Unauthenticated when the token is
  // not any conversation's; NotFound when it belongs to another conversation or the conversation
  // does not exist (the caller must not learn that it exists).
  Status AuthorizeCustomer(std::string_view conversation_id, std::string_view token) const;

  // The customer says something; the bot answers, clarifies or escalates. Thanks to the bot while
  // it serves resolves the conversation (the customer's word: a resolution by the bot).
  Result<CustomerTurn> PostCustomerMessage(const CustomerMessageRequest& request);
  // The customer asks for a person.
  Result<CustomerTurn> RequestHandoff(std::string_view conversation_id);
  // The customer leaves the waiting line and is back with the bot; the conversation's ticket is
  // closed as withdrawn. Conflict when the conversation is not waiting in the line.
  Result<CustomerTurn> LeaveQueue(std::string_view conversation_id);
  // The customer judges a bot answer; unhelpful escalates while the bot is serving, helpful on the
  // conversation's last message resolves it (by the bot, unless a person was asked for).
  Result<CustomerTurn> GiveFeedback(std::string_view conversation_id, uint64_t message_seq, bool helpful);
  // CSAT 1..5, once per resolution. Conflict when not resolved or already rated.
  Status Rate(std::string_view conversation_id, int rating);
  // Messages after `after_seq` (at most `limit`), notes left out unless `include_notes`.
  Result<std::vector<Message>> History(std::string_view conversation_id, uint64_t after_seq, size_t limit,
                                       bool include_notes) const;
  Result<ConversationView> GetConversation(std::string_view conversation_id) const;
  // The customer's widget is open on the conversation (a stream or a poll): while they wait in the
  // line they are not gone (DeskSettings::customer_gone_micros). Returns how soon, in
  // microseconds, to say so again while it stays open.
  Result<int64_t> CustomerSeen(std::string_view conversation_id);
  // The customer's tickets (all conversations of the same customer).
  Result<std::vector<Ticket>> CustomerTickets(std::string_view conversation_id) const;

  // --- Agents --------------------------------------------------------------------------------

  // Creates an account. Conflict when the username exists; InvalidArgument for a bad username
  // ([a-z0-9._-]{1,64}) or a password shorter than 8 characters.
  Status CreateAgent(std::string_view desk, std::string_view username, std::string_view password,
                     std::string_view display_name, const std::vector<std::string>& teams, int capacity,
                     bool desk_admin = false);
  // The desk's agents in username order. NotFound for an unknown desk.
  Result<std::vector<AgentSummary>> ListAgents(std::string_view desk) const;
  // Changes an account (AgentUpdate). NotFound for an unknown desk or agent; InvalidArgument as
  // CreateAgent. A lower capacity does not take conversations away; it only stops new ones.
  Result<AgentSummary> UpdateAgent(std::string_view desk, std::string_view username, const AgentUpdate& update);
  // Removes an account: its sessions end at once (401 on the next call) and the conversations it
  // served go back to the line, first in line, and to free seats. NotFound when unknown.
  Status DeleteAgent(std::string_view desk, std::string_view username);
  // A session token. Unauthenticated for a wrong desk, user or password (one message for all);
  // ResourceExhausted after too many failures for the account. On success `*display_name` (when
  // given) is the name people see for the agent.
  Result<std::string> Login(std::string_view desk, std::string_view username, std::string_view password,
                            std::string* display_name = nullptr);
  // The identity of a session token; Unauthenticated when unknown or expired. Counts as a heartbeat.
  Result<AgentIdentity> AuthenticateAgent(std::string_view token);
  Status Logout(std::string_view token);
  Status SetPresence(const AgentIdentity& agent, AgentPresence presence);
  // Keeps the agent's presence alive (consoles call it every ~30 s; any authenticated call also
  // counts). Unauthenticated for an unknown agent.
  Status Heartbeat(const AgentIdentity& agent);
  Result<std::vector<ConversationView>> Queue(const AgentIdentity& agent) const;
  Result<std::vector<ConversationView>> AgentConversations(const AgentIdentity& agent) const;
  // An agent of the desk may view any of the desk's conversations; NotFound for other desks'.
  Result<ConversationView> AgentGetConversation(const AgentIdentity& agent, std::string_view conversation_id) const;
  Result<std::vector<Message>> AgentHistory(const AgentIdentity& agent, std::string_view conversation_id,
                                            uint64_t after_seq, size_t limit);
  Result<ConversationView> Claim(const AgentIdentity& agent, std::string_view conversation_id);
  Result<Message> Reply(const AgentIdentity& agent, std::string_view conversation_id, std::string_view text);
  Result<Message> AddNote(const AgentIdentity& agent, std::string_view conversation_id, std::string_view text);
  // Hands the conversation to another agent (`to_agent`) or back to the queue of `to_team`.
  Status Transfer(const AgentIdentity& agent, std::string_view conversation_id, std::string_view to_agent,
                  std::string_view to_team);
  Status Resolve(const AgentIdentity& agent, std::string_view conversation_id);
  Result<std::vector<Suggestion>> Suggestions(const AgentIdentity& agent, std::string_view conversation_id) const;
  Result<std::vector<Ticket>> Tickets(const AgentIdentity& agent, std::optional<TicketStatus> status) const;
  Result<Ticket> UpdateTicket(const AgentIdentity& agent, std::string_view ticket_id, const TicketUpdate& update);
  // Opens a follow-up ticket on any conversation of the desk.
  Result<Ticket> OpenFollowUp(const AgentIdentity& agent, std::string_view conversation_id, std::string_view subject);

  // --- Admin and operations ------------------------------------------------------------------

  // Replaces the desk's KB for `language` ("" replaces the first) after validating it and building
  // its matcher; conversations continue on the old one until the swap. Persists it.
  Status ReplaceKnowledgeBase(std::string_view desk, std::string_view language, std::string_view kb_json);

  // The KB a desk answers `language` from ("" for its first) and the matcher built on it, as they
  // are now; later replacements do not change a snapshot. NotFound for an unknown desk or language.
  struct KnowledgeSnapshot {
    std::string language;
    const KnowledgeBase* kb = nullptr;
    const Matcher* matcher = nullptr;
    std::shared_ptr<const void> keep_alive;  // owns *kb and *matcher
  };
  Result<KnowledgeSnapshot> Knowledge(std::string_view desk, std::string_view language) const;
  // The KB (and matcher) a question in `text` would be answered from (by its script).
  Result<KnowledgeSnapshot> KnowledgeFor(std::string_view desk, std::string_view text) const;
  // The languages of the desk's KBs, in configuration order.
  Result<std::vector<std::string>> KnowledgeLanguages(std::string_view desk) const;

  Result<DeskStats> Stats(std::string_view desk) const;
  // The desks serving now, in id order.
  std::vector<std::string> DeskIds() const;
  Result<DeskConfig> GetDeskConfig(std::string_view desk) const;

  // --- Desks of the admin API (docs/api.md) ---------------------------------------------------

  struct DeskInfo {
    DeskConfig config;
    DeskSource source = DeskSource::kConfigFile;
    std::vector<std::string> languages;  // of its KBs; empty before an API desk's first upload
  };
  std::vector<DeskInfo> Desks() const;
  Result<DeskInfo> Desk(std::string_view desk) const;
  // Creates a desk from an admin API desk object (ParseDeskObject). It serves at once here and
  // within a timer tick on every process sharing the store; its seed `agents` are created and
  // never kept in the stored object. Until a KB is uploaded every question goes to a person.
  // Conflict when a desk of that id serves (kefu.json's included); InvalidArgument naming a field.
  Result<DeskInfo> CreateDesk(std::string_view desk_json);
  // Changes a desk of the admin API by a JSON Merge Patch (RFC 7396) of its object; `id`,
  // `knowledge_bases` and `agents` cannot be patched (agents have their own routes). Conflict for
  // a desk of kefu.json (its file is its authority); NotFound when unknown.
  Result<DeskInfo> UpdateDesk(std::string_view desk, std::string_view patch_json);
  // Deletes a desk of the admin API: it stops serving (NotFound everywhere). Its conversations,
  // tickets, agents, KBs and stats stay in the store; a desk created again with the same id has
  // them back. Conflict while conversations are open (waiting, served, or with the bot) unless
  // `force`, which resolves them first; Conflict for a desk of kefu.json.
  Status DeleteDesk(std::string_view desk, bool force);
  // Stored desks of the admin API that a kefu.json desk of the same id overrides (kefu serve says so).
  std::vector<std::string> ShadowedDesks() const;
  // Moves whenever this process's desks or a desk's configuration change: adapters rebuild what
  // they derive from the desks (origins, identity secrets, channels) when it moves.
  uint64_t DesksVersion() const;
  // Waiting conversations and online agents per desk (for /metrics).
  struct DeskGauges {
    std::string desk;
    int queued = 0;
    int agents_online = 0;
    int serving = 0;
  };
  std::vector<DeskGauges> Gauges() const;
  EngineStats GetEngineStats() const;
  // The records of namespace `ns` ("w" for WeCom, "kn" for the knowledge loop); see SideStore.
  SideStore Side(std::string_view ns) const;
  // The events of `desk` with from <= at < until (until 0: no bound); `fn` returns false to stop.
  // Folded events come in time order, then those not folded into the stats yet.
  Status ScanEvents(std::string_view desk, int64_t from, int64_t until,
                    const std::function<bool(const Event&)>& fn) const;
  // Hourly counts of the desk's events folded into the stats, for hours starting in [from, until).
  Result<std::vector<HourCounts>> HourlyStats(std::string_view desk, int64_t from, int64_t until) const;
  // Whether other processes share the store (timers and live events then span processes).
  bool shared_store() const;

  // Runs what is due at the clock's now: idle bot conversations resolve, silent agents go offline
  // (their conversations back to the queue, first in line), SLA breaches are flagged, pending
  // tickets' reminders fire, waiting customers are routed to free seats, and recent events are
  // folded into the stats. Only due timers are read (an index by due time), and with a shared
  // store each timer fires on exactly one process. Call it every second or so (tests call it
  // after moving the clock).
  Status RunTimers();

  // --- Live events ---------------------------------------------------------------------------

  // The id of the desk's latest live event (0 when none).
  uint64_t LivePosition(std::string_view desk) const;
  // Events of `desk` after `after_id` that pass `filter`, waiting up to `timeout_micros` of real
  // time for one to arrive. `*gap` is set when events after `after_id` were already dropped from
  // the ring (the caller should resynchronise).
  std::vector<LiveEvent> WaitLiveEvents(std::string_view desk, uint64_t after_id, int64_t timeout_micros,
                                        const std::function<bool(const LiveEvent&)>& filter, bool* gap) const;
  // Wakes every waiter (shutdown).
  void WakeAll();

  struct Impl;  // engine_impl.h

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kefu

#endif  // KEFU_ENGINE_ENGINE_H_
