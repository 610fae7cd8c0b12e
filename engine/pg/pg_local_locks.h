// The locks a node's PostgreSQL transactions hold in the node itself, beside PostgreSQL's.
//
// PostgreSQL releases a transaction's row and advisory locks at COMMIT, but engine/store.h
// promises that locks last until the Transaction object is destroyed, so that the engine updates
// its caches of what it wrote before another of its threads may lock those rows. Each
// transaction therefore also takes the same lock here (first, with the same wait-or-try rule)
// and drops it when destroyed: within a node the promise holds exactly; across nodes PostgreSQL's
// locks decide, and caches are validated against the store (Store::shared()).
//
// Thread-safe.
#ifndef KEFU_ENGINE_PG_PG_LOCAL_LOCKS_H_
#define KEFU_ENGINE_PG_PG_LOCAL_LOCKS_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace kefu {

class PgLocalLocks {
 public:
  // A wait gives up after `wait_timeout_millis` (0: never), as PostgreSQL's lock_timeout does.
  explicit PgLocalLocks(int64_t wait_timeout_millis) : wait_timeout_millis_(wait_timeout_millis) {}

  enum class Outcome {
    kTaken,        // the lock is now held by `owner`
    kAlreadyHeld,  // `owner` held it already
    kBusy,         // another owner holds it (and `wait` was false, or the wait timed out)
  };

  // Takes `key` for `owner` (any unique address, e.g. the transaction's), waiting while another
  // owner holds it if `wait`, else failing at once.
  Outcome Lock(const std::string& key, const void* owner, bool wait);

  // Releases `key` if `owner` holds it.
  void Unlock(const std::string& key, const void* owner);

 private:
  const int64_t wait_timeout_millis_;
  std::mutex mu_;
  std::condition_variable released_;
  std::unordered_map<std::string, const void*> holders_;  // GUARDED_BY(mu_)
};

}  // namespace kefu

#endif  // KEFU_ENGINE_PG_PG_LOCAL_LOCKS_H_
