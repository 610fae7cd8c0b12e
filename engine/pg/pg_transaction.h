// engine/store.h's Transaction on PostgreSQL: one connection of the pool for the transaction's
// life, READ COMMITTED, row locks with FOR UPDATE [SKIP LOCKED], named locks as transaction advisory
// locks, claims with FOR UPDATE SKIP LOCKED, live events as rows of live_events plus a NOTIFY
// after the commit.
//
// Round trips. Nothing is sent when the transaction begins. Puts and deletes are buffered and
// go to the server in the same round trip as the next read (BEGIN rides with the first): the
// server then holds every write before any later read, so reads and scans see the transaction's
// own writes with no overlay to merge, and a write costs no round trip of its own. Published
// events and what is left go with COMMIT, in one round trip, followed in that same round trip by
// the NOTIFY that wakes other nodes (pg_sql.h's kNotify says why after, not inside). A
// transaction of a locked read, a point read, four puts and an event therefore costs 3 round
// trips.
//
// Locks. A lock the rank rule lets the transaction wait for is FOR UPDATE or
// pg_advisory_xact_lock; one it may only try is FOR UPDATE SKIP LOCKED or
// pg_try_advisory_xact_lock, which fail without an error, so that a failed try (Aborted) leaves
// the transaction usable, as with the embedded store (the router goes on to the next candidate).
// Every lock is also taken in the node (pg_local_locks.h) and held there until destruction.
//
// Failures. After any other error the transaction is over: later calls return the same error,
// Commit too, and destruction rolls back. Aborted: a deadlock found by the server, a wait longer
// than lock_timeout, a serialization failure. Unavailable: the connection broke (a COMMIT whose
// answer was lost is "not known to be durable").
//
// Not thread-safe (one thread at a time), as engine/store.h says.
#ifndef KEFU_ENGINE_PG_PG_TRANSACTION_H_
#define KEFU_ENGINE_PG_PG_TRANSACTION_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/pg/pg_local_locks.h"
#include "engine/pg/pg_pool.h"
#include "engine/store.h"

namespace kefu {

// What the store counts across its transactions. Thread-safe (atomics).
struct PgTransactionCounters {
  std::atomic<uint64_t> commits{0};
  std::atomic<uint64_t> aborted{0};      // transactions that ended in Aborted
  std::atomic<uint64_t> unavailable{0};  // transactions that ended in Unavailable
};

class PgTransaction final : public Transaction {
 public:
  // `locks` and `counters` must outlive the transaction. `scan_page_rows`: rows fetched per
  // round trip by Scan. `snapshot`: a read-only REPEATABLE READ transaction instead (every read
  // sees the snapshot of the first; Store::Scan).
  PgTransaction(PgPool::Handle conn, PgLocalLocks* locks, PgTransactionCounters* counters,
                size_t scan_page_rows, bool snapshot = false);
  // Rolls back unless committed, gives the connection back, releases the node's locks.
  ~PgTransaction() override;

  Result<std::optional<std::string>> Get(std::string_view key) override;
  Result<std::optional<std::string>> GetForUpdate(std::string_view key, int rank) override;
  Status LockName(std::string_view name, int rank) override;
  Status Scan(std::string_view start, std::string_view limit, const ScanOptions& options,
              const ScanFn& fn) override;
  void Put(std::string_view key, std::string_view value) override;
  void Delete(std::string_view key) override;
  void Publish(LiveEvent event) override;
  Status Commit() override;

 private:
  // Sends the buffered commands then `command` in one round trip; returns `command`'s result.
  Result<PgResultPtr> Run(PgCommand command);
  // Records `s` as the transaction's end when it is an error, and returns it.
  Status Fail(Status s);
  // The rank rule of engine/store.h: wait only for a lock ranked above every lock held, never
  // for a negative rank (kTryLock).
  bool MayWait(int rank) const { return rank >= 0 && (!max_rank_held_ || rank > *max_rank_held_); }
  void NoteLocked(int rank);
  // The node-local lock of `key` (see pg_local_locks.h); Aborted when busy.
  Result<PgLocalLocks::Outcome> LockLocally(const std::string& key, bool wait);
  // Undoes LockLocally's `outcome` (nothing when the lock was held before).
  void UnlockLocally(const std::string& key, PgLocalLocks::Outcome outcome);

  PgPool::Handle conn_;
  PgLocalLocks* const locks_;
  PgTransactionCounters* const counters_;
  const size_t scan_page_rows_;
  std::vector<PgCommand> pending_;  // BEGIN until the first round trip, then buffered writes
  // Published events, sent only with COMMIT: an event's id is taken from the sequence as late as
  // possible, so that a later id rarely commits first (listeners hold events back meanwhile).
  std::vector<PgCommand> events_;
  std::vector<std::string> event_desks_;  // the desks to wake other nodes for, after COMMIT
  bool sent_anything_ = false;            // the server has seen BEGIN
  bool over_ = false;                     // committed, or failed
  Status error_;                          // why it failed, when it did
  std::optional<int> max_rank_held_;
  std::vector<std::string> local_keys_;  // node-local locks held
};

}  // namespace kefu

#endif  // KEFU_ENGINE_PG_PG_TRANSACTION_H_
