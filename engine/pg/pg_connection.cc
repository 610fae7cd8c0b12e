#include "engine/pg/pg_connection.h"

#include <endian.h>
#include <poll.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace kefu {

PgCommand& PgCommand::Bytes(std::string_view value) {
  values_.emplace_back(value);
  return *this;
}

PgCommand& PgCommand::Int64(int64_t value) {
  const uint64_t be = htobe64(static_cast<uint64_t>(value));
  values_.emplace_back(reinterpret_cast<const char*>(&be), sizeof(be));
  return *this;
}

std::string_view PgBytes(const PGresult* r, int row, int column) {
  return std::string_view(PQgetvalue(r, row, column), PQgetlength(r, row, column));
}

int64_t PgInt64(const PGresult* r, int row, int column) {
  uint64_t be = 0;
  if (PQgetlength(r, row, column) == sizeof(be)) std::memcpy(&be, PQgetvalue(r, row, column), sizeof(be));
  return static_cast<int64_t>(be64toh(be));
}

bool PgBool(const PGresult* r, int row, int column) {
  return PQgetlength(r, row, column) == 1 && PQgetvalue(r, row, column)[0] != 0;
}

bool PgIsNull(const PGresult* r, int row, int column) { return PQgetisnull(r, row, column) != 0; }

namespace {

std::string TrimmedMessage(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.empty() ? "no message" : s;
}

// SQLSTATEs that mean "the server is gone or going": the operation may be retried elsewhere.
bool IsUnavailableState(std::string_view state) {
  return state.substr(0, 2) == "08" || state == "57P01" || state == "57P02" || state == "57P03" ||
         state == "53300" || state == "40003";
}

// SQLSTATEs after which the transaction should simply run again.
bool IsAbortedState(std::string_view state) {
  return state == "40P01" || state == "40001" || state == "55P03";
}

// Server notices: NOTICE and below ("relation already exists, skipping") are expected and
// dropped; a WARNING goes to stderr, where the operator sees it.
void OnNotice(void*, const PGresult* r) {
  const char* severity = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (severity != nullptr && std::strcmp(severity, "WARNING") == 0) {
    std::fprintf(stderr, "kefu: postgresql: %s", PQresultErrorMessage(r));
  }
}

}  // namespace

Status StatusFromResult(PGconn* conn, const PGresult* r) {
  if (r == nullptr) return Status::Unavailable("postgresql: " + TrimmedMessage(PQerrorMessage(conn)));
  switch (PQresultStatus(r)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_PIPELINE_SYNC:
      return Status::OK();
    case PGRES_PIPELINE_ABORTED:
      return Status::Aborted("postgresql: skipped after an earlier error in the pipeline");
    default:
      break;
  }
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  std::string message = "postgresql: " + TrimmedMessage(primary ? primary : PQresultErrorMessage(r));
  if (state == nullptr || PQstatus(conn) == CONNECTION_BAD) {
    return Status::Unavailable(message + (PQstatus(conn) == CONNECTION_BAD ? " (connection lost)" : ""));
  }
  message += std::string(" (SQLSTATE ") + state + ")";
  if (IsUnavailableState(state)) return Status::Unavailable(message);
  if (IsAbortedState(state)) return Status::Aborted(message);
  return Status::Internal(message);
}

