#include "tests/pg/pg_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kefu {

namespace {

bool IsRoot() { return ::geteuid() == 0; }

// A port nothing listens on right now (the kernel's choice for an ephemeral bind).
int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string Tail(const std::string& path, size_t bytes = 2000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

}  // namespace

Result<std::unique_ptr<PgCluster>> PgCluster::Start(const PgClusterOptions& options) {
  std::unique_ptr<PgCluster> c(new PgCluster(options));
  Status s = c->Init();
  if (!s.ok()) return s;
  return c;
}

Status PgCluster::Init() {
  if (IsRoot() && ::getpwnam("postgres") == nullptr) {
    return Status::Unavailable("no `postgres` user: install postgresql-15 (tools/setup)");
  }
  if (!std::filesystem::exists(options_.bin_dir + "/initdb")) {
    return Status::Unavailable(options_.bin_dir + "/initdb not found: install postgresql-15 (tools/setup)");
  }
  char tmpl[] = "/tmp/kefu-pg-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return Status::IOError("mkdtemp failed");
  dir_ = tmpl;
  StartWatchdog();
  if (IsRoot()) {
    const passwd* pw = ::getpwnam("postgres");
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) return Status::IOError("chown " + dir_);
  }
  KEFU_RETURN_IF_ERROR(Run({options_.bin_dir + "/initdb", "-D", dir_ + "/data", "-A", "trust", "-U",
                            "postgres", "-E", "UTF8", "--no-sync", "--no-instructions"},
                           dir_ + "/initdb.log"));
  port_ = FreeLoopbackPort();
  std::ofstream conf(dir_ + "/data/postgresql.conf", std::ios::app);
  conf << "\n# kefu test cluster\nport = " << port_ << "\nlisten_addresses = '127.0.0.1'\n"
       << "unix_socket_directories = '" << dir_ << "'\nmax_connections = 200\n";
  if (!options_.durable) conf << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n";
  for (const std::string& line : options_.settings) conf << line << "\n";
  conf.close();
  return Restart();
}

// A child that outlives nothing: it waits for EOF on a pipe whose only writer is this process,
// then stops the server and removes the directory. Runs in its own session, so that a signal to
// the test's process group does not kill it before it has cleaned up.
void PgCluster::StartWatchdog() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return;
  std::string script = "cat >/dev/null; ";
  if (IsRoot()) script += "runuser -u postgres -- ";
  script += options_.bin_dir + "/pg_ctl -D '" + dir_ + "/data' stop -m immediate >/dev/null 2>&1; rm -rf '" +
            dir_ + "'";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    ::dup2(fds[0], 0);
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[0]);
  watchdog_fd_ = fds[1];
}

PgCluster::~PgCluster() {
  if (running_) (void)PgCtl({"stop", "-m", "immediate"});
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (watchdog_fd_ >= 0) ::close(watchdog_fd_);  // the watchdog finds nothing left to do
}

Status PgCluster::Run(std::vector<std::string> argv, const std::string& log) {
  if (IsRoot()) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0666);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Unavailable(argv[IsRoot() ? 4 : 0] + " failed: " + Tail(log));
  }
  return Status::OK();
}

Status PgCluster::PgCtl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {options_.bin_dir + "/pg_ctl", "-D", dir_ + "/data", "-l",
                                   dir_ + "/server.log",         "-w", "-t",           "60"};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(std::move(argv), dir_ + "/pg_ctl.log");
}

Status PgCluster::Stop() {
  KEFU_RETURN_IF_ERROR(PgCtl({"stop", "-m", "fast"}));
  running_ = false;
  return Status::OK();
}

Status PgCluster::Restart() {
  Status s = PgCtl({"start"});
  if (!s.ok()) return Status::Unavailable(s.message() + "\nserver log: " + Tail(dir_ + "/server.log"));
  running_ = true;
  return Status::OK();
}

std::string PgCluster::Uri(std::string_view database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + std::string(database);
}

Result<std::string> PgCluster::Query(std::string_view database, const std::string& sql) {
  PGconn* conn = PQconnectdb(Uri(database).c_str());
  std::string out;
  Status status;
  if (PQstatus(conn) != CONNECTION_OK) {
    status = Status::Unavailable(PQerrorMessage(conn));
  } else {
    PGresult* r = PQexec(conn, sql.c_str());
    const ExecStatusType t = PQresultStatus(r);
    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
      status = Status::Internal(PQresultErrorMessage(r));
    } else if (PQntuples(r) > 0 && PQnfields(r) > 0) {
      out = PQgetvalue(r, 0, 0);
    }
    PQclear(r);
  }
  PQfinish(conn);
  if (!status.ok()) return status;
  return out;
}

Result<std::string> PgCluster::CreateDatabase(std::string_view hint) {
  const std::string name = std::string(hint) + "_" + std::to_string(++next_database_);
  Result<std::string> r = Query("postgres", "CREATE DATABASE \"" + name + "\"");
  if (!r.ok()) return r.status();
  return Uri(name);
}

PgCluster& SharedPgCluster() {
  static std::unique_ptr<PgCluster> cluster = [] {
    Result<std::unique_ptr<PgCluster>> c = PgCluster::Start();
    if (!c.ok()) {
      std::fprintf(stderr, "cannot start a PostgreSQL test cluster: %s\n", c.status().ToString().c_str());
      std::abort();
    }
    return std::move(c.value());
  }();
  return *cluster;
}

}  // namespace kefu
