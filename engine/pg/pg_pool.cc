#include "engine/pg/pg_pool.h"

namespace kefu {

PgPool::PgPool(std::string uri, PgPoolOptions options) : uri_(std::move(uri)), options_(std::move(options)) {}

PgPool::~PgPool() = default;

PgPool::Handle::Handle(Handle&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {
  other.pool_ = nullptr;
}

PgPool::Handle& PgPool::Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = std::exchange(other.pool_, nullptr);
    conn_ = std::move(other.conn_);
  }
  return *this;
}

void PgPool::Handle::Release() {
  if (conn_ != nullptr && pool_ != nullptr) pool_->Return(std::move(conn_));
  conn_.reset();
  pool_ = nullptr;
}

Result<PgPool::Handle> PgPool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.acquire_timeout_millis);
  while (true) {
    while (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      // A database restarted since this connection was last used says goodbye on it: find out
      // here, without a round trip, rather than fail the caller's first statement.
      if (conn->Poll()) return Handle(this, std::move(conn));
      conn.reset();
      lock.lock();
      --open_;
      ++stats_.discarded;
    }
    if (open_ < options_.max_connections) return Connect(lock);
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.max_connections) {
      ++stats_.timeouts;
      return Status::Unavailable("postgresql: all " + std::to_string(options_.max_connections) +
                                 " connections of the pool stayed in use for " +
                                 std::to_string(options_.acquire_timeout_millis) + " ms");
    }
  }
}

Result<PgPool::Handle> PgPool::Connect(std::unique_lock<std::mutex>& lock) {
  if (std::chrono::steady_clock::now() < retry_after_) return last_connect_error_;
  ++open_;
  lock.unlock();
  Result<std::unique_ptr<PgConnection>> conn =
      PgConnection::Connect(uri_, options_.connect_timeout_seconds, options_.session_sql);
  lock.lock();
  if (!conn.ok()) {
    --open_;
    ++stats_.connect_failures;
    last_connect_error_ = conn.status();
    retry_after_ =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.reconnect_backoff_millis);
    cv_.notify_one();  // a waiter may connect (or fail fast) in this slot
    return conn.status();
  }
  ++stats_.connects;
  retry_after_ = {};
  return Handle(this, std::move(conn.value()));
}

void PgPool::Return(std::unique_ptr<PgConnection> conn) {
  std::unique_ptr<PgConnection> broken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.round_trips += conn->TakeRoundTrips();
    if (conn->ok()) {
      idle_.push_back(std::move(conn));
    } else {
      broken = std::move(conn);
      --open_;
      ++stats_.discarded;
    }
  }
  cv_.notify_one();
  // `broken` is closed here, outside the lock.
}

PgPool::Stats PgPool::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.open = open_;
  s.idle = idle_.size();
  return s;
}

}  // namespace kefu
