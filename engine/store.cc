#include "engine/store.h"

namespace kefu {

void StoreBatch::Put(std::string_view key, std::string_view value) {
  ops_.push_back(Op{false, std::string(key), std::string(value)});
  bytes_ += key.size() + value.size();
}

void StoreBatch::Delete(std::string_view key) {
  ops_.push_back(Op{true, std::string(key), std::string()});
  bytes_ += key.size();
}

void StoreBatch::Append(const StoreBatch& other) {
  ops_.insert(ops_.end(), other.ops_.begin(), other.ops_.end());
  bytes_ += other.bytes_;
}

StoreBatch StoreBatch::Joined(std::span<const StoreBatch> group) {
  StoreBatch joined;
  for (const StoreBatch& b : group) joined.Append(b);
  return joined;
}

Status Store::ScanPrefix(std::string_view prefix, const ScanFn& fn) {
  return Scan(prefix, PrefixLimit(prefix), fn);
}

std::string PrefixLimit(std::string_view prefix) {
  std::string limit(prefix);
  // Drop trailing 0xFF bytes (they cannot be incremented), then bump the last byte left.
  while (!limit.empty() && static_cast<unsigned char>(limit.back()) == 0xFF) limit.pop_back();
  if (!limit.empty())
    limit.back() = static_cast<char>(static_cast<unsigned char>(limit.back()) + 1);
  return limit;
}

}  // namespace kefu
