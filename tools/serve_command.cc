#include "tools/serve_command.h"

#include <CLI/CLI.hpp>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "adapters/app_webhook.h"
#include "adapters/http_api.h"
#include "adapters/knowledge_routes.h"
#include "adapters/wecom/wecom_app_channel.h"
#include "adapters/wecom/wecom_channel.h"
#include "engine/engine.h"
#include "engine/pg/pg_store.h"
#include "engine/store.h"
#include "tools/demo_desks.h"

namespace kefu {
namespace {

struct ListenAddress {
  std::string host;
  int port = 0;
};

Result<ListenAddress> ParseListen(const std::string& text) {
  const size_t colon = text.rfind(':');
  ListenAddress a;
  if (colon == std::string::npos || colon == 0) return Status::InvalidArgument("--listen: expected HOST:PORT, got '" + text + "'");
  a.host = text.substr(0, colon);
  const char* begin = text.data() + colon + 1;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(begin, end, a.port);
  if (ec != std::errc() || p != end || a.port < 0 || a.port > 65535) {
    return Status::InvalidArgument("--listen: bad port in '" + text + "'");
  }
  return a;
}

// Runs Engine::RunTimers every second until destroyed.
class TimerThread {
 public:
  explicit TimerThread(Engine* engine) : thread_([this, engine] { Run(engine); }) {}
  ~TimerThread() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void Run(Engine* engine) {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
      lock.unlock();
      Status s = engine->RunTimers();
      if (!s.ok()) std::fprintf(stderr, "kefu: timers: %s\n", s.ToString().c_str());
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// Waits for SIGTERM or SIGINT (blocked in every thread by the constructor, which must run before
// any thread starts) and then stops the server.
class ShutdownOnSignal {
 public:
  ShutdownOnSignal() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a client that hangs up is a failed write, not the end of kefu
  }
  void Watch(HttpApi* api) {
    thread_ = std::thread([this, api] {
      int sig = 0;
      sigwait(&signals_, &sig);
      if (done_) return;
      std::fprintf(stderr, "kefu: %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
      api->Stop();
    });
  }
  // Ends the watcher (before the server it stops is destroyed).
  void Finish() {
    if (!thread_.joinable()) return;
    done_ = true;
    pthread_kill(thread_.native_handle(), SIGTERM);  // ends its sigwait if no signal came
    thread_.join();
  }
  ~ShutdownOnSignal() { Finish(); }

 private:
  sigset_t signals_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};


void PrintWelcome(const ServeArgs& args, const KefuConfig& config, const Engine& engine,
                  const std::string& store_location, const std::string& host, int port, bool admin_from_env) {
  const std::string base = "http://" + host + ":" + std::to_string(port);
  std::printf("kefu is listening on %s\n", base.c_str());
  std::printf("  widget demo page  %s/\n", base.c_str());
  std::printf("  agent console     %s/console\n", base.c_str());
  std::printf("  API               %s/v1  (docs/api.md)\n", base.c_str());
  std::printf("  admin token       %s\n",
              admin_from_env ? "from KEFU_ADMIN_TOKEN" : (args.data_dir + "/admin_token").c_str());
  if (store_location.empty()) {
    std::printf("  data              %s\n", args.data_dir.c_str());
  } else {
    std::printf("  store             %s (shared: any number of kefu processes)\n", RedactPostgresUri(store_location).c_str());
  }
  if (args.config_path.empty()) {
    std::printf("  config            the built-in demo desks (a copy in %s/demo; --config FILE for your own)\n",
                args.data_dir.c_str());
  }
  for (const DeskConfig& d : config.desks) {
    std::printf("  desk %-12s %s\n", d.id.c_str(), d.name.c_str());
    if (!args.config_path.empty()) continue;  // passwords of a real config stay unprinted
    for (const AgentSeed& a : d.agents) {
      std::printf("    demo agent     %s / %s\n", a.username.c_str(), a.password.c_str());
    }
  }
  for (const Engine::DeskInfo& d : engine.Desks()) {
    if (d.source != DeskSource::kAdminApi) continue;
    std::printf("  desk %-12s %s (created through the admin API)\n", d.config.id.c_str(), d.config.name.c_str());
  }
  for (const std::string& id : engine.ShadowedDesks()) {
    std::printf("  desk %-12s the config's definition wins over the one created through the admin API\n", id.c_str());
  }
  std::printf("Stop with Ctrl-C (SIGINT) or SIGTERM.\n");
  std::fflush(stdout);
}

int Fail(const Status& s) {
  std::fprintf(stderr, "kefu serve: %s\n", s.message().c_str());
  return 1;
}

}  // namespace

CLI::App* AddServeCommand(CLI::App* app, ServeArgs* args) {
  CLI::App* serve_cmd = app->add_subcommand("serve", "Serve the HTTP API (docs/api.md); no flags: the demo desks");
  serve_cmd->footer(
      "With no --config, serves the demo desks built into kefu (HR in Chinese and English, a shop) with their\n"
      "demo agents, from a copy written to DATA/demo. Every flag and config key: docs/config.md.\n"
      "The admin token is KEFU_ADMIN_TOKEN, or DATA/admin_token (made at first start).\n\n"
      "Example:\n  kefu serve\n  kefu serve --config kefu.json --listen 0.0.0.0:8080 --data /var/lib/kefu");
  serve_cmd->add_option("--config", args->config_path, "Server configuration (desks, KBs, agents)");
  serve_cmd->add_option("--listen", args->listen, "HOST:PORT to listen on (port 0: any free port)")->capture_default_str();
  serve_cmd->add_option("--data", args->data_dir, "Data directory (store, admin token)")->capture_default_str();
  serve_cmd->add_option("--kb-max-accuracy-drop", args->kb_max_accuracy_drop,
                        "A KB publish that lowers accuracy on labelled questions or the KB's examples by more is refused")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  serve_cmd->add_flag("--no-ip-limits", args->no_ip_limits,
                      "No per-address budgets (requests, logins, new conversations): load tests from one address");
  serve_cmd->add_option("--threads", args->threads, "Most worker threads, one per open connection (default 1024; 64 kept ready)")
      ->check(CLI::Range(2, 4096));
  serve_cmd->add_flag("--quiet", args->quiet, "No per-request log lines on stderr");
  serve_cmd->add_option("--cache-mb", args->cache_mb,
                        "Memory for recently used conversations, agents and tickets, decoded (MiB); the store "
                        "holds everything, this only saves decoding")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  serve_cmd->add_option("--store", args->store,
                        "Where the data lives when several kefu processes serve the same desks: a PostgreSQL URI "
                        "(postgresql://user@host:port/db); also KEFU_STORE and \"store\" in kefu.json. Default: "
                        "LevelDB under --data")
      ->envname("KEFU_STORE");
  serve_cmd->add_option("--trusted-proxy", args->trusted_proxies,
                        "A reverse proxy (CIDR or address, repeatable): from it only, the client is the right-most "
                        "untrusted address of X-Forwarded-For (budgets, logs); also \"trusted_proxies\" in kefu.json")
      ->take_all();
  return serve_cmd;
}

Result<KefuConfig> LoadServeConfig(const std::string& path, const std::string& data_dir) {
  if (!path.empty()) return LoadConfig(path);
  auto demo = WriteDemoDesks(data_dir + "/demo");
  if (!demo.ok()) return demo.status();
  return LoadConfig(*demo);
}

Result<std::unique_ptr<Store>> OpenDataDir(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Status::IOError("cannot create the data directory " + data_dir + ": " + ec.message());
  return OpenLevelDbStore(data_dir + "/store");
}

Result<std::unique_ptr<Store>> OpenServeStore(const std::string& location, const std::string& data_dir) {
  if (location.empty()) return OpenDataDir(data_dir);
  if (!IsPostgresUri(location)) {
    return Status::InvalidArgument("--store: expected a postgresql:// URI (LevelDB needs no --store: it lives under --data)");
  }
  return OpenPostgresStore(location);
}

// The admin token. Several nodes on one database must share it, and a node's --data holds nothing
// that matters: with PostgreSQL it comes from KEFU_ADMIN_TOKEN only.
Result<std::string> ServeAdminToken(const std::string& data_dir, bool shared_store, const char* env_token) {
  const bool from_env = env_token != nullptr && env_token[0] != '\0';
  if (shared_store && !from_env) {
    return Status::InvalidArgument(
        "with a PostgreSQL store, set the admin token in KEFU_ADMIN_TOKEN (the same on every node; at least " +
        std::to_string(kMinAdminTokenChars) + " characters)");
  }
  return LoadOrCreateAdminToken(data_dir, env_token);
}

int RunServe(const ServeArgs& args) {
  ShutdownOnSignal shutdown;  // first: every thread started later inherits the blocked signals

  auto listen = ParseListen(args.listen);
  if (!listen.ok()) return Fail(listen.status());
  auto config = LoadServeConfig(args.config_path, args.data_dir);
  if (!config.ok()) return Fail(config.status());
  const std::string store_location = args.store.empty() ? config->store : args.store;
  const char* env_token = std::getenv("KEFU_ADMIN_TOKEN");
  auto admin_token = ServeAdminToken(args.data_dir, IsPostgresUri(store_location), env_token);
  if (!admin_token.ok()) return Fail(admin_token.status());
  auto store = OpenServeStore(store_location, args.data_dir);
  if (!store.ok()) return Fail(store.status());
  // Time several nodes must agree on (presence, timers) follows the database's clock.
  SystemClock system_clock;
  const Clock* clock = &system_clock;
  if (PostgresStore* pg = AsPostgresStore(store->get())) clock = pg->database_clock();
  EngineOptions engine_options;
  engine_options.cache_bytes = static_cast<size_t>(args.cache_mb) << 20;
  auto engine = Engine::Open(*config, std::move(*store), clock, engine_options);
  if (!engine.ok()) return Fail(engine.status());

  ServerOptions options;
  options.admin_token = *admin_token;
  std::vector<std::string> proxies = config->trusted_proxies;
  proxies.insert(proxies.end(), args.trusted_proxies.begin(), args.trusted_proxies.end());
  auto trusted = TrustedProxies::Parse(proxies);
  if (!trusted.ok()) return Fail(trusted.status().WithContext("--trusted-proxy / \"trusted_proxies\""));
  options.trusted_proxies = std::move(*trusted);
  options.agent_session_seconds = EngineOptions().agent_session_micros / kMicrosPerSecond;
  if (args.no_ip_limits) {
    options.requests_per_ip_per_second = 0;
    options.logins_per_ip_per_minute = 0;
    options.conversations_per_ip_per_minute = 0;
  }
  if (args.threads > 0) {
    options.threads = std::min(args.threads, options.threads);
    options.max_threads = args.threads;
    options.max_streams = std::max(1, args.threads * 7 / 8);
  }
  options.log_requests = !args.quiet;
  auto api = std::make_unique<HttpApi>(engine->get(), options);
  // Channels beyond the HTTP API (docs/channels.md): the callback routes of WeCom customer service
  // and of the WeCom self-built app, and the background senders of their replies and of the app's
  // push webhook.
  WeComChannel wecom(engine->get(), clock);
  wecom.RegisterRoutes(api.get());
  WeComAppChannel wecom_app(engine->get(), clock);
  wecom_app.RegisterRoutes(api.get());
  AppWebhookSender app_webhook(engine->get());
  // The knowledge loop: gap reports, drafts, review and publish (docs/api.md).
  KnowledgeLoopOptions knowledge_options;
  knowledge_options.max_accuracy_drop = args.kb_max_accuracy_drop;
  KnowledgeLoop knowledge(engine->get(), clock, knowledge_options);
  AddKnowledgeRoutes(api.get(), &knowledge, engine->get());
  auto port = api->Bind(listen->host, listen->port);
  if (!port.ok()) return Fail(port.status());
  if (Status s = wecom.Start(); !s.ok()) return Fail(s);
  if (Status s = wecom_app.Start(); !s.ok()) return Fail(s);
  if (Status s = app_webhook.Start(); !s.ok()) return Fail(s);

  PrintWelcome(args, *config, **engine, store_location, listen->host, *port, env_token != nullptr && env_token[0] != '\0');
  shutdown.Watch(api.get());
  Status served;
  {
    TimerThread timers(engine->get());
    served = api->Serve();  // returns once stopped and the requests in flight are done
  }
  shutdown.Finish();
  wecom.Stop();
  wecom_app.Stop();
  app_webhook.Stop();
  api.reset();
  engine->reset();  // drains pending writes, closes the store
  if (!served.ok()) return Fail(served);
  std::fprintf(stderr, "kefu: stopped\n");
  return 0;
}

}  // namespace kefu
