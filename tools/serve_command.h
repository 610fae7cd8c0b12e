// `kefu serve`: the HTTP server over the engine, with the demo desks when run without flags.
#ifndef KEFU_TOOLS_SERVE_COMMAND_H_
#define KEFU_TOOLS_SERVE_COMMAND_H_

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/desk_config.h"
#include "engine/store.h"

namespace CLI {
class App;
}  // namespace CLI

namespace kefu {

struct ServeArgs {
  std::string config_path;                // "": the demo desks built into the binary
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free one (printed)
  std::string data_dir = "./data";        // the store (data/store) and the admin token
  bool no_ip_limits = false;              // no per-IP budgets (load tests from one address)
  int threads = 0;                        // worker threads; 0 the default
  bool quiet = false;                     // no per-request log lines
  double kb_max_accuracy_drop = 0.02;     // a KB publish that lowers accuracy more is refused
  int cache_mb = 64;                      // the engine's working set of decoded records, MiB
  std::vector<std::string> trusted_proxies;  // CIDRs, with the config's "trusted_proxies"
  std::string store;  // --store or KEFU_STORE: a postgresql:// URI; "" the config's "store", else LevelDB
};

// Adds the `serve` subcommand and its flags to `app`; parsing fills `args`. Every flag has a row
// in docs/config.md (tests/config_reference_test.cc checks both ways): adding one means adding it.
CLI::App* AddServeCommand(CLI::App* app, ServeArgs* args);

// The config at `path`, or when "" the demo desks built into the binary, written to
// <data_dir>/demo/ first (the engine reads KBs from files). Errors name the file and field.
Result<KefuConfig> LoadServeConfig(const std::string& path, const std::string& data_dir);

// Opens the store of a data directory (creating it). Unavailable when another kefu holds it.
Result<std::unique_ptr<Store>> OpenDataDir(const std::string& data_dir);

// Opens where the data lives: the PostgreSQL database `location` names (postgresql://...), shared
// with any number of kefu processes, or when `location` is "" the LevelDB store of `data_dir`.
// InvalidArgument for a location that is neither; the stores' own errors otherwise.
Result<std::unique_ptr<Store>> OpenServeStore(const std::string& location, const std::string& data_dir);

// Serves until SIGTERM or SIGINT, then shuts down gracefully. Returns the exit code: 0 after a
// clean shutdown, 1 when it cannot start (bad config, data directory in use, address taken).
int RunServe(const ServeArgs& args);

}  // namespace kefu

#endif  // KEFU_TOOLS_SERVE_COMMAND_H_
