// The engine's durability under kill -9: a child process (engine_crash_writer) posts customer
// messages from 4 threads and reports each acknowledgement; the test kills it with SIGKILL at a
// random moment, 20 times, each time reading the data directory and checking that every
// acknowledged message is there, in order, exactly once. At the end the engine reopens on the
// same directory and finds every conversation.
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "engine/engine.h"
#include "engine/test_util.h"

namespace kefu {
namespace {

std::string WriterPath() {
  if (const char* env = std::getenv("KEFU_ENGINE_CRASH_WRITER"); env != nullptr && *env != '\0') return env;
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string path(self, n > 0 ? static_cast<size_t>(n) : 0);
  return path.substr(0, path.rfind('/')) + "/engine_crash_writer";
}

struct Run {
  std::map<int, std::string> conversation;  // thread -> conversation id
  std::map<int, int> last_ack;              // thread -> highest acknowledged k
};

// Starts the writer, lets it run for `millis`, kills it with SIGKILL, returns what it acknowledged.
Run KillWriterAfter(const std::string& data, const std::string& kb, int run, int millis) {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    const std::string writer = WriterPath(), run_text = std::to_string(run);
    execl(writer.c_str(), writer.c_str(), data.c_str(), kb.c_str(), run_text.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(pipe_fds[1]);
  // The clock starts at the writer's first line (the engine is open): a sanitized build on a
  // loaded machine can take longer to open than any fixed delay.
  std::string output;
  char buf[65536];
  pollfd ready = {pipe_fds[0], POLLIN, 0};
  ssize_t n = poll(&ready, 1, 60000) == 1 ? read(pipe_fds[0], buf, sizeof(buf)) : 0;
  if (n > 0) output.append(buf, static_cast<size_t>(n));
  std::this_thread::sleep_for(std::chrono::milliseconds(millis));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  // Everything else the child wrote before dying is in the pipe.
  while ((n = read(pipe_fds[0], buf, sizeof(buf))) > 0) output.append(buf, static_cast<size_t>(n));
  close(pipe_fds[0]);
  Run r;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string kind;
    int t = 0;
    words >> kind >> t;
    if (kind == "conv") {
      words >> r.conversation[t];
    } else if (kind == "ack") {
      int k = -1;
      words >> k;
      if (!words.fail()) r.last_ack[t] = std::max(r.last_ack.count(t) ? r.last_ack[t] : -1, k);
    }
  }
  return r;
}

TEST_CASE("every acknowledged message survives kill -9, in order, exactly once (20 kills)") {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  const std::string kb = std::string(KEFU_SOURCE_DIR) + "/kb/samples/shop-en.json";
  std::mt19937 rng(42);
  std::vector<Run> runs;
  size_t acknowledged = 0;
  for (int run = 0; run < 20; ++run) {
    Run r = KillWriterAfter(data, kb, run, 150 + static_cast<int>(rng() % 400));
    auto store = OpenLevelDbStore(data);
    REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    for (const auto& [t, conversation] : r.conversation) {
      const int last = r.last_ack.count(t) ? r.last_ack.at(t) : -1;
      acknowledged += static_cast<size_t>(last + 1);
      std::vector<int> seen;
      std::set<std::string> texts;
      Status s = (*store)->ScanPrefix("m/" + conversation + "/", [&](std::string_view, std::string_view value) {
        auto m = DecodeMessage(value);
        REQUIRE(m.ok());
        if (m->kind != MessageKind::kCustomer) return true;
        CHECK_MESSAGE(texts.insert(m->text).second, "duplicated: " << m->text);
        std::string prefix = "r";  // built by appending: GCC 12 warns falsely (-Wrestrict) on "r" + ...
        prefix += std::to_string(run);
        prefix += "-t";
        prefix += std::to_string(t);
        prefix += "-";
        REQUIRE(m->text.rfind(prefix, 0) == 0);
        seen.push_back(std::stoi(m->text.substr(prefix.size())));
        return true;
      });
      REQUIRE(s.ok());
      // In order and without gaps: 0, 1, 2, ... and at least up to the last acknowledgement.
      for (size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == static_cast<int>(i));
      CHECK_MESSAGE(static_cast<int>(seen.size()) >= last + 1,
                    "run " << run << " thread " << t << ": acknowledged " << last + 1 << ", found " << seen.size());
    }
    runs.push_back(std::move(r));
  }
  MESSAGE(acknowledged << " acknowledged messages over 20 kills, all found");
  CHECK(acknowledged > 0);
  // The engine reopens on what the kills left and knows every conversation.
  KefuConfig config;
  DeskConfig desk;
  desk.id = "crash";
  desk.ticket_prefix = "C";
  desk.knowledge_bases = {kb};
  config.desks.push_back(desk);
  auto store = OpenLevelDbStore(data);
  REQUIRE(store.ok());
  ManualClock clock;
  EngineOptions options;
  options.password_cost = PasswordCost::kMinimal;
  auto engine = Engine::Open(config, std::move(*store), &clock, options);
  REQUIRE_MESSAGE(engine.ok(), engine.status().ToString());
  for (const Run& r : runs) {
    for (const auto& [t, conversation] : r.conversation) CHECK((*engine)->GetConversation(conversation).ok());
  }
}

}  // namespace
}  // namespace kefu
