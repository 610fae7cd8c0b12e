// The database's clock, for time that several nodes must agree on (an agent's presence and
// heartbeat expiry): a node whose own clock is off by seconds must not expire agents early or
// keep them online late. Reading the database's clock on every use would cost a round trip, so
// DatabaseClock is the node's clock plus an offset measured against the database (NTP's way:
// the database's time against the midpoint of the round trip, keeping the sample with the
// shortest round trip), measured when the store opens and refreshed periodically.
//
// Thread-safe.
#ifndef KEFU_ENGINE_PG_PG_CLOCK_H_
#define KEFU_ENGINE_PG_PG_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "base/status.h"
#include "engine/clock.h"
#include "engine/pg/pg_connection.h"

namespace kefu {

// The database's clock_timestamp() in microseconds since the Unix epoch (one round trip).
Result<int64_t> DatabaseNowMicros(PgConnection& conn);

class DatabaseClock final : public Clock {
 public:
  // Until the first Refresh, the offset is 0 (the node's own clock).
  DatabaseClock() = default;

  // The node's clock corrected by the last measured offset. A refresh may step it by the change
  // in offset (normally well under a millisecond between refreshes).
  int64_t NowMicros() const override { return local_.NowMicros() + offset_micros_.load(); }

  // Measures the offset over `conn` with `samples` round trips. Errors as DatabaseNowMicros; the
  // offset is then unchanged.
  Status Refresh(PgConnection& conn, int samples = 3);

  // Database time minus node time, and half the round trip of the sample it came from (the
  // offset's uncertainty).
  int64_t offset_micros() const { return offset_micros_.load(); }
  int64_t uncertainty_micros() const { return uncertainty_micros_.load(); }

 private:
  SystemClock local_;
  std::atomic<int64_t> offset_micros_{0};
  std::atomic<int64_t> uncertainty_micros_{0};
};

}  // namespace kefu

#endif  // KEFU_ENGINE_PG_PG_CLOCK_H_
