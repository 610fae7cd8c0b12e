#include "engine/lock_manager.h"

#include <algorithm>
#include <chrono>
#include <functional>

namespace kefu {

LockSet::LockSet(LockManager* manager) : manager_(manager) {}

LockSet::~LockSet() { ReleaseAll(); }

bool LockSet::Holds(std::string_view key) const {
  return std::find(held_.begin(), held_.end(), key) != held_.end();
}

void LockSet::Took(std::string_view key, int rank) {
  held_.emplace_back(key);
  max_rank_ = std::max(max_rank_, rank);
}

Status LockSet::Lock(std::string_view key, int rank) {
  if (Holds(key)) return Status::OK();
  Status s = manager_->Acquire(this, key, /*wait=*/rank >= 0 && rank > max_rank_);
  if (s.ok()) Took(key, rank);
  return s;
}

bool LockSet::TryLock(std::string_view key, int rank) {
  if (Holds(key)) return true;
  if (!manager_->Acquire(this, key, /*wait=*/false).ok()) return false;
  Took(key, rank);
  return true;
}

void LockSet::ReleaseAll() {
  for (const std::string& key : held_) manager_->Release(this, key);
  held_.clear();
  max_rank_ = -1;
}

LockManager::Shard& LockManager::ShardOf(std::string_view key) {
  return shards_[std::hash<std::string_view>()(key) % kShards];
}

Status LockManager::Acquire(const LockSet* owner, std::string_view key, bool wait) {
  Shard& shard = ShardOf(key);
  std::unique_lock<std::mutex> lock(shard.mu);
  auto it = shard.owners.find(std::string(key));
  if (it == shard.owners.end()) {
    shard.owners.emplace(std::string(key), owner);
    return Status::OK();
  }
  if (!wait) return Status::Aborted("lock conflict on a row another operation holds; retry");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_timeout_millis_);
  const std::string k(key);
  while (shard.owners.count(k) != 0) {
    if (shard.released.wait_until(lock, deadline) == std::cv_status::timeout && shard.owners.count(k) != 0) {
      return Status::Unavailable("timed out waiting for a row lock (the store is stalled)");
    }
  }
  shard.owners.emplace(k, owner);
  return Status::OK();
}

void LockManager::Release(const LockSet* owner, const std::string& key) {
  Shard& shard = ShardOf(key);
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.owners.find(key);
    if (it != shard.owners.end() && it->second == owner) shard.owners.erase(it);
  }
  shard.released.notify_all();
}

}  // namespace kefu
