// The conversation-store scaling benchmark of `tools/bench scaling`: grows one LevelDB data
// directory through the engine to each count of conversations and, at each, measures
//   - the durable message append rate (PostCustomerMessage, bot answering, synced group commit)
//     from --threads threads posting to random existing conversations;
//   - restart time: Engine::Open on the directory, and the resident memory after it, in a process
//     of its own (this binary again, with --measure-restart) so that nothing of the fill counts;
//   - disk use of the directory.
// Usage:
//   store_bench --kb kb/samples/hr-en.json --questions kb/samples/hr-en.questions.jsonl
//               [--data DIR] [--counts 1000,10000,100000] [--messages 2] [--threads 16]
//               [--sample 4000] [--json]
// The fill between counts writes without sync (it is set-up, not measured); every measurement
// runs on a store reopened with sync on, as kefu serve runs.
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "engine/engine.h"
#include "kb/labelled.h"

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

size_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

struct Row {
  size_t conversations = 0;
  uint64_t messages_in_store = 0;
  double fill_seconds = 0;
  double append_per_second = 0;
  double restart_seconds = 0;
  size_t rss_after_restart = 0;
  uint64_t disk_bytes = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kefu store scaling benchmark: append rate, restart time and disk use by conversations"};
  std::string kb_path, questions_path, data_dir = "/tmp/kefu-store-bench";
  std::vector<size_t> counts = {1000, 10000, 100000};
  int messages = 2, threads = 16;
  size_t sample = 4000;
  bool json = false, measure_restart = false;
  app.add_flag("--measure-restart", measure_restart, "Open the engine on --data once, print seconds and RSS, exit");
  app.add_option("--kb", kb_path, "Knowledge base")->required();
  app.add_option("--questions", questions_path, "Questions to send (JSON Lines)")->required();
  app.add_option("--data", data_dir, "Scratch data directory (wiped)");
  app.add_option("--counts", counts, "Conversation counts, ascending")->delimiter(',');
  app.add_option("--messages", messages, "Customer messages per conversation in the fill (default 2)");
  app.add_option("--threads", threads, "Threads posting during the append measurement (default 16)");
  app.add_option("--sample", sample, "Messages posted for the append measurement (default 4000)");
  app.add_flag("--json", json, "JSON output");
  CLI11_PARSE(app, argc, argv);

  auto questions = kefu::LoadLabelledQuestions(questions_path);
  if (!questions.ok()) {
    std::fprintf(stderr, "%s\n", questions.status().ToString().c_str());
    return 1;
  }
  kefu::KefuConfig config;
  kefu::DeskConfig desk;
  desk.id = "bench";
  desk.ticket_prefix = "B";
  desk.knowledge_bases = {kb_path};
  desk.settings.max_queue = 1 << 30;
  config.desks.push_back(desk);
  kefu::SystemClock clock;
  kefu::EngineOptions options;
  options.max_conversations_per_customer_minute = 1 << 30;
  options.max_messages_per_conversation = UINT64_MAX;

