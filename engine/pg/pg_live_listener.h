// Follows the live_events table into a node's LiveBus. One thread, one connection of its own
// (LISTEN needs one nothing else uses): a NOTIFY on channel `kefu_live` (sent right after every
// commit that published, pg_sql.h's kNotify) wakes it, and it also looks every `poll_millis` in case a
// notification was lost with a connection. It reads the rows after the last id it has resolved
// and hands them to LiveBus::Deliver in id order.
//
// Holes. Ids come from a sequence when a row is inserted, so a transaction that took id 10 may
// commit after the one that took 11. The bus takes each desk's events in increasing order only,
// so the listener never delivers past an id it has not seen ("a hole"): it waits for the hole to
// commit, or to be known dead. It knows a hole is dead exactly, without a timer: the publishing
// statement takes its transaction id before it takes the event id (pg_sql.h, kPublish), so when
// id h is missing in a snapshot that shows a later id, h's transaction started before that
// snapshot's xmax; once a later snapshot's xmin passes that xmax, every such transaction has
// ended, and h never committed (rolled back, or its commit failed). A hole therefore costs the
// time for its own transaction to finish, normally a millisecond (ids are taken in the COMMIT's
// round trip, pg_transaction.h).
// The bound: while some other transaction that has written (has an xid) stays open (a long
// migration, a session idle in transaction after a write), xmin stays behind: a dead hole is
// then passed over after `hole_timeout_millis`, and delivery of every desk waits until then.
// Read-only snapshots (pg_dump) hold no xid and delay nothing. An event is passed over while it is still to
// commit only if its own COMMIT took longer than `hole_timeout_millis` (stalled storage): it stays in the
// table, and streams that resume by id from the table see it; this node's bus does not. The sequence must
// keep CACHE 1 (the default): with per-session caches, ids are not taken in time order and the rule above no
// longer proves a hole dead (the timeout still bounds it).
//
// At start it loads each desk's newest events (up to the bus's capacity) and marks older ones
// unavailable, so a stream resuming from an id the node does not have is told of the gap.
//
// Thread-safe (the thread is internal; stats() may be called from any thread).
#ifndef KEFU_ENGINE_PG_PG_LIVE_LISTENER_H_
#define KEFU_ENGINE_PG_PG_LIVE_LISTENER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"
#include "engine/live_bus.h"
#include "engine/pg/pg_connection.h"

namespace kefu {

struct PgLiveListenerOptions {
  // Look for new events this often even without a notification. Default 1,000 ms: a NOTIFY lost
  // with a broken connection delays events by at most this (plus the reconnect).
  int poll_millis = 1000;
  // Look again this soon while a hole is open. Default 10 ms: a hole is normally a COMMIT in
  // flight, which its own NOTIFY also announces; this covers a hole whose transaction failed.
  int hole_recheck_millis = 10;
  // Pass over a hole after this long even if the database cannot yet prove it dead (see the file
  // comment). Default 10,000 ms.
  int hole_timeout_millis = 10000;
  // Rows read per round trip. Default 1,000.
  size_t fetch_rows = 1000;
  // Wait this long before connecting again after the connection broke. Default 500 ms.
  int reconnect_millis = 500;
  int connect_timeout_seconds = 5;
  // At start, ids this far below the newest are checked for holes. Default 10,000: far more than
  // can be in flight at once.
  int64_t start_window = 10000;
};

class PgLiveListener {
 public:
  // Loads the newest events of each desk (at most `per_desk`) into `bus`, then follows the table
  // on a thread of its own. `bus` must outlive the listener. Unavailable when the database cannot
  // be reached for the first load.
  static Result<std::unique_ptr<PgLiveListener>> Start(const std::string& uri, LiveBus* bus, size_t per_desk,
                                                       const PgLiveListenerOptions& options);
  // Stops the thread and closes its connection.
  ~PgLiveListener();
  PgLiveListener(const PgLiveListener&) = delete;
  PgLiveListener& operator=(const PgLiveListener&) = delete;

  struct Stats {
    uint64_t frontier = 0;   // every id up to this one is delivered or known dead
    uint64_t delivered = 0;  // events handed to the bus since start
    uint64_t fetches = 0;
    uint64_t holes_dead = 0;       // holes proven dead by the database
    uint64_t holes_timed_out = 0;  // holes passed over after hole_timeout_millis
    uint64_t reconnects = 0;
    uint64_t corrupt = 0;  // rows whose payload did not decode (skipped)
  };
  Stats stats() const;

 private:
  struct Hole {
    uint64_t xmax;  // xmax of the first snapshot that saw this id missing below a later one
    std::chrono::steady_clock::time_point since;
  };
  PgLiveListener(std::string uri, LiveBus* bus, PgLiveListenerOptions options);
  Status Load(PgConnection& conn, size_t per_desk);
  void Run();
  Status Connect();
  // Reads and delivers what is new; `*full` when a whole page came back (read again).
  Status FetchOnce(bool* full);
  // Delivers pending events in id order up to the first hole still open.
  void Advance(uint64_t xmin, uint64_t xmax);
  void Sleep(int millis);  // returns early when stopping

  const std::string uri_;
  LiveBus* const bus_;
  const PgLiveListenerOptions options_;
  std::unique_ptr<PgConnection> conn_;     // the thread's
  uint64_t frontier_ = 0;                  // the thread's; every id up to it is resolved
  std::map<uint64_t, LiveEvent> pending_;  // read, above the frontier; the thread's
  std::map<uint64_t, Hole> holes_;         // the thread's
  int wake_fd_ = -1;                       // an eventfd: written to stop the thread
  std::atomic<bool> stopping_{false};
  mutable std::mutex stats_mu_;
  Stats stats_;  // GUARDED_BY(stats_mu_)
  std::thread thread_;
};

}  // namespace kefu

#endif  // KEFU_ENGINE_PG_PG_LIVE_LISTENER_H_
