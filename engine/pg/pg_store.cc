#include "engine/pg/pg_store.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "engine/pg/pg_clock.h"
#include "engine/pg/pg_local_locks.h"
#include "engine/pg/pg_schema.h"
#include "engine/pg/pg_sql.h"
#include "engine/pg/pg_transaction.h"

namespace kefu {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Deletes old live events, if this node gets the trim lock (another node trimming: 0 rows).
const PgStatement kTrim = {"kefu_trim_live_events",
                           "WITH lock AS (SELECT pg_try_advisory_xact_lock($1::int8) AS got), "
                           "gone AS (DELETE FROM live_events WHERE (SELECT got FROM lock) AND "
                           "(created_at < now() - make_interval(secs => $2::int8) OR "
                           "id <= (SELECT max(id) FROM live_events) - $3::int8) RETURNING 1) "
                           "SELECT count(*) FROM gone"};

// A session advisory lock on a connection of its own: held while that session lives.
class PgLease final : public Store::Lease {
 public:
  PgLease(std::unique_ptr<PgConnection> conn, int ping_millis)
      : conn_(std::move(conn)),
        ping_every_(std::chrono::milliseconds(ping_millis)),
        last_ping_(SteadyClock::now()) {}

  bool held() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!conn_->Poll()) return false;  // the server's goodbye arrived, or the socket closed
    if (SteadyClock::now() - last_ping_ >= ping_every_) {
      // A silent network failure shows only when something is sent (then TCP keepalives).
      if (!conn_->ExecSimple("SELECT 1").ok()) return false;
      last_ping_ = SteadyClock::now();
    }
    return true;
  }

 private:
  std::mutex mu_;
  std::unique_ptr<PgConnection> conn_;  // GUARDED_BY(mu_); closing it releases the lock
  const SteadyClock::duration ping_every_;
  SteadyClock::time_point last_ping_;  // GUARDED_BY(mu_)
};

std::string SessionSql(const PgStoreOptions& options) {
  std::string sql = "SET lock_timeout = " + std::to_string(options.lock_timeout_millis);
  if (!options.pool.session_sql.empty()) sql += "; " + options.pool.session_sql;
  return sql;
}

PgPoolOptions PoolOptions(const PgStoreOptions& options) {
  PgPoolOptions pool = options.pool;
  pool.session_sql = SessionSql(options);
  return pool;
}

class PgStore final : public PostgresStore {
 public:
  PgStore(const std::string& uri, const PgStoreOptions& options)
      : options_(options),
        pool_(uri, PoolOptions(options)),
        locks_(options.lock_timeout_millis),
        bus_(options.live_events_per_desk) {}

  // Migrates (or checks) the schema, measures the clock, starts the listener and maintenance.
  Status Open() {
    Result<std::unique_ptr<PgConnection>> conn =
        PgConnection::Connect(pool_.uri(), options_.pool.connect_timeout_seconds, "", "kefu migrate");
    if (!conn.ok()) return conn.status();
    if (options_.migrate) {
      Result<int> version = MigratePgSchema(**conn);
      if (!version.ok()) return version.status();
    } else {
      KEFU_RETURN_IF_ERROR(CheckPgSchema(**conn));
    }
    KEFU_RETURN_IF_ERROR(clock_.Refresh(**conn));
    Result<std::unique_ptr<PgLiveListener>> listener =
        PgLiveListener::Start(pool_.uri(), &bus_, options_.live_events_per_desk, options_.listener);
    if (!listener.ok()) return listener.status();
    listener_ = std::move(listener.value());
    maintenance_ = std::thread([this] { Maintain(); });
    return Status::OK();
  }

