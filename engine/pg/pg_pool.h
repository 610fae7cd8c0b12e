// A node's pool of connections to one PostgreSQL database. A transaction takes a connection for
// its whole life and gives it back when it ends; a broken connection is dropped on return (or
// found broken when it is handed out again) and a new one is opened on demand, so the pool
// recovers by itself once the database is back.
//
// Thread-safe.
#ifndef KEFU_ENGINE_PG_PG_POOL_H_
#define KEFU_ENGINE_PG_PG_POOL_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/pg/pg_connection.h"

namespace kefu {

struct PgPoolOptions {
  // Connections open at most. Default 8: on PostgreSQL a connection is a server process, and a
  // node's concurrency past a few per database core only queues inside the server. Raise it for
  // nodes with many threads on a large database; keep nodes x connections under max_connections.
  size_t max_connections = 8;
  // How long Acquire waits for a connection when all are in use. Default 5,000 ms: longer than
  // any healthy transaction, short enough that a request fails (Unavailable) rather than hang.
  int acquire_timeout_millis = 5000;
  // libpq's connect_timeout (seconds; libpq treats 1 as 2). Default 5: a database that does not
  // answer costs a request at most that long.
  int connect_timeout_seconds = 5;
  // After a failed connect, Acquire fails at once with that error for this long rather than try
  // again. Default 200 ms: while the database is down, requests fail fast instead of each paying
  // a connect attempt, and a restarted database is used within 0.2 s.
  int reconnect_backoff_millis = 200;
  // SQL every new session runs first (SET statements). Default: none.
  std::string session_sql;
};

class PgPool {
 public:
  // Connects lazily: the first Acquire opens the first connection.
  PgPool(std::string uri, PgPoolOptions options);
  // Every Handle must have been destroyed.
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // A connection lent to one owner until the handle is destroyed (or Release()d).
  class Handle {
   public:
    Handle() = default;
    Handle(Handle&& other) noexcept;
    Handle& operator=(Handle&& other) noexcept;
    ~Handle() { Release(); }
    PgConnection* operator->() const { return conn_.get(); }
    PgConnection& operator*() const { return *conn_; }
    explicit operator bool() const { return conn_ != nullptr; }
    // Gives the connection back now: kept if still usable, closed otherwise.
    void Release();

   private:
    friend class PgPool;
    Handle(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    PgPool* pool_ = nullptr;
    std::unique_ptr<PgConnection> conn_;
  };

  // An idle connection that still answers, or a new one. Unavailable when the database cannot be
  // reached, or when every connection stayed in use for acquire_timeout_millis.
  Result<Handle> Acquire();

  struct Stats {
    size_t open = 0;        // connections open now (lent or idle)
    size_t idle = 0;        // of which idle
    uint64_t connects = 0;  // connections opened since the pool was made
    uint64_t connect_failures = 0;
    uint64_t discarded = 0;    // broken connections closed
    uint64_t timeouts = 0;     // Acquire calls that found no connection in time
    uint64_t round_trips = 0;  // round trips of connections given back so far
  };
  Stats stats() const;

  const std::string& uri() const { return uri_; }
  const PgPoolOptions& options() const { return options_; }

 private:
  void Return(std::unique_ptr<PgConnection> conn);
  Result<Handle> Connect(std::unique_lock<std::mutex>& lock);  // REQUIRES(mu_), releases it

  const std::string uri_;
  const PgPoolOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;      // GUARDED_BY(mu_)
  size_t open_ = 0;                                      // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point retry_after_{};  // GUARDED_BY(mu_)
  Status last_connect_error_;                            // GUARDED_BY(mu_)
  Stats stats_;                                          // GUARDED_BY(mu_)
};

}  // namespace kefu

#endif  // KEFU_ENGINE_PG_PG_POOL_H_
