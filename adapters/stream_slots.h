// Who may hold the live streams (SSE and long polls). Each holds a worker thread for as long as it
// is open, so the server caps them three ways: in all (beyond, 503), per credential (a customer
// token or an agent session: one token cannot take every slot), and per client address for
// customers' streams (anyone can start conversations and so get customer tokens).
#ifndef KEFU_ADAPTERS_STREAM_SLOTS_H_
#define KEFU_ADAPTERS_STREAM_SLOTS_H_

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/status.h"

namespace kefu {

// Thread-safe. Memory: one map entry per credential or address that holds a slot now.
class StreamSlots {
 public:
  struct Limits {
    int total = 896;        // every stream of the server
    int per_key = 4;        // per credential (customer token, agent session)
    int per_address = 64;   // per client address, for the streams that name one; <= 0: no cap
  };

  // A slot held; given back when the last copy of its shared_ptr goes.
  class Lease {
   public:
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

   private:
    friend class StreamSlots;
    Lease(StreamSlots* owner, std::string key, std::string address)
        : owner_(owner), key_(std::move(key)), address_(std::move(address)) {}
    StreamSlots* owner_;
    std::string key_;
    std::string address_;
  };

  explicit StreamSlots(Limits limits) : limits_(limits) {}

  // Takes a slot for credential `key` and, when not empty, client address `address`. Unavailable
  // when the server holds `total` streams; ResourceExhausted (naming which) when the credential or
  // the address holds its share. The StreamSlots must outlive every lease.
  Result<std::shared_ptr<Lease>> Acquire(std::string_view key, std::string_view address);

  // Streams open now.
  int open() const;

 private:
  void Release(const std::string& key, const std::string& address);

  const Limits limits_;
  mutable std::mutex mu_;
  int open_ = 0;                                          // GUARDED_BY(mu_)
  std::unordered_map<std::string, int> per_key_;          // GUARDED_BY(mu_); no zero counts
  std::unordered_map<std::string, int> per_address_;      // GUARDED_BY(mu_); no zero counts
};

}  // namespace kefu

#endif  // KEFU_ADAPTERS_STREAM_SLOTS_H_