  ~PgStore() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    if (maintenance_.joinable()) maintenance_.join();
    listener_.reset();
    bus_.WakeAll();
  }

  Result<std::unique_ptr<Transaction>> Begin() override { return NewTransaction(false); }

  Status Write(const StoreBatch& batch) override {
    if (batch.empty()) return Status::OK();
    Result<std::unique_ptr<Transaction>> txn = NewTransaction(false);
    if (!txn.ok()) return txn.status();
    for (const StoreBatch::Op& op : batch.ops()) {
      if (op.is_delete) {
        (*txn)->Delete(op.key);
      } else {
        (*txn)->Put(op.key, op.value);
      }
    }
    return (*txn)->Commit();  // BEGIN, the batch and COMMIT: one round trip (up to 256 ops)
  }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    Result<PgPool::Handle> conn = pool_.Acquire();
    if (!conn.ok()) return conn.status();
    Result<PgResultPtr> r = (*conn)->Exec(std::move(PgCommand(sql::kGet).Bytes(key)));
    if (!r.ok()) return r.status();
    if (PQntuples(r->get()) == 0) return std::optional<std::string>();
    return std::optional<std::string>(std::string(PgBytes(r->get(), 0, 0)));
  }

  Status Scan(std::string_view start, std::string_view limit, const ScanFn& fn) override {
    // One REPEATABLE READ snapshot across the pages.
    Result<std::unique_ptr<Transaction>> txn = NewTransaction(true);
    if (!txn.ok()) return txn.status();
    return (*txn)->Scan(start, limit, ScanOptions(), fn);
  }

  LiveBus* live() override { return &bus_; }

  Result<std::unique_ptr<Lease>> TryLease(std::string_view name) override {
    Result<std::unique_ptr<PgConnection>> conn =
        PgConnection::Connect(pool_.uri(), options_.pool.connect_timeout_seconds, "", "kefu lease");
    if (!conn.ok()) return conn.status();
    Result<PgResultPtr> r =
        (*conn)->Exec(std::move(PgCommand(sql::kTryLease).Int64(PgAdvisoryKey(PgLockKind::kLease, name))));
    if (!r.ok()) return r.status();
    if (!PgBool(r->get(), 0, 0)) return std::unique_ptr<Lease>();
    return std::unique_ptr<Lease>(new PgLease(std::move(conn.value()), options_.lease_ping_millis));
  }

  bool shared() const override { return true; }

  uint64_t DiskBytes() override {
    Result<PgPool::Handle> conn = pool_.Acquire();
    if (!conn.ok()) return 0;
    Result<PgResultPtr> r = (*conn)->Exec(PgCommand(sql::kDatabaseSize));
    return r.ok() ? static_cast<uint64_t>(PgInt64(r->get(), 0, 0)) : 0;
  }

  Counters counters() const override {
    const uint64_t commits = counters_.commits.load();
    return Counters{commits, commits};  // every PostgreSQL commit carries one transaction
  }

  Result<int64_t> DatabaseNowMicros() override {
    Result<PgPool::Handle> conn = pool_.Acquire();
    if (!conn.ok()) return conn.status();
    return kefu::DatabaseNowMicros(**conn);
  }

  const Clock* database_clock() const override { return &clock_; }

  Result<int64_t> TrimLiveEvents() override {
    Result<PgPool::Handle> conn = pool_.Acquire();
    if (!conn.ok()) return conn.status();
    PgCommand trim(kTrim);
    trim.Int64(kPgTrimLockKey).Int64(options_.live_events_keep_seconds).Int64(options_.live_events_max_rows);
    Result<PgResultPtr> r = (*conn)->Exec(trim);
    if (!r.ok()) return r.status();
    return PgInt64(r->get(), 0, 0);
  }

  PgStats pg_stats() const override {
    PgStats s;
    s.pool = pool_.stats();
    if (listener_) s.listener = listener_->stats();
    s.commits = counters_.commits.load();
    s.aborted = counters_.aborted.load();
    s.unavailable = counters_.unavailable.load();
    return s;
  }

 private:
  Result<std::unique_ptr<Transaction>> NewTransaction(bool snapshot) {
    Result<PgPool::Handle> conn = pool_.Acquire();
    if (!conn.ok()) return conn.status();
    return std::unique_ptr<Transaction>(
        new PgTransaction(std::move(conn.value()), &locks_, &counters_, options_.scan_page_rows, snapshot));
  }

  // The maintenance thread: the clock's offset and the trim, each on its own period.
  void Maintain() {
    auto next_clock = SteadyClock::now() + std::chrono::seconds(options_.clock_refresh_seconds);
    auto next_trim = SteadyClock::now() + std::chrono::seconds(options_.trim_interval_seconds);
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      stop_cv_.wait_until(lock, std::min(next_clock, next_trim), [this] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      const auto now = SteadyClock::now();
      if (now >= next_clock) {
        Result<PgPool::Handle> conn = pool_.Acquire();
        if (conn.ok()) (void)clock_.Refresh(**conn);
        next_clock = now + std::chrono::seconds(options_.clock_refresh_seconds);
      }
      if (now >= next_trim) {
        Result<int64_t> trimmed = TrimLiveEvents();
        if (!trimmed.ok())
          std::fprintf(stderr, "kefu: trimming live events: %s\n", trimmed.status().ToString().c_str());
        next_trim = now + std::chrono::seconds(options_.trim_interval_seconds);
      }
      lock.lock();
    }
  }

  const PgStoreOptions options_;
  PgPool pool_;
  PgLocalLocks locks_;
  PgTransactionCounters counters_;
  LiveBus bus_;
  DatabaseClock clock_;
  std::unique_ptr<PgLiveListener> listener_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread maintenance_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& uri, const PgStoreOptions& options) {
  auto store = std::make_unique<PgStore>(uri, options);
  KEFU_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<Store>(std::move(store));
}

PostgresStore* AsPostgresStore(Store* store) { return dynamic_cast<PostgresStore*>(store); }

bool IsPostgresUri(std::string_view location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

std::string RedactPostgresUri(const std::string& uri) {
  const size_t scheme = uri.find("://");
  const size_t at = uri.find('@');
  if (scheme == std::string::npos || at == std::string::npos) return uri;
  const size_t colon = uri.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return uri;
  return uri.substr(0, colon) + ":***" + uri.substr(at);
}

}  // namespace kefu
