// Row and name locks of the embedded store's transactions, held in this process (PostgreSQL
// holds its own). A lock is exclusive and re-entrant for its owner; an owner releases all its
// locks at once when its transaction ends.
//
// Deadlocks cannot happen: an owner waits for a lock only when the lock's rank is higher than
// that of every lock it holds (store.h's rule), so waits always go up the ranks; otherwise the
// lock is only tried and a conflict is reported as Aborted (the transaction is run again).
//
// Thread-safe. Locks are spread over shards by key hash, so unrelated keys never contend.
#ifndef KEFU_ENGINE_LOCK_MANAGER_H_
#define KEFU_ENGINE_LOCK_MANAGER_H_

#include <array>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace kefu {

class LockManager;

// The locks one transaction holds. Not thread-safe (one transaction, one thread); releases
// everything on destruction.
class LockSet {
 public:
  explicit LockSet(LockManager* manager);
  ~LockSet();
  LockSet(const LockSet&) = delete;
  LockSet& operator=(const LockSet&) = delete;

  // Takes the lock on `key` (a no-op when held already). Waits when `rank` is not negative and
  // higher than every rank held, else tries: Aborted when another owner holds it. Unavailable after waiting longer
  // than the manager's timeout (a holder stuck on a stalled disk).
  Status Lock(std::string_view key, int rank);
  // Takes the lock only if it is free right now (never waits); false when another owner holds it.
  bool TryLock(std::string_view key, int rank);
  bool Holds(std::string_view key) const;
  // Releases every lock held.
  void ReleaseAll();

 private:
  void Took(std::string_view key, int rank);

  LockManager* manager_;
  std::vector<std::string> held_;
  int max_rank_ = -1;
};

class LockManager {
 public:
  // A waiter gives up after `wait_timeout_millis` (default 30 s).
  explicit LockManager(int64_t wait_timeout_millis = 30000) : wait_timeout_millis_(wait_timeout_millis) {}

 private:
  friend class LockSet;
  struct Shard {
    std::mutex mu;
    std::condition_variable released;
    std::unordered_map<std::string, const LockSet*> owners;  // GUARDED_BY(mu)
  };
  static constexpr size_t kShards = 64;

  Shard& ShardOf(std::string_view key);
  // Acquire for `owner`: true when taken; with `wait`, blocks until free or the timeout.
  Status Acquire(const LockSet* owner, std::string_view key, bool wait);
  void Release(const LockSet* owner, const std::string& key);

  const int64_t wait_timeout_millis_;
  std::array<Shard, kShards> shards_;
};

}  // namespace kefu

#endif  // KEFU_ENGINE_LOCK_MANAGER_H_
