#include "engine/pg/pg_schema.h"

#include <string>

namespace kefu {

namespace {

// Append only. A released migration is never edited: a database that ran it keeps its version.
constexpr PgMigration kMigrations[] = {
    {1, "key-value space and live events",
     R"sql(
CREATE TABLE kv (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE live_events (
  id bigserial PRIMARY KEY,
  desk text NOT NULL,
  payload bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
-- The newest events of each desk at a node's start.
CREATE INDEX live_events_desk_id ON live_events (desk, id);
-- Trimming by age: rows arrive in time order, so a BRIN index costs almost nothing per insert.
CREATE INDEX live_events_created_at ON live_events USING brin (created_at);
)sql"},
};

constexpr const char* kCreateSchemaTable =
    "CREATE TABLE IF NOT EXISTS kefu_schema (version int PRIMARY KEY, summary text NOT NULL, "
    "applied_at timestamptz NOT NULL DEFAULT now())";

const PgStatement kReadVersion = {"", "SELECT coalesce(max(version), 0)::int8 FROM kefu_schema"};
const PgStatement kSchemaTableExists = {"", "SELECT to_regclass('kefu_schema') IS NOT NULL"};

Status NewerThanKnown(int version) {
  return Status::Conflict(
      "the database's kefu schema is at version " + std::to_string(version) +
      ", newer than this kefu knows (" + std::to_string(LatestPgSchemaVersion()) +
      "): a newer kefu migrated it; run that version (or newer) of kefu on this database");
}

Status Apply(PgConnection& conn, const PgMigration& m) {
  // A simple query with several statements runs as one transaction: all of it, or none.
  std::string sql = m.sql;
  sql += ";\nINSERT INTO kefu_schema (version, summary) VALUES (" + std::to_string(m.version) + ", $kefu$" +
         m.summary + "$kefu$)";
  Status s = conn.ExecSimple(sql);
  return s.WithContext("migration " + std::to_string(m.version) + " (" + m.summary + ")");
}

Result<int> MigrateLocked(PgConnection& conn) {
  KEFU_RETURN_IF_ERROR(conn.ExecSimple(kCreateSchemaTable));
  Result<int> version = ReadPgSchemaVersion(conn);
  if (!version.ok()) return version.status();
  if (*version > LatestPgSchemaVersion()) return NewerThanKnown(*version);
  for (const PgMigration& m : PgMigrations()) {
    if (m.version > *version) KEFU_RETURN_IF_ERROR(Apply(conn, m));
  }
  return LatestPgSchemaVersion();
}

}  // namespace

std::span<const PgMigration> PgMigrations() { return kMigrations; }

int LatestPgSchemaVersion() { return PgMigrations().back().version; }

Result<int> ReadPgSchemaVersion(PgConnection& conn) {
  Result<PgResultPtr> exists = conn.Exec(PgCommand(kSchemaTableExists));
  if (!exists.ok()) return exists.status();
  if (!PgBool(exists->get(), 0, 0)) return 0;
  Result<PgResultPtr> r = conn.Exec(PgCommand(kReadVersion));
  if (!r.ok()) return r.status();
  return static_cast<int>(PgInt64(r->get(), 0, 0));
}

Result<int> MigratePgSchema(PgConnection& conn) {
  const std::string key = std::to_string(kPgMigrationLockKey);
  KEFU_RETURN_IF_ERROR(conn.ExecSimple("SELECT pg_advisory_lock(" + key + ")"));
  Result<int> result = MigrateLocked(conn);
  // If the connection broke, the server released the lock with the session.
  if (conn.ok()) (void)conn.ExecSimple("SELECT pg_advisory_unlock(" + key + ")");
  return result;
}

Status CheckPgSchema(PgConnection& conn) {
  Result<int> version = ReadPgSchemaVersion(conn);
  if (!version.ok()) return version.status();
  if (*version > LatestPgSchemaVersion()) return NewerThanKnown(*version);
  if (*version < LatestPgSchemaVersion()) {
    return Status::Conflict("the database's kefu schema is at version " + std::to_string(*version) +
                            ", this kefu needs " + std::to_string(LatestPgSchemaVersion()) +
                            ": run `kefu db migrate --store URL` first");
  }
  return Status::OK();
}

int64_t PgAdvisoryKey(PgLockKind kind, std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, 64-bit: stable across builds and machines
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ULL;
  };
  mix(static_cast<unsigned char>(kind));
  for (char c : name) mix(static_cast<unsigned char>(c));
  return static_cast<int64_t>(h);
}

}  // namespace kefu
