#include "adapters/stream_slots.h"

namespace kefu {
namespace {

void Decrement(std::unordered_map<std::string, int>* counts, const std::string& key) {
  auto it = counts->find(key);
  if (it != counts->end() && --it->second <= 0) counts->erase(it);
}

}  // namespace

StreamSlots::Lease::~Lease() { owner_->Release(key_, address_); }

Result<std::shared_ptr<StreamSlots::Lease>> StreamSlots::Acquire(std::string_view key, std::string_view address) {
  std::lock_guard<std::mutex> lock(mu_);
  if (open_ >= limits_.total) return Status::Unavailable("too many open live streams; try again shortly");
  auto held = per_key_.find(std::string(key));
  if (held != per_key_.end() && held->second >= limits_.per_key) {
    return Status::ResourceExhausted("this token already holds " + std::to_string(limits_.per_key) +
                                     " live streams; close one first");
  }
  if (!address.empty() && limits_.per_address > 0) {
    auto from = per_address_.find(std::string(address));
    if (from != per_address_.end() && from->second >= limits_.per_address) {
      return Status::ResourceExhausted("too many live streams from this address");
    }
    ++per_address_[std::string(address)];
  }
  ++per_key_[std::string(key)];
  ++open_;
  return std::shared_ptr<Lease>(new Lease(this, std::string(key), std::string(address)));
}

void StreamSlots::Release(const std::string& key, const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  --open_;
  Decrement(&per_key_, key);
  if (!address.empty() && limits_.per_address > 0) Decrement(&per_address_, address);
}

int StreamSlots::open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_;
}

}  // namespace kefu
