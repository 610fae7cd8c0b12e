#include "engine/pg/pg_local_locks.h"

#include <chrono>

namespace kefu {

PgLocalLocks::Outcome PgLocalLocks::Lock(const std::string& key, const void* owner, bool wait) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_timeout_millis_);
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    auto [it, inserted] = holders_.try_emplace(key, owner);
    if (inserted) return Outcome::kTaken;
    if (it->second == owner) return Outcome::kAlreadyHeld;
    if (!wait) return Outcome::kBusy;
    // One condition variable for all keys: waits are rare (the rank rule makes most contended
    // locks "try"), and a holder keeps a lock for one short transaction.
    if (wait_timeout_millis_ <= 0) {
      released_.wait(lock);
    } else if (released_.wait_until(lock, deadline) == std::cv_status::timeout) {
      wait = false;  // one last look, then busy
    }
  }
}

void PgLocalLocks::Unlock(const std::string& key, const void* owner) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = holders_.find(key);
    if (it == holders_.end() || it->second != owner) return;
    holders_.erase(it);
  }
  released_.notify_all();
}

}  // namespace kefu
