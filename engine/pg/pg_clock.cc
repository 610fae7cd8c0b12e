#include "engine/pg/pg_clock.h"

#include <limits>

#include "engine/pg/pg_sql.h"

namespace kefu {

Result<int64_t> DatabaseNowMicros(PgConnection& conn) {
  Result<PgResultPtr> r = conn.Exec(PgCommand(sql::kNowMicros));
  if (!r.ok()) return r.status();
  return PgInt64(r->get(), 0, 0);
}

Status DatabaseClock::Refresh(PgConnection& conn, int samples) {
  int64_t best_rtt = std::numeric_limits<int64_t>::max();
  int64_t best_offset = 0;
  for (int i = 0; i < samples; ++i) {
    const int64_t before = local_.NowMicros();
    Result<int64_t> db = DatabaseNowMicros(conn);
    const int64_t after = local_.NowMicros();
    if (!db.ok()) return db.status();
    if (after - before < best_rtt) {
      best_rtt = after - before;
      best_offset = *db - (before + after) / 2;
    }
  }
  offset_micros_.store(best_offset);
  uncertainty_micros_.store(best_rtt / 2);
  return Status::OK();
}

}  // namespace kefu
