// A throwaway PostgreSQL 15 cluster for tests: initdb into a new temporary directory, a server on
// a free loopback port with trust authentication, databases made on demand, and everything
// stopped and removed when the cluster object dies, or when the test process dies in any way
// (a watchdog process, started first, cleans up when the test's end of a pipe closes: after a
// failed assertion, an abort, a timeout's SIGKILL).
//
// PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the `postgres` user
// (created by Debian's postgresql-15 package) through runuser, in a directory owned by it;
// otherwise as the current user. Binaries come from /usr/lib/postgresql/15/bin (tools/setup
// installs postgresql-15).
//
// Not thread-safe: set up and restart from one thread (tests may use the databases from any).
#ifndef KEFU_TESTS_PG_PG_CLUSTER_H_
#define KEFU_TESTS_PG_PG_CLUSTER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kefu {

struct PgClusterOptions {
  // fsync and synchronous_commit on. Default false: tests of behaviour do not need the disk
  // flushed (a clean pg_ctl stop keeps everything anyway) and run several times faster on a
  // shared machine. Benchmarks turn it on to measure what production pays.
  bool durable = false;
  // Extra postgresql.conf lines ("name = value").
  std::vector<std::string> settings;
  std::string bin_dir = "/usr/lib/postgresql/15/bin";
};

class PgCluster {
 public:
  // Creates and starts a cluster. Unavailable (with the server's log) when it cannot.
  static Result<std::unique_ptr<PgCluster>> Start(const PgClusterOptions& options = {});
  // Stops the server at once and removes its directory.
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // A new empty database named `<hint>_<n>`; returns its URI.
  Result<std::string> CreateDatabase(std::string_view hint = "t");
  // The URI of `database` as the superuser postgres, over TCP on the cluster's port.
  std::string Uri(std::string_view database) const;

  // Stops the server (pg_ctl stop -m fast: clients are disconnected, nothing committed is lost),
  // and starts it again on the same port and directory.
  Status Stop();
  Status Restart();

  // Runs `sql` on `database` and returns the first column of the first row as text ("" when
  // there is none). Internal with the server's message on failure.
  Result<std::string> Query(std::string_view database, const std::string& sql);

  int port() const { return port_; }
  const std::string& directory() const { return dir_; }

 private:
  PgCluster(PgClusterOptions options) : options_(std::move(options)) {}
  Status Init();
  Status PgCtl(const std::vector<std::string>& args);
  // Runs `argv` (as postgres when root), output appended to `log`; Internal with the log's tail
  // when it fails.
  Status Run(std::vector<std::string> argv, const std::string& log);
  void StartWatchdog();

  const PgClusterOptions options_;
  std::string dir_;  // the temporary directory; the cluster is in dir_/data
  int port_ = 0;
  int watchdog_fd_ = -1;  // our end of the watchdog's pipe
  int next_database_ = 0;
  bool running_ = false;
};

// The cluster shared by a test executable's cases: started on first use, removed at exit.
// Aborts the test run with the reason when no cluster can be started.
PgCluster& SharedPgCluster();

}  // namespace kefu

#endif  // KEFU_TESTS_PG_PG_CLUSTER_H_
