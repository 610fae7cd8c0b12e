// The engine's insides, shared by its .cc files (engine.cc: opening, transactions, views, routing,
// escalation; engine_customers.cc; engine_agents.cc; engine_timers.cc). Not a public header.
//
// An operation runs as Impl::Run(fn): fn gets an Op over a fresh transaction, loads what it needs
// (locking as records.h's ranks allow), changes conversations with desk.h's transitions, and
// calls Op::Finish to write everything; Run commits, and runs the operation again from the start
// when a lock conflict aborted it. Nothing outside the Op changes before the commit, so a retry
// starts clean.
#ifndef KEFU_ENGINE_ENGINE_IMPL_H_
#define KEFU_ENGINE_ENGINE_IMPL_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/desk.h"
#include "engine/engine.h"
#include "engine/records.h"
#include "engine/router.h"
#include "engine/working_set.h"

namespace kefu {

// The live event that tells consoles an agent's presence changed.
LiveEvent PresenceEvent(std::string_view desk, std::string_view username, std::string_view name, AgentPresence presence);

struct KbBundle {
  std::string language;
  KnowledgeBase kb;
  std::unique_ptr<Matcher> matcher;
  std::string source;  // the uploaded JSON it was built from ("" for the config's file)
};

// A desk at run time: its configuration and matchers, and a few estimates kept in memory only.
struct DeskRuntime {
  // The desk's configuration now. A change through the admin API installs a new one and keeps the
  // earlier ones alive, so a reference taken during an operation stays valid (changes are rare).
  const DeskConfig& config() const { return *config_now_.load(std::memory_order_acquire); }
  void SetConfig(DeskConfig config);

  DeskSource source = DeskSource::kConfigFile;  // set before the desk is published
  std::atomic<bool> removed{false};             // deleted through the admin API: serves nothing
  mutable std::mutex mu;
  std::string stored_object;                               // GUARDED_BY(mu) API desks: the object as stored
  std::vector<std::shared_ptr<const KbBundle>> kbs;       // GUARDED_BY(mu)
  std::deque<int64_t> recent_handle;                       // GUARDED_BY(mu) recent handle times
  std::unordered_map<std::string, uint64_t> read_seq;      // GUARDED_BY(mu) conversation -> seq its agent read
  int64_t kb_generation = 0;                               // GUARDED_BY(mu) uploads seen (n/<desk>/kb)
  std::atomic<int64_t> last_sweep{0};                      // when SweepQueue last looked at the line

  // nullptr while the desk has no KB (a desk of the admin API before its first upload).
  std::shared_ptr<const KbBundle> KbFor(std::string_view text) const;
  std::shared_ptr<const KbBundle> FirstKb() const;
  int64_t MeanHandleMicros() const;
  void AddHandleTime(int64_t micros);

 private:
  std::atomic<const DeskConfig*> config_now_{nullptr};
  std::deque<std::unique_ptr<const DeskConfig>> config_versions_;  // GUARDED_BY(mu)
};

// One operation's transaction and everything it changed, written by Finish.
class Op {
 public:
  Op(Engine::Impl& impl, Transaction& tx);

  Engine::Impl& impl;
  RecordTxn rec;
  const int64_t now;

  // A conversation loaded (or created) in this operation: as loaded, and as changed.
  struct Slot {
    std::optional<Conversation> before;
    std::string before_bytes;  // `before` as stored ("" for a new conversation)
    Conversation c;
    Turn turn;
  };
  // Loads conversation `id` (once per operation; later calls return the same slot). NotFound;
  // Aborted when `lock` is kTry and another operation holds it.
  Result<Slot*> Load(std::string_view id, RecordTxn::Lock lock = RecordTxn::Lock::kUpdate);
  Slot* Create(Conversation c);

  // A ticket loaded in this operation (locked), as loaded and as changed.
  struct TicketSlot {
    std::optional<Ticket> before;
    Ticket t;
  };
  Result<TicketSlot*> LoadTicket(std::string_view desk, int64_t number);
  Result<TicketSlot*> LoadTicketById(const DeskRuntime& desk, std::string_view ticket_id);
  // The ticket as committed, without a lock (to find its conversation before locking both).
  Result<Ticket> LoadTicketByIdUnlocked(const DeskRuntime& desk, std::string_view ticket_id);
  // ResourceExhausted when `customer` has as many open or pending tickets as the engine allows.
  Status CheckOpenTickets(std::string_view desk, std::string_view customer);
  // A new ticket for `c` (number from the desk's counter; the caller sets c.ticket when it is the
  // conversation's own ticket).
  Result<TicketSlot*> OpenTicket(const DeskRuntime& desk, Conversation& c, Turn* turn, EscalationReason reason,
                                 std::string_view subject);

  // What routing and views need of a desk's agents, read once per operation and kept current as
  // the operation assigns.
  struct AgentsView {
    std::vector<Agent> agents;
    std::map<std::string, AgentLive> lives;
    std::map<std::string, int> serving;
    const Agent* Find(std::string_view username) const;
  };
  Result<AgentsView*> Agents(std::string_view desk);

  // Desk-wide live events (presence, queue length, tickets, reminders), published at commit.
  void Publish(LiveEvent e) { live_.push_back(std::move(e)); }
  // The waiting line of `desk` changed: agents hear it; with `positions_moved` every waiting
  // customer also hears their new position (computed once, at Finish).
  void QueueChanged(std::string_view desk, bool positions_moved);

  // Runs `fn` once the transaction has committed (never after a rollback or a retried attempt).
  void AfterCommit(std::function<void()> fn) { after_commit_.push_back(std::move(fn)); }
  void RunAfterCommit();

