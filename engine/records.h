// The engine's records in the store: the key schema, and typed reads and writes inside one
// transaction that keep every index in the same transaction as the change it describes. No other
// module builds an engine key (side records of the channels and the knowledge loop live under
// namespaces of their own, side_store.h).
//
// Key schema (version 2; "<n:W>" is n zero-padded to W digits):
//   meta/schema                           layout version ("2")
//   c/<conversation>                      conversation
//   m/<conversation>/<seq:12>             message
//   x/<conversation>/<client_msg_id>      seq of the customer message with that client id
//   tk/<token hash>                       conversation a customer token opens
//   cu/<desk>/<customer>                  the customer's latest conversation
//   q/<desk>/<999-priority:3>/<enqueued:16>/<conversation>   waiting line, in routing order -> team
//   a/<desk>/<username>                   agent account
//   p/<desk>/<username>                   agent's live state (presence, heartbeat, failed logins)
//   ia/<desk>/<username>/<conversation>   conversations the agent serves now
//   s/<token hash>                        agent session
//   t/<desk>/<number:12>                  ticket
//   ts/<desk>/<status>/<number:12>        tickets by status
//   tc/<desk>/<customer>/<number:12>      tickets by customer
//   n/<desk>/<counter>                    counters ("ticket": the last ticket number; "waiting":
//                                         conversations in the line; "kb": uploads of its KBs)
//   ep/<desk>/<at:16>/<id:16>             event not yet folded into the stats
//   e/<desk>/<at:16>/<id:16>              event folded into the stats
//   sr/<desk>                             stats rollup of every folded event
//   sh/<desk>/<hour:16>                   hourly counts of folded events
//   tm/<due:16>/<kind>/<desk>/<id>        armed timer (kind: idle, sla, remind, heartbeat)
//   k/<desk>/<language>                   knowledge base uploaded by an admin
//   dk/<desk>                             desk created through the admin API (its JSON object);
//                                         n/_/desks counts their changes ("_" is no desk id)
// Side namespaces: w/ (WeCom channel), kn/ (knowledge loop).
#ifndef KEFU_ENGINE_RECORDS_H_
#define KEFU_ENGINE_RECORDS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/model.h"
#include "engine/router.h"
#include "engine/stats.h"
#include "engine/store.h"
#include "engine/working_set.h"

namespace kefu {

// The layout version this kefu writes; migrate.h moves older layouts to it.
constexpr int kSchemaVersion = 2;
std::string SchemaKey();

// Lock ranks (store.h): locks are taken in increasing rank or only tried.
constexpr int kRankDesk = 2;           // a desk's object (admin API)
constexpr int kRankTimer = 5;          // claimed timer rows
constexpr int kRankCustomer = 10;      // name lock of an identified customer (one open conversation)
constexpr int kRankConversation = 20;  // conversation rows
constexpr int kRankQueue = 30;         // claimed waiting-line rows
constexpr int kRankAgent = 40;         // agents' live rows (capacity, presence, failed logins)
constexpr int kRankTicket = 50;        // ticket rows
constexpr int kRankCounter = 60;       // counters
constexpr int kRankPendingEvent = 65;  // events claimed by the stats fold
constexpr int kRankStats = 70;         // the stats rollup

std::string ConversationKey(std::string_view id);
std::string MessageKey(std::string_view conversation, uint64_t seq);
std::string MessagePrefix(std::string_view conversation);
std::string QueuePrefix(std::string_view desk);
std::string AgentPrefix(std::string_view desk);
std::string KbKey(std::string_view desk, std::string_view language);
std::string EventPrefix(std::string_view desk, bool pending);
std::string EventKey(std::string_view desk, int64_t at, uint64_t id, bool pending);
std::string TimerPrefix();
std::string TimerLimit(int64_t due_through);

// A waiting-line row: the entry and its key.
struct QueueRow {
  QueueEntry entry;
  std::string key;
};

enum class TimerKind { kIdle, kSla, kRemind, kHeartbeat };
struct TimerRow {
  std::string key;
  int64_t due = 0;
  TimerKind kind = TimerKind::kIdle;
  std::string desk;
  std::string id;  // conversation, ticket number or username
};
// Parses a timer key (tm/...); false when malformed.
bool ParseTimerKey(std::string_view key, TimerRow* row);

// Typed reads and writes through one transaction. Writes of conversations, tickets and agents'
// live rows compare the record before and after and update its index rows and timers in the same
// transaction. Decoded records come from (and go back to, after Commit) the working set.
// Not thread-safe: one per transaction.
class RecordTxn {
 public:
  RecordTxn(Transaction* tx, WorkingSet* cache) : tx_(tx), cache_(cache) {}

