// The statements the PostgreSQL store runs, in one place (the tables are in pg_schema.h).
// Named statements are prepared once per connection; parameters are binary (pg_connection.h).
#ifndef KEFU_ENGINE_PG_PG_SQL_H_
#define KEFU_ENGINE_PG_PG_SQL_H_

#include "engine/pg/pg_connection.h"

namespace kefu::sql {

// Transaction control: not prepared (the extended protocol parses them in the same round trip).
inline constexpr PgStatement kBegin = {"", "BEGIN ISOLATION LEVEL READ COMMITTED"};
inline constexpr PgStatement kBeginSnapshot = {"", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"};
inline constexpr PgStatement kCommit = {"", "COMMIT"};

// The key-value space.
inline constexpr PgStatement kGet = {"kefu_get", "SELECT v FROM kv WHERE k = $1::bytea"};
inline constexpr PgStatement kGetForUpdate = {"kefu_get_for_update",
                                              "SELECT v FROM kv WHERE k = $1::bytea FOR UPDATE"};
// A lock that is only tried: SKIP LOCKED rather than NOWAIT, because a NOWAIT that fails is an
// error, which ends the transaction, and callers may go on without a lock they only tried (the
// router skips a conversation another node is serving). v comes back only when locked; `exists`
// then tells "held elsewhere" (true) from "no such row" (false).
inline constexpr PgStatement kGetForUpdateTry = {
    "kefu_get_for_update_try",
    "SELECT l.v, EXISTS (SELECT 1 FROM kv WHERE k = $1::bytea) FROM (SELECT 1) one "
    "LEFT JOIN LATERAL (SELECT v FROM kv WHERE k = $1::bytea FOR UPDATE SKIP LOCKED) l ON true"};
inline constexpr PgStatement kPut = {
    "kefu_put",
    "INSERT INTO kv (k, v) VALUES ($1::bytea, $2::bytea) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"};
inline constexpr PgStatement kDelete = {"kefu_delete", "DELETE FROM kv WHERE k = $1::bytea"};

// Scans page by page: the next page starts at the last key plus a zero byte (its successor).
// Two statements per kind rather than "($2 = '' OR k < $2)", which a generic plan cannot turn
// into an index range.
inline constexpr PgStatement kScanFrom = {
    "kefu_scan_from", "SELECT k, v FROM kv WHERE k >= $1::bytea ORDER BY k LIMIT $2::int8"};
inline constexpr PgStatement kScanRange = {
    "kefu_scan_range",
    "SELECT k, v FROM kv WHERE k >= $1::bytea AND k < $2::bytea ORDER BY k LIMIT $3::int8"};
inline constexpr PgStatement kClaimFrom = {
    "kefu_claim_from",
    "SELECT k, v FROM kv WHERE k >= $1::bytea ORDER BY k LIMIT $2::int8 FOR UPDATE SKIP LOCKED"};
inline constexpr PgStatement kClaimRange = {
    "kefu_claim_range",
    "SELECT k, v FROM kv WHERE k >= $1::bytea AND k < $2::bytea ORDER BY k LIMIT $3::int8 "
    "FOR UPDATE SKIP LOCKED"};

// Named locks (PgAdvisoryKey), released at the end of the transaction.
inline constexpr PgStatement kLockName = {"kefu_lock_name", "SELECT pg_advisory_xact_lock($1::int8)"};
inline constexpr PgStatement kTryLockName = {"kefu_try_lock_name",
                                             "SELECT pg_try_advisory_xact_lock($1::int8)"};

// A live event. The transaction takes its xid (pg_current_xact_id, in a CTE evaluated first)
// before the event takes its id from the sequence: the listener relies on that order to tell an
// id still being committed from one that never will be (pg_live_listener.h).
inline constexpr PgStatement kPublish = {
    "kefu_publish",
    "WITH x AS MATERIALIZED (SELECT pg_current_xact_id()) "
    "INSERT INTO live_events (desk, payload) SELECT $1::text, $2::bytea FROM x"};

// The wake-up of every node's listener, sent after COMMIT (same round trip, a transaction of its
// own), never inside the transaction: PostgreSQL serializes the commits of all transactions that
// NOTIFY on one lock held through their WAL flush, which would cap a cluster at one commit per
// disk flush. Its own commit needs no flush (synchronous_commit off: it writes nothing worth
// keeping). The payload is the desk; listeners read the table whatever it says, and a lost
// wake-up costs at most their poll interval.
inline constexpr PgStatement kNotify = {
    "kefu_notify", "SELECT set_config('synchronous_commit', 'off', true), pg_notify('kefu_live', $1::text)"};

// Session leases (Store::TryLease).
inline constexpr PgStatement kTryLease = {"", "SELECT pg_try_advisory_lock($1::int8)"};

// The database's clock, in microseconds since the epoch.
inline constexpr PgStatement kNowMicros = {"kefu_now_micros",
                                           "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8"};

inline constexpr PgStatement kDatabaseSize = {"kefu_database_size",
                                              "SELECT pg_database_size(current_database())"};

}  // namespace kefu::sql

#endif  // KEFU_ENGINE_PG_PG_SQL_H_