bool IsConnectionLost(const Status& s) { return s.code() == Status::Code::kUnavailable; }

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& uri,
                                                            int connect_timeout_seconds,
                                                            const std::string& session_sql,
                                                            const std::string& application_name) {
  // Defaults first, the URI last: with expand_dbname, settings after it would override the
  // URI's own, settings before it are overridden by it.
  const std::string timeout = std::to_string(connect_timeout_seconds);
  const char* keys[] = {"connect_timeout",  "keepalives",
                        "keepalives_idle",  "keepalives_interval",
                        "keepalives_count", "tcp_user_timeout",
                        "application_name", "client_encoding",
                        "dbname",           nullptr};
  const char* values[] = {timeout.c_str(),          "1",    "10",        "5",    "3", "10000",
                          application_name.c_str(), "UTF8", uri.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Status::Unavailable("postgresql: out of memory connecting");
  std::unique_ptr<PgConnection> c(new PgConnection(conn));
  PQsetNoticeReceiver(conn, OnNotice, nullptr);
  if (PQstatus(conn) != CONNECTION_OK) {
    return Status::Unavailable("postgresql: cannot connect: " + TrimmedMessage(PQerrorMessage(conn)));
  }
  if (!session_sql.empty()) KEFU_RETURN_IF_ERROR(c->ExecSimple(session_sql));
  return c;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::ok() const { return !broken_ && PQstatus(conn_) == CONNECTION_OK; }

bool PgConnection::Poll() {
  if (!ok()) return false;
  // Something readable on an idle connection is a notice, or the server's goodbye followed by
  // EOF; libpq sees the EOF only on the read after the message, hence the loop.
  for (int i = 0; i < 4 && ok(); ++i) {
    pollfd p{PQsocket(conn_), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    if (PQconsumeInput(conn_) == 0) broken_ = true;
    while (PGnotify* n = PQnotifies(conn_)) PQfreemem(n);
  }
  return ok();
}

bool PgConnection::in_transaction() const {
  const PGTransactionStatusType t = PQtransactionStatus(conn_);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

Status PgConnection::Fail(Status s) {
  if (IsConnectionLost(s) || PQstatus(conn_) == CONNECTION_BAD) broken_ = true;
  return s;
}

Status PgConnection::ExecSimple(const std::string& sql) {
  if (!ok()) return Status::Unavailable("postgresql: connection lost");
  ++round_trips_;
  PgResultPtr r(PQexec(conn_, sql.c_str()));
  return Fail(StatusFromResult(conn_, r.get()));
}

Result<PgResultPtr> PgConnection::Exec(const PgCommand& command) {
  Result<std::vector<PgResultPtr>> results = ExecPipeline(std::span<const PgCommand>(&command, 1));
  if (!results.ok()) return results.status();
  return std::move(results.value()[0]);
}

Result<std::vector<PgResultPtr>> PgConnection::ExecPipeline(std::span<const PgCommand> commands,
                                                            size_t best_effort_tail) {
  const size_t required = commands.size() - std::min(best_effort_tail, commands.size());
  std::vector<PgResultPtr> all;
  all.reserve(commands.size());
  for (size_t start = 0; start < commands.size(); start += kMaxPipeline) {
    const size_t n = std::min(kMaxPipeline, commands.size() - start);
    const size_t required_here = required > start ? std::min(required - start, n) : 0;
    Result<std::vector<PgResultPtr>> part = RunPipeline(commands.subspan(start, n), required_here);
    if (!part.ok()) return part.status();
    for (PgResultPtr& r : part.value()) all.push_back(std::move(r));
  }
  return all;
}

Status PgConnection::Send(const PgCommand& command, std::vector<const char*>* ops) {
  const PgStatement& st = command.statement();
  const int n = command.size();
  std::vector<const char*> values(n);
  std::vector<int> lengths(n), formats(n, 1);
  for (int i = 0; i < n; ++i) {
    values[i] = command.values()[i].data();
    lengths[i] = static_cast<int>(command.values()[i].size());
  }
  int sent = 0;
  if (st.name[0] == '\0') {
    sent = PQsendQueryParams(conn_, st.sql, n, nullptr, values.data(), lengths.data(), formats.data(),
                             /*resultFormat=*/1);
  } else {
    const bool pending = std::find_if(ops->begin(), ops->end(), [&](const char* p) {
                           return p != nullptr && std::strcmp(p, st.name) == 0;
                         }) != ops->end();
    if (!prepared_.count(st.name) && !pending) {
      if (PQsendPrepare(conn_, st.name, st.sql, n, nullptr) == 0) {
        return Fail(Status::Unavailable("postgresql: " + TrimmedMessage(PQerrorMessage(conn_))));
      }
      ops->push_back(st.name);
    }
    sent = PQsendQueryPrepared(conn_, st.name, n, values.data(), lengths.data(), formats.data(),
                               /*resultFormat=*/1);
  }
  ops->push_back(nullptr);  // marks a query whose result is the caller's
  if (sent == 0) return Fail(Status::Unavailable("postgresql: " + TrimmedMessage(PQerrorMessage(conn_))));
  return Status::OK();
}

Result<std::vector<PgResultPtr>> PgConnection::RunPipeline(std::span<const PgCommand> commands,
                                                           size_t required) {
  if (!ok()) return Status::Unavailable("postgresql: connection lost");
  if (PQenterPipelineMode(conn_) != 1) {
    return Fail(Status::Unavailable("postgresql: " + TrimmedMessage(PQerrorMessage(conn_))));
  }
  ++round_trips_;
  // `ops` lists what was sent, in order: a statement name for a PREPARE, nullptr for a query.
  std::vector<const char*> ops;
  Status status;
  for (const PgCommand& c : commands) {
    status = Send(c, &ops);
    if (!status.ok()) return status;  // the connection is broken: nothing more to read
  }
  if (PQpipelineSync(conn_) != 1) {
    return Fail(Status::Unavailable("postgresql: " + TrimmedMessage(PQerrorMessage(conn_))));
  }
  std::vector<PgResultPtr> results;
  results.reserve(commands.size());
  // Each operation yields one result then nullptr; the sync yields PGRES_PIPELINE_SYNC.
  for (const char* op : ops) {
    const bool best_effort = results.size() >= required;  // this query (or its PREPARE) may fail
    PgResultPtr r(PQgetResult(conn_));
    Status s = StatusFromResult(conn_, r.get());
    if (r != nullptr) {
      while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
    }
    if (PQstatus(conn_) == CONNECTION_BAD) {
      broken_ = true;
      if (!best_effort || !status.ok())
        return status.ok() ? Status::Unavailable("postgresql: connection lost") : status;
      results.resize(commands.size());  // what was required succeeded; the rest is lost
      return results;
    }
    if (status.ok() && !s.ok() && !best_effort) status = s;
    if (op != nullptr) {
      if (s.ok()) prepared_.insert(op);
    } else {
      if (!s.ok()) r.reset();
      results.push_back(std::move(r));
    }
  }
  PgResultPtr sync(PQgetResult(conn_));
  if (sync == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC ||
      PQexitPipelineMode(conn_) != 1) {
    broken_ = true;
    if (status.ok() && required == commands.size()) {
      return Status::Unavailable("postgresql: pipeline out of step: " +
                                 TrimmedMessage(PQerrorMessage(conn_)));
    }
  }
  if (!status.ok()) return Fail(status);
  return results;
}

}  // namespace kefu