  Transaction& tx() { return *tx_; }

  // How a record is read: committed, locked (waiting by rank), or locked only if free now.
  enum class Lock { kNone, kUpdate, kTry };

  // --- Conversations: NotFound when absent. With Lock::kTry, Aborted when held elsewhere. ---
  // `bytes` (optional) receives the record as stored.
  Result<Conversation> LoadConversation(std::string_view id, Lock lock, std::string* bytes = nullptr);
  // Writes `after`; `before` is the record as loaded (nullptr for a new conversation). `encoded`
  // is EncodeConversation(after) when the caller has it ("" to encode here).
  Status SaveConversation(const Conversation* before, const Conversation& after, std::string encoded = "");
  // Appends a message record (and its client_msg_id index row for a customer message); `encoded`
  // is EncodeMessage(m) when the caller has it ("" to encode here).
  void PutMessage(std::string_view conversation, const Message& m, std::string_view encoded = "");
  Result<std::optional<Message>> LoadMessage(std::string_view conversation, uint64_t seq);
  // The seq of the customer message with `client_msg_id`, std::nullopt when none.
  Result<std::optional<uint64_t>> FindClientMessage(std::string_view conversation, std::string_view client_msg_id);
  // Messages after `after_seq`, at most `limit`, notes only with `include_notes`.
  Result<std::vector<Message>> Messages(std::string_view conversation, uint64_t after_seq, size_t limit,
                                        bool include_notes);
  Result<std::optional<std::string>> ConversationOfToken(std::string_view token_hash);
  Result<std::optional<std::string>> ConversationOfCustomer(std::string_view desk, std::string_view customer);
  Status LockCustomer(std::string_view desk, std::string_view customer);
  void SetCustomerConversation(std::string_view desk, std::string_view customer, std::string_view conversation);

  // --- The waiting line, in routing order. ---
  Status ScanQueue(std::string_view desk, const std::function<bool(const QueueRow&)>& fn);
  // How many wait in the desk's line (a counter kept with the line's rows).
  Result<int64_t> WaitingCount(std::string_view desk);
  // Claims up to `max` waiting rows nobody else holds, in order (skip locked).
  Result<std::vector<QueueRow>> ClaimQueue(std::string_view desk, size_t max);

  // --- Agents ---
  Result<std::optional<Agent>> LoadAgent(std::string_view desk, std::string_view username);
  Result<std::vector<Agent>> Agents(std::string_view desk);
  void PutAgent(const Agent& a);
  // Removes the account and its live row (`live`: as loaded), with its armed heartbeat timer.
  void DeleteAgent(std::string_view desk, std::string_view username, const AgentLive& live);
  // An agent's live row (a default one when absent). kUpdate/kTry lock it.
  Result<AgentLive> LoadAgentLive(std::string_view desk, std::string_view username, Lock lock);
  Status SaveAgentLive(std::string_view desk, std::string_view username, const AgentLive& before,
                       const AgentLive& after);
  Result<std::map<std::string, AgentLive>> AgentLives(std::string_view desk);
  // Conversations each agent of the desk serves now (username -> count), or of one agent.
  Result<std::map<std::string, int>> ServingCounts(std::string_view desk);
  Result<std::vector<std::string>> Serving(std::string_view desk, std::string_view username);

  // --- Sessions ---
  Result<std::optional<Session>> LoadSession(std::string_view token_hash);
  void PutSession(std::string_view token_hash, const Session& s);
  void DeleteSession(std::string_view token_hash);

  // --- Tickets: numbers come from the desk's counter, taken under its lock. ---
  Result<int64_t> NextTicketNumber(std::string_view desk);
  Result<std::optional<Ticket>> LoadTicket(std::string_view desk, int64_t number, Lock lock);
  Status SaveTicket(const Ticket* before, const Ticket& after);
  Result<std::vector<Ticket>> TicketsByStatus(std::string_view desk, std::optional<TicketStatus> status);
  Result<std::vector<Ticket>> TicketsOfCustomer(std::string_view desk, std::string_view customer);

