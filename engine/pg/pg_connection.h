// One connection to PostgreSQL through libpq, as kefu uses it: statements prepared once per
// connection, parameters and results in binary (bytea travels as raw bytes, no hex or escaping),
// every failure a Status, and several statements sent in one round trip (libpq 15's pipeline
// mode) when the caller does not need one's result to build the next.
//
// Why plain libpq and not libpqxx: bookworm's libpqxx is 6.4, whose pipeline class predates
// libpq's pipeline mode, and which reports errors by exceptions that would have to be caught at
// every call to become kefu's Status values. The part of libpq kefu needs is small (connect,
// prepare, execute in a pipeline, LISTEN), so a wrapper of a few hundred lines gives exactly that,
// with errors as values and no second copy of each row.
//
// Errors (StatusFromResult): a lost or refused connection, or the server shutting down, is
// Unavailable; a deadlock (SQLSTATE 40P01), a serialization failure (40001) or a lock not
// available (55P03: lock_timeout, NOWAIT) is Aborted (run the transaction again); anything else is Internal
// with the server's message.
//
// Not thread-safe: one thread uses a connection at a time (the pool hands it to one owner).
#ifndef KEFU_ENGINE_PG_PG_CONNECTION_H_
#define KEFU_ENGINE_PG_PG_CONNECTION_H_

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/status.h"

namespace kefu {

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
// A result owned by its holder; freed with PQclear.
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

// A statement's SQL and, when `name` is not empty, the name it is prepared under (once per
// connection, on first use). Statements without a name (BEGIN, COMMIT, one-off DDL) are parsed
// on every execution. Parameters are written `$1::bytea`, `$2::int8`... so that the server knows
// their types: values are sent in binary.
struct PgStatement {
  const char* name;
  const char* sql;
};

// A statement with its parameter values, owned (it may wait in a transaction's buffer).
class PgCommand {
 public:
  explicit PgCommand(const PgStatement& statement) : statement_(&statement) {}

  // A bytea or text parameter: the bytes as they are.
  PgCommand& Bytes(std::string_view value);
  // An int8 parameter (8 bytes, network order).
  PgCommand& Int64(int64_t value);

  const PgStatement& statement() const { return *statement_; }
  int size() const { return static_cast<int>(values_.size()); }
  const std::vector<std::string>& values() const { return values_; }

 private:
  const PgStatement* statement_;
  std::vector<std::string> values_;
};

// Reading binary results. Rows and columns must exist (programmer error otherwise).
std::string_view PgBytes(const PGresult* r, int row, int column);  // bytea or text
int64_t PgInt64(const PGresult* r, int row, int column);           // int8
bool PgBool(const PGresult* r, int row, int column);               // bool
bool PgIsNull(const PGresult* r, int row, int column);

// The Status for a result of `conn` (nullptr: none came back). OK for a command or rows.
Status StatusFromResult(PGconn* conn, const PGresult* r);

// Whether a status means the connection it came from can no longer be used.
bool IsConnectionLost(const Status& s);

class PgConnection {
 public:
  // Opens a connection to `uri` (a libpq URI or key=value string; its own settings win over the
  // defaults given here: connect_timeout, TCP keepalives and a 10 s tcp_user_timeout, so that a
  // database host that vanishes fails calls within seconds rather than TCP's minutes). The session
  // then runs `session_sql` (e.g. "SET lock_timeout = 30000"; may be empty). `application_name`
  // shows in pg_stat_activity. Unavailable when the server cannot be reached or refuses us.
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& uri, int connect_timeout_seconds,
                                                       const std::string& session_sql = "",
                                                       const std::string& application_name = "kefu");
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement and returns its result (OK status: COMMAND_OK or TUPLES_OK). One round
  // trip (a statement's first use on this connection sends its PREPARE in the same one).
  Result<PgResultPtr> Exec(const PgCommand& command);

  // Runs `commands` in order in one round trip (pipeline mode, one sync at the end) and returns
  // their results in the same order. The first failure is returned and the commands after it are
  // not run (PostgreSQL skips them up to the sync). Pipelines of more than kMaxPipeline commands
  // are sent in several round trips, so that neither side can block on a full socket buffer.
  // The last `best_effort_tail` commands may fail without failing the call (their results are
  // then null): work after a COMMIT, whose failure must not make the COMMIT look failed.
  Result<std::vector<PgResultPtr>> ExecPipeline(std::span<const PgCommand> commands,
                                                size_t best_effort_tail = 0);
  static constexpr size_t kMaxPipeline = 256;

  // Runs SQL text with no parameters (several statements allowed; DDL, LISTEN, SET).
  Status ExecSimple(const std::string& sql);

  // False once the connection is known to be broken (then it must be discarded).
  bool ok() const;
  // Reads what the server sent without waiting (notices, notifications, a goodbye before a
  // shutdown) and returns ok(). For a pool to test an idle connection before handing it out.
  bool Poll();
  // True while the session is inside a transaction block (also a failed one): it must end it
  // (ROLLBACK) before anyone else uses the connection.
  bool in_transaction() const;
  // Marks the connection unusable (e.g. a transaction's ROLLBACK failed).
  void MarkBroken() { broken_ = true; }

  // Round trips made on this connection since the last call (for measurements).
  uint64_t TakeRoundTrips() { return std::exchange(round_trips_, 0); }

  // For LISTEN: the socket to wait on and the raw connection (PQconsumeInput, PQnotifies).
  int socket() const { return PQsocket(conn_); }
  PGconn* raw() { return conn_; }

 private:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  // Sends one command, preceded by its statement's PREPARE on first use. Appends to `ops` what
  // went out, in order: the statement's name for a PREPARE, nullptr for the query itself.
  Status Send(const PgCommand& command, std::vector<const char*>* ops);
  // One round trip; commands from index `required` on are best effort.
  Result<std::vector<PgResultPtr>> RunPipeline(std::span<const PgCommand> commands, size_t required);
  Status Fail(Status s);  // marks the connection broken when `s` says it is lost

  PGconn* conn_;
  bool broken_ = false;
  uint64_t round_trips_ = 0;
  std::unordered_set<std::string> prepared_;  // statement names prepared on this session
};

}  // namespace kefu

#endif  // KEFU_ENGINE_PG_PG_CONNECTION_H_
