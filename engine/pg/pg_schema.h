// The tables kefu keeps in PostgreSQL, and how a database gets them: a versioned list of
// migrations in this file's .cc, applied in order, each in its own transaction with the row of
// `kefu_schema` that records it. Migrations run under a session advisory lock, so nodes starting
// at once apply each migration once and the others wait for it. Migrations only ever add (new
// tables, columns with defaults, indexes): nodes of the previous version keep working while
// the others are upgraded one by one.
//
// Schema, version 1:
//   kv(k bytea primary key, v bytea not null)  the ordered key-value space of engine/store.h.
//       bytea compares bytewise (memcmp, then length), exactly as LevelDB's default comparator.
//   live_events(id bigserial primary key, desk text, payload bytea, created_at timestamptz)
//       the live events of every desk (LiveBus's EncodeLiveEvent in payload); a NOTIFY on
//       channel `kefu_live` after the commit wakes other nodes, the table is the truth. Trimmed
//       by age and count.
//   kefu_schema(version int primary key, summary text, applied_at timestamptz)
//
// Not thread-safe per connection (see PgConnection).
#ifndef KEFU_ENGINE_PG_PG_SCHEMA_H_
#define KEFU_ENGINE_PG_PG_SCHEMA_H_

#include <cstdint>
#include <span>
#include <string_view>

#include "base/status.h"
#include "engine/pg/pg_connection.h"

namespace kefu {

struct PgMigration {
  int version;          // 1, 2, 3... in order
  const char* summary;  // one line, stored in kefu_schema
  const char* sql;      // statements run as one transaction
};

// Every migration this kefu knows, oldest first.
std::span<const PgMigration> PgMigrations();

// The newest schema version this kefu knows.
int LatestPgSchemaVersion();

// The version a database is at: 0 for one kefu never used. Unavailable / Internal on failure.
Result<int> ReadPgSchemaVersion(PgConnection& conn);

// Brings the database to LatestPgSchemaVersion(), applying what is missing under the advisory
// lock (waiting for another node doing the same), and returns the version now in place.
// Conflict, changing nothing, when the database is at a newer version than this kefu knows (a
// newer kefu migrated it): this kefu must not write to a layout it does not understand.
// Unavailable when the database cannot be reached; Internal when a migration fails (it is rolled
// back whole).
Result<int> MigratePgSchema(PgConnection& conn);

// OK when the database is exactly at LatestPgSchemaVersion(); Conflict, saying what to do
// (`kefu db migrate`, or upgrade kefu), otherwise.
Status CheckPgSchema(PgConnection& conn);

// Advisory lock keys (bigint space, shared by all kefu processes on a database). Names are
// hashed with a stable 64-bit hash (FNV-1a) salted by kind, so that a transaction's LockName and
// a node's lease on the same string never collide, nor with the migration lock.
enum class PgLockKind { kName = 1, kLease = 2 };
int64_t PgAdvisoryKey(PgLockKind kind, std::string_view name);
inline constexpr int64_t kPgMigrationLockKey = 0x6b656675'00000001;  // "kefu", 1
inline constexpr int64_t kPgTrimLockKey = 0x6b656675'00000002;       // "kefu", 2

}  // namespace kefu

#endif  // KEFU_ENGINE_PG_PG_SCHEMA_H_
