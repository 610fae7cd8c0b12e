// The engine's working set: decoded records it used recently, so that the next operation on an
// open conversation does not parse its JSON again. It is a cache of the store, never the truth:
// an entry is used only when the bytes just read from the store are exactly the bytes it was
// decoded from, so a record changed by another process (a shared store) or a write that failed
// can never be served stale. Bounded by bytes (least recently used entries go first).
//
// Thread-safe: sharded by key, one mutex per shard.
#ifndef KEFU_ENGINE_WORKING_SET_H_
#define KEFU_ENGINE_WORKING_SET_H_

#include <array>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/status.h"

namespace kefu {

class WorkingSet {
 public:
  // Keeps at most about `capacity_bytes` (keys, stored bytes and decoded sizes estimated).
  explicit WorkingSet(size_t capacity_bytes);
  WorkingSet(const WorkingSet&) = delete;
  WorkingSet& operator=(const WorkingSet&) = delete;

  // The record decoded from `bytes`, the value of `key` just read from the store: the cached one
  // when it was decoded from the same bytes, else `decode(bytes)` (cached when it succeeds).
  template <typename T>
  Result<std::shared_ptr<const T>> Get(std::string_view key, std::string_view bytes,
                                       const std::function<Result<T>(std::string_view)>& decode) {
    if (auto hit = Find(key, bytes)) return std::static_pointer_cast<const T>(hit);
    auto decoded = decode(bytes);
    if (!decoded.ok()) return decoded.status();
    auto record = std::make_shared<const T>(std::move(*decoded));
    Insert(key, bytes, record);
    return record;
  }

  // Records `record` as the decoded form of `bytes`, the value `key` now has in the store (after
  // a commit), so the next read needs no decode.
  template <typename T>
  void Put(std::string_view key, std::string_view bytes, std::shared_ptr<const T> record) {
    Insert(key, bytes, std::move(record));
  }

  void Erase(std::string_view key);
  size_t bytes() const;
  size_t entries() const;

 private:
  struct Entry {
    std::string key;
    std::string bytes;
    std::shared_ptr<const void> record;
    size_t cost = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Entry> lru;  // most recent first
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // keys point into lru
    size_t bytes = 0;
  };
  static constexpr size_t kShards = 16;

  std::shared_ptr<const void> Find(std::string_view key, std::string_view bytes);
  void Insert(std::string_view key, std::string_view bytes, std::shared_ptr<const void> record);
  Shard& ShardOf(std::string_view key);
  void EraseLocked(Shard& s, std::list<Entry>::iterator it);  // REQUIRES(s.mu)

  const size_t shard_capacity_;
  std::array<Shard, kShards> shards_;
};

}  // namespace kefu

#endif  // KEFU_ENGINE_WORKING_SET_H_
