#include "engine/working_set.h"

namespace kefu {
namespace {
// A decoded record takes about as much memory again as its JSON, plus the map and list nodes.
constexpr size_t kEntryOverhead = 160;
size_t CostOf(std::string_view key, std::string_view bytes) { return 2 * key.size() + 2 * bytes.size() + kEntryOverhead; }
}  // namespace

WorkingSet::WorkingSet(size_t capacity_bytes) : shard_capacity_(capacity_bytes / kShards) {}

WorkingSet::Shard& WorkingSet::ShardOf(std::string_view key) {
  return shards_[std::hash<std::string_view>()(key) % kShards];
}

void WorkingSet::EraseLocked(Shard& s, std::list<Entry>::iterator it) {
  s.bytes -= it->cost;
  s.index.erase(std::string_view(it->key));
  s.lru.erase(it);
}

std::shared_ptr<const void> WorkingSet::Find(std::string_view key, std::string_view bytes) {
  Shard& s = ShardOf(key);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end() || it->second->bytes != bytes) return nullptr;
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  return it->second->record;
}

void WorkingSet::Insert(std::string_view key, std::string_view bytes, std::shared_ptr<const void> record) {
  const size_t cost = CostOf(key, bytes);
  Shard& s = ShardOf(key);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.index.find(key);
  if (it != s.index.end()) EraseLocked(s, it->second);
  if (cost > shard_capacity_) return;  // bigger than the whole shard: not worth keeping
  s.lru.push_front(Entry{std::string(key), std::string(bytes), std::move(record), cost});
  s.index.emplace(std::string_view(s.lru.front().key), s.lru.begin());
  s.bytes += cost;
  while (s.bytes > shard_capacity_ && !s.lru.empty()) EraseLocked(s, std::prev(s.lru.end()));
}

void WorkingSet::Erase(std::string_view key) {
  Shard& s = ShardOf(key);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.index.find(key);
  if (it != s.index.end()) EraseLocked(s, it->second);
}

size_t WorkingSet::bytes() const {
  size_t total = 0;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    total += s.bytes;
  }
  return total;
}

size_t WorkingSet::entries() const {
  size_t total = 0;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    total += s.lru.size();
  }
  return total;
}

}  // namespace kefu
