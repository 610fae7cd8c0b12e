// Durable customer messages per second through the engine (bot path: matcher, state, store with
// synced group commit), from 1 and from N threads. Only the questions the bot answers are sent
// (an escalated conversation would leave the bot path). Usage:
//   engine_bench --kb kb/samples/hr-en.json --questions kb/samples/hr-en.questions.jsonl
//                [--data DIR] [--threads 1,4,16,64] [--seconds 5] [--json]
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "engine/engine.h"
#include "kb/labelled.h"

namespace {

struct RunResult {
  int threads = 0;
  uint64_t messages = 0;
  double seconds = 0;
  double group_size = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kefu engine benchmark: durable customer messages per second"};
  std::string kb_path, questions_path, data_dir = "/tmp/kefu-engine-bench";
  std::vector<int> thread_counts = {1, 4, 16, 64};
  double seconds = 5;
  bool json = false, memory = false;
  app.add_flag("--memory", memory, "In-memory store (no disk): the engine's CPU cost alone");
  app.add_option("--kb", kb_path, "Knowledge base")->required();
  app.add_option("--questions", questions_path, "Questions to send (JSON Lines)")->required();
  app.add_option("--data", data_dir, "Scratch data directory (wiped)");
  app.add_option("--threads", thread_counts, "Thread counts")->delimiter(',');
  app.add_option("--seconds", seconds, "Seconds per run");
  app.add_flag("--json", json, "JSON output");
  CLI11_PARSE(app, argc, argv);

  auto questions = kefu::LoadLabelledQuestions(questions_path);
  if (!questions.ok()) {
    std::fprintf(stderr, "%s\n", questions.status().ToString().c_str());
    return 1;
  }
  std::vector<RunResult> results;
  for (int threads : thread_counts) {
    std::filesystem::remove_all(data_dir);
    kefu::KefuConfig config;
    kefu::DeskConfig desk;
    desk.id = "bench";
    desk.ticket_prefix = "B";
    desk.knowledge_bases = {kb_path};
    desk.settings.max_queue = 1000000;
    config.desks.push_back(desk);
    // sync = true: every acknowledged message is on disk.
    auto store = memory ? kefu::OpenMemoryStore() : kefu::OpenLevelDbStore(data_dir);
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
      return 1;
    }
    kefu::SystemClock clock;
    kefu::EngineOptions options;
    options.max_conversations_per_customer_minute = 1 << 30;
    options.max_messages_per_conversation = UINT64_MAX;  // a long run would hit the cap
    auto engine = kefu::Engine::Open(config, std::move(*store), &clock, options);
    if (!engine.ok()) {
      std::fprintf(stderr, "%s\n", engine.status().ToString().c_str());
      return 1;
    }
    // The bot path: only the questions the bot answers from the KB.
    std::vector<std::string> answered;
    for (const kefu::LabelledQuestion& q : *questions) {
      auto knowledge = (*engine)->KnowledgeFor("bench", q.text);
      if (knowledge.ok() && knowledge->matcher->Match(q.text).decision == kefu::MatchDecision::kAnswer) {
        answered.push_back(q.text);
      }
    }
    if (answered.empty()) {
      std::fprintf(stderr, "engine_bench: the bot answers none of the questions\n");
      return 1;
    }
    // Each thread serves its own customers, as HTTP worker threads would.
    std::vector<std::vector<std::string>> conversations(threads);
    for (int t = 0; t < threads; ++t) {
      for (int i = 0; i < 20; ++i) conversations[t].push_back((*engine)->StartConversation({"bench"})->conversation_id);
    }
    const auto before = (*engine)->GetEngineStats();
    std::atomic<uint64_t> sent{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    const auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t]() {
        size_t i = static_cast<size_t>(t) * 7919;
        while (!stop.load(std::memory_order_relaxed)) {
          kefu::CustomerMessageRequest r;
          r.conversation_id = conversations[t][i % conversations[t].size()];
          r.text = answered[i % answered.size()];
          ++i;
          if ((*engine)->PostCustomerMessage(r).ok()) sent.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& w : workers) w.join();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto after = (*engine)->GetEngineStats();
    RunResult r;
    r.threads = threads;
    r.messages = sent.load();
    r.seconds = elapsed;
    r.group_size = after.store_writes == before.store_writes
                       ? 0
                       : static_cast<double>(after.store_batches - before.store_batches) /
                             static_cast<double>(after.store_writes - before.store_writes);
    results.push_back(r);
    if (!json) {
      std::printf("%3d threads: %8.0f durable messages/s (%llu in %.1f s), mean group commit %.1f batches per fsync\n",
                  threads, static_cast<double>(r.messages) / r.seconds, static_cast<unsigned long long>(r.messages),
                  r.seconds, r.group_size);
      std::fflush(stdout);
    }
  }
  std::filesystem::remove_all(data_dir);
  if (json) {
    std::printf("[");
    for (size_t i = 0; i < results.size(); ++i) {
      std::printf("%s{\"threads\":%d,\"messages_per_second\":%.0f,\"group_size\":%.1f}", i ? "," : "",
                  results[i].threads, static_cast<double>(results[i].messages) / results[i].seconds,
                  results[i].group_size);
    }
    std::printf("]\n");
  }
  return 0;
}