  // --- Events and stats ---
  // Writes `e` (pending the stats fold); sets its id.
  void PutEvent(Event& e);
  // Writes `e` as folded already, under its own id (the layout upgrade).
  void PutFoldedEvent(const Event& e);
  // Claims up to `max` events of `desk` not folded yet (skip locked), with their keys.
  Result<std::vector<std::pair<std::string, Event>>> ClaimPendingEvents(std::string_view desk, size_t max);
  // Moves a claimed pending event (`key`) to the folded ones.
  void MarkFolded(const std::string& key, const Event& e);
  // The desk's stats rollup (empty when none); kUpdate locks it.
  Result<StatsAccumulator> LoadStats(std::string_view desk, Lock lock);
  void PutStats(std::string_view desk, const StatsAccumulator& stats);
  // Hourly counts, keyed by the hour's start.
  Result<std::optional<HourCounts>> LoadHour(std::string_view desk, int64_t hour);
  void PutHour(std::string_view desk, const HourCounts& h);
  Result<std::vector<HourCounts>> Hours(std::string_view desk, int64_t from, int64_t until);
  // Folded and pending events of `desk` with from <= at < until (until 0: no bound), in time order.
  Status ScanEvents(std::string_view desk, int64_t from, int64_t until, const std::function<bool(const Event&)>& fn);
  // Only the events not folded yet.
  Status ScanPendingEvents(std::string_view desk, const std::function<bool(const Event&)>& fn);

  // --- Timers ---
  // Claims up to `max` timers due at or before `now` that nobody else holds.
  Result<std::vector<TimerRow>> ClaimDueTimers(int64_t now, size_t max);
  void DeleteTimer(const TimerRow& row) { tx_->Delete(row.key); }

  // --- Knowledge bases uploaded by admins ---
  Result<std::optional<std::string>> LoadKb(std::string_view desk, std::string_view language);
  // Writes the KB and counts a new generation of the desk's KBs (every process reloads on it).
  Status PutKb(std::string_view desk, std::string_view language, std::string_view json);
  Result<int64_t> KbGeneration(std::string_view desk) { return ReadCounter(desk, "kb", false); }
  // The languages of the desk's uploaded KBs ("default" for a KB without one).
  Result<std::vector<std::string>> KbLanguages(std::string_view desk);

  // --- Desks created through the admin API ---
  // The desk's stored object; kUpdate locks its name (it may be absent).
  Result<std::optional<std::string>> LoadDeskObject(std::string_view desk, Lock lock);
  // Writes the desk's object, or removes it when `json` is nullopt, and counts a new generation
  // of desks (every process follows it).
  Status PutDeskObject(std::string_view desk, std::optional<std::string_view> json);
  // Every stored desk object, in id order.
  Status ScanDeskObjects(const std::function<bool(std::string_view desk, std::string_view json)>& fn);
  Result<int64_t> DeskGeneration() { return ReadCounter("_", "desks", false); }
  // Conversations of `desk` that are open: waiting in its line, served by an agent, or with the
  // bot (an armed idle timer). Reads the timers' index whole: for rare admin operations.
  Result<std::vector<std::string>> OpenConversations(std::string_view desk);

  // After a successful Commit: the records written go into the working set.
  void Committed();

 private:
  // `key`'s value, read and locked as `lock` says, decoded through the working set.
  template <typename T>
  Result<std::optional<std::shared_ptr<const T>>> Load(std::string_view key, Lock lock, int rank,
                                                      Result<T> (*decode)(std::string_view), std::string* bytes = nullptr);
  Result<std::optional<std::string>> Read(std::string_view key, Lock lock, int rank);
  template <typename T>
  void Remember(std::string key, std::string bytes, std::shared_ptr<const T> record) {
    written_[key] = Written{std::move(bytes), [record](WorkingSet* cache, const std::string& k, const std::string& b) {
                              cache->Put<T>(k, b, record);
                            }};
  }
  Result<int64_t> ReadCounter(std::string_view desk, std::string_view name, bool lock);
  Status AddToCounter(std::string_view desk, std::string_view name, int64_t delta);
  Status CollectTickets(const std::string& prefix, std::string_view desk, std::vector<Ticket>* out);

  Transaction* tx_;
  WorkingSet* cache_;
  struct Written {
    std::string bytes;
    std::function<void(WorkingSet*, const std::string&, const std::string&)> remember;
  };
  std::map<std::string, Written> written_;
};

}  // namespace kefu

#endif  // KEFU_ENGINE_RECORDS_H_