  // Writes what changed so far (conversations with their index rows, messages, events, tickets),
  // so that the operation's later reads (the waiting line, agents' loads) see it.
  Status Flush();
  // Flushes, then publishes the live events: messages in order, each changed conversation's final
  // view, desk-wide events, and the waiting line's news.
  Status Finish();

  // Views (after Flush, they see this operation's writes).
  Result<ConversationView> View(const Conversation& c);
  // `queue` is the status when the caller has it already, else it is computed.
  Result<ConversationView> ViewWith(const Conversation& c, const QueueStatus* queue);
  Result<QueueStatus> QueueStatusOf(const Conversation& c);
  // The status of the customer at `position` in the line of `team`.
  QueueStatus StatusAt(std::string_view desk, std::string_view team, int position);

 private:
  Status WriteSlot(Slot& s);
  Status PublishQueueNews();

  std::vector<std::function<void()>> after_commit_;

  std::map<std::string, Slot, std::less<>> slots_;
  std::map<std::string, TicketSlot, std::less<>> tickets_;
  std::map<std::string, AgentsView, std::less<>> agents_;
  std::vector<LiveEvent> live_;
  std::map<std::string, bool, std::less<>> queue_news_;  // desk -> positions moved
};

struct Engine::Impl {
  const Clock* clock = nullptr;
  EngineOptions options;
  std::unique_ptr<Store> store;
  std::unique_ptr<WorkingSet> cache;
  // Entries are never erased (a deleted desk is marked removed), so a DeskRuntime* stays valid.
  mutable std::shared_mutex desks_mu;
  std::map<std::string, std::unique_ptr<DeskRuntime>, std::less<>> desks;  // GUARDED_BY(desks_mu)
  std::atomic<uint64_t> desks_version{1};  // moves on any change of this process's desks
  mutable std::mutex follow_desks_mu;             // one reconciliation with the stored desks at a time
  int64_t desk_generation = 0;             // GUARDED_BY(follow_desks_mu) stored desk changes seen
  std::vector<std::string> shadowed_desks;  // API desks that kefu.json's desks of the same id override
  std::atomic<uint64_t> retries{0};

  std::mutex starts_mu;
  std::unordered_map<std::string, std::deque<int64_t>> recent_starts;  // GUARDED_BY(starts_mu)

  // Argon2 verifications running now, bounded server-wide (each takes 64 MiB at the default cost).
  std::mutex verify_mu;
  std::condition_variable verify_cv;
  int verifying = 0;  // GUARDED_BY(verify_mu)
  std::once_flag dummy_once;
  std::string dummy_hash;  // a hash to verify against for unknown usernames (same cost as a real one)

  int64_t Now() const { return clock->NowMicros(); }
  // The desk `id`, nullptr when unknown or deleted.
  DeskRuntime* Desk(std::string_view id) const;
  // The desks serving now, in id order.
  std::vector<DeskRuntime*> LiveDesks() const;
  // Adds the stored desks of the admin API that are new, changes those whose object changed and
  // removes those deleted, when the stored generation moved (another process changed them) or
  // `force`. At start, kefu.json's desks win over stored ones of the same id (shadowed_desks).
  Status FollowDesks(bool force);
  // Installs desk `id` from its stored object `json` (new, changed or revived).
  Status InstallApiDesk(const std::string& id, const std::string& json);

  // Runs `fn` in a transaction and commits it; runs it again (up to a bound) when a lock conflict
  // aborts it. `fn` must call Op::Finish before returning OK when it wrote anything.
  Status Run(const std::function<Status(Op&)>& fn);

  // Loads the KBs of `d` (an admin's upload replaces a config file's KB of the same language).
  Status LoadKbs(DeskRuntime& d);
  // Reloads the KBs of `d` that another process uploaded since (the desk's KB generation moved).
  Status FollowKbUploads(DeskRuntime& d);
  // Assigns waiting conversations of `desk` to online agents with free seats, in line order.
  Status Route(Op& op, DeskRuntime& desk);
  // Escalates `c` (new/bot -> queued), opens or reopens its ticket, routes, tells the customer.
  // ResourceExhausted when the line is full (the customer is told so; the caller still Finishes).
  Status Escalate(Op& op, DeskRuntime& desk, Conversation& c, Turn* turn, EscalationReason reason,
                  std::string_view team, std::string_view actor);
  // Resolves `c`: solves its ticket, frees its seat (and routes the next in line), asks to rate.
  Status Resolve(Op& op, DeskRuntime& desk, Conversation& c, Turn* turn, std::string_view actor,
                 std::string_view reason);
  // Takes `c` out of the line for its ticket (queued -> bot, the ticket pending), for `why`.
  Status Defer(Op& op, DeskRuntime& desk, Conversation& c, Turn* turn, DeferReason why);
  // Defers the desk's waiting customers who are gone, or everyone waiting while the desk is
  // closed; runs at most every quarter of the desk's customer_gone time (a minute at the most).
  Status SweepQueue(DeskRuntime& desk);
  // Sends an agent's conversations back to the line (they went offline).
  Status RequeueAgentConversations(Op& op, DeskRuntime& desk, std::string_view username);
  // An agent's work on one conversation of its desk: checks the agent, loads the conversation
  // locked (NotFound for another desk's) and runs `fn` in the operation.
  Status OnConversation(const AgentIdentity& agent, std::string_view id,
                        const std::function<Status(Op&, DeskRuntime&, const Agent&, Op::Slot&)>& fn);

  bool VerifyPasswordBounded(std::string_view hash, std::string_view password);
  const std::string& DummyPasswordHash();
};

// Checks a message's text: valid UTF-8, not blank, at most `max_chars` code points.
Status CheckText(std::string_view text, int max_chars, std::string_view what);

}  // namespace kefu

#endif  // KEFU_ENGINE_ENGINE_IMPL_H_