  auto open = [&](bool sync) -> std::unique_ptr<kefu::Engine> {
    kefu::StoreOptions store_options;
    store_options.sync = sync;
    auto store = kefu::OpenLevelDbStore(data_dir, store_options);
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
      std::exit(1);
    }
    auto engine = kefu::Engine::Open(config, std::move(*store), &clock, options);
    if (!engine.ok()) {
      std::fprintf(stderr, "%s\n", engine.status().ToString().c_str());
      std::exit(1);
    }
    return std::move(*engine);
  };
  if (measure_restart) {
    const auto start = Clock::now();
    auto engine = open(/*sync=*/true);
    std::printf("%.6f %zu\n", SecondsSince(start), ResidentBytes());
    return 0;
  }
  // Runs `total` calls of `fn(i)` spread over `n` threads.
  auto parallel = [](int n, size_t total, const std::function<void(size_t)>& fn) {
    std::atomic<size_t> next{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < n; ++t) {
      workers.emplace_back([&]() {
        for (size_t i; (i = next.fetch_add(1)) < total;) fn(i);
      });
    }
    for (auto& w : workers) w.join();
  };

  std::filesystem::remove_all(data_dir);
  std::vector<std::string> ids;
  std::mutex ids_mu;
  std::atomic<uint64_t> stored_messages{0};
  std::vector<Row> rows;
  for (size_t count : counts) {
    Row row;
    row.conversations = count;
    {
      auto engine = open(/*sync=*/false);
      const size_t have = ids.size();
      const auto start = Clock::now();
      parallel(2, count > have ? count - have : 0, [&](size_t i) {
        auto started = engine->StartConversation({"bench"});
        if (!started.ok()) return;
        for (int m = 0; m < messages; ++m) {
          kefu::CustomerMessageRequest r;
          r.conversation_id = started->conversation_id;
          r.text = (*questions)[((have + i) * 7 + m) % questions->size()].text;
          if (engine->PostCustomerMessage(r).ok()) stored_messages.fetch_add(1);
        }
        std::lock_guard<std::mutex> lock(ids_mu);
        ids.push_back(started->conversation_id);
      });
      row.fill_seconds = SecondsSince(start);
    }
    {
      // The restart in a process of its own: nothing of this one's fill counts in its memory.
      const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
      const std::string cmd = "'" + self + "' --measure-restart --kb '" + kb_path + "' --questions '" + questions_path +
                              "' --data '" + data_dir + "'";
      FILE* child = popen(cmd.c_str(), "r");
      if (child == nullptr || std::fscanf(child, "%lf %zu", &row.restart_seconds, &row.rss_after_restart) != 2) {
        std::fprintf(stderr, "store_bench: the restart measurement failed\n");
        return 1;
      }
      pclose(child);
      auto engine = open(/*sync=*/true);
      std::atomic<uint64_t> ok{0};
      const auto append_start = Clock::now();
      parallel(threads, sample, [&](size_t i) {
        kefu::CustomerMessageRequest r;
        r.conversation_id = ids[(i * 2654435761u) % ids.size()];
        r.text = (*questions)[i % questions->size()].text;
        if (engine->PostCustomerMessage(r).ok()) ok.fetch_add(1);
      });
      row.append_per_second = static_cast<double>(ok.load()) / SecondsSince(append_start);
      stored_messages += ok.load();
    }
    row.messages_in_store = stored_messages.load();
    row.disk_bytes = DirectoryBytes(data_dir);
    rows.push_back(row);
    if (!json) {
      std::printf("%9zu conversations (%llu customer messages): append %7.0f durable messages/s (%d threads), "
                  "restart %.3f s (RSS after %.0f MB), disk %.1f MB (fill %.1f s)\n",
                  row.conversations, static_cast<unsigned long long>(row.messages_in_store), row.append_per_second,
                  threads, row.restart_seconds, static_cast<double>(row.rss_after_restart) / 1e6,
                  static_cast<double>(row.disk_bytes) / 1e6, row.fill_seconds);
      std::fflush(stdout);
    }
  }
  std::filesystem::remove_all(data_dir);
  if (json) {
    std::printf("[");
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      std::printf("%s{\"conversations\":%zu,\"customer_messages\":%llu,\"append_per_second\":%.0f,\"threads\":%d,"
                  "\"restart_seconds\":%.3f,\"rss_after_restart_bytes\":%zu,\"disk_bytes\":%llu,\"fill_seconds\":%.1f}",
                  i ? "," : "", r.conversations, static_cast<unsigned long long>(r.messages_in_store),
                  r.append_per_second, threads, r.restart_seconds, r.rss_after_restart,
                  static_cast<unsigned long long>(r.disk_bytes), r.fill_seconds);
    }
    std::printf("]\n");
  }
  return 0;
}
