// Child process of engine_crash_test: opens the engine on a LevelDB data directory and has 4
// threads post customer messages as fast as they can. It prints "conv T ID" when thread T's
// conversation exists, and "ack T K" only after message K of thread T was acknowledged (durable).
// Usage: engine_crash_writer DATA_DIR KB_FILE RUN
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: engine_crash_writer DATA_DIR KB_FILE RUN\n");
    return 2;
  }
  const std::string run = argv[3];
  kefu::KefuConfig config;
  kefu::DeskConfig desk;
  desk.id = "crash";
  desk.ticket_prefix = "C";
  desk.knowledge_bases = {argv[2]};
  desk.settings.max_queue = 1000000;
  config.desks.push_back(desk);
  auto store = kefu::OpenLevelDbStore(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  kefu::SystemClock clock;
  kefu::EngineOptions options;
  options.password_cost = kefu::PasswordCost::kMinimal;
  options.max_conversations_per_customer_minute = 1 << 30;
  auto engine = kefu::Engine::Open(config, std::move(*store), &clock, options);
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", engine.status().ToString().c_str());
    return 1;
  }
  std::mutex out;
  auto say = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(out);
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
  };
  const char* questions[] = {"where is my order", "how do I return an item", "talk to a human", "what is this"};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t]() {
      auto started = (*engine)->StartConversation({"crash"});
      if (!started.ok()) return;
      say("conv " + std::to_string(t) + " " + started->conversation_id + "\n");
      for (int k = 0;; ++k) {
        kefu::CustomerMessageRequest r;
        r.conversation_id = started->conversation_id;
        r.text = "r" + run + "-t" + std::to_string(t) + "-" + std::to_string(k) + " " + questions[k % 4];
        r.client_msg_id = "r" + run + "-t" + std::to_string(t) + "-" + std::to_string(k);
        if (!(*engine)->PostCustomerMessage(r).ok()) return;
        say("ack " + std::to_string(t) + " " + std::to_string(k) + "\n");
      }
    });
  }
  for (auto& th : threads) th.join();
  return 0;
}
