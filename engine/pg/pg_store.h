// engine/store.h's Store on PostgreSQL 15: any number of kefu processes on any machines share one
// database (kefu serve --store postgresql://...). The tables are in pg_schema.h, transactions in
// pg_transaction.h, live events across nodes in pg_live_listener.h.
//
// What a node holds: a pool of connections (transactions), one connection listening for live
// events, one per lease, and a maintenance thread (the database clock's offset, trimming old
// live events). Nothing on local disk.
//
// Thread-safe.
#ifndef KEFU_ENGINE_PG_PG_STORE_H_
#define KEFU_ENGINE_PG_PG_STORE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "engine/clock.h"
#include "engine/pg/pg_live_listener.h"
#include "engine/pg/pg_pool.h"
#include "engine/store.h"

namespace kefu {

struct PgStoreOptions {
  // Connections for transactions (pg_pool.h: size, wait, reconnect).
  PgPoolOptions pool;
  // Apply missing schema migrations at open (under an advisory lock). Default true. False: open
  // only a database already at this kefu's schema version (Conflict otherwise), for deployments
  // that run `kefu db migrate` as a separate step.
  bool migrate = true;
  // A transaction waiting for a lock longer than this fails with Aborted (SET lock_timeout, and
  // the same bound on a wait behind another transaction of this node). Default 10,000 ms: the
  // rank rule prevents deadlocks and PostgreSQL detects the rest, so this only bounds a wait
  // behind a stuck holder. 0: no limit.
  int lock_timeout_millis = 10000;
  // Rows a Scan fetches per round trip. Default 256: one round trip for typical index ranges,
  // bounded memory for long ones.
  size_t scan_page_rows = 256;

  // Live events kept per desk in the node's bus (as StoreOptions::live_events_per_desk). Default
  // 10,000.
  size_t live_events_per_desk = 10000;
  // Following other nodes' events (pg_live_listener.h).
  PgLiveListenerOptions listener;
  // Rows of live_events older than this are deleted. Default 86,400 s (a day): streams resume
  // from the table across a node's restart; a day is far more than any reconnect.
  int live_events_keep_seconds = 86400;
  // And beyond this many rows, the oldest are deleted whatever their age. Default 1,000,000.
  int64_t live_events_max_rows = 1000000;
  // How often a node tries to trim (one node at a time does it, by advisory lock). Default 60 s.
  int trim_interval_seconds = 60;
  // How often the database clock's offset is measured again. Default 60 s.
  int clock_refresh_seconds = 60;
  // A lease's held() pings its connection when the last ping is older than this. Default
  // 2,000 ms: a lost database connection stops leased work within about 2 s.
  int lease_ping_millis = 2000;
};

// The PostgreSQL store's own calls, beside engine/store.h's. Reach them with AsPostgresStore.
class PostgresStore : public Store {
 public:
  // The database's clock now (one round trip). Unavailable when it cannot be reached.
  virtual Result<int64_t> DatabaseNowMicros() = 0;

  // A clock that follows the database's clock (pg_clock.h), for time several nodes must agree on.
  // Owned by the store; valid while it lives.
  virtual const Clock* database_clock() const = 0;

  // Deletes live events past live_events_keep_seconds / live_events_max_rows now, unless another
  // node is doing it; returns the rows deleted. The maintenance thread calls it periodically.
  virtual Result<int64_t> TrimLiveEvents() = 0;

  // For measurements and tests.
  struct PgStats {
    PgPool::Stats pool;
    PgLiveListener::Stats listener;
    uint64_t commits = 0;
    uint64_t aborted = 0;      // transactions that ended in Aborted (lock busy, deadlock)
    uint64_t unavailable = 0;  // transactions that ended in Unavailable
  };
  virtual PgStats pg_stats() const = 0;
};

// Opens the store on the database at `uri` (a libpq URI, postgresql://user@host:port/db, or a
// key=value string), migrating its schema first (options.migrate) and starting to follow its live
// events. Unavailable when the database cannot be reached; Conflict when its schema is newer than
// this kefu knows (or older, with migrate off); Internal when a migration fails.
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& uri, const PgStoreOptions& options = {});

// `store` as a PostgresStore, or nullptr when it is another kind of store.
PostgresStore* AsPostgresStore(Store* store);

// True when `location` names a PostgreSQL database (postgresql:// or postgres://) rather than a
// directory.
bool IsPostgresUri(std::string_view location);

// `uri` for printing: its password, if any, replaced by "***".
std::string RedactPostgresUri(const std::string& uri);

}  // namespace kefu

#endif  // KEFU_ENGINE_PG_PG_STORE_H_
