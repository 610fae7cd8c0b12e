#include "tools/knowledge_commands.h"

#include <filesystem>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "base/json.h"
#include "engine/engine.h"
#include "knowledge/knowledge_loop.h"
#include "kb/kb_edit.h"
#include "tools/serve_command.h"

namespace kefu {
namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "kefu: %s\n", s.message().c_str());
  return 1;
}

// "30m", "12h", "7d" -> microseconds; -1 when malformed.
int64_t ParseDuration(const std::string& text) {
  if (text.size() < 2) return -1;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (ec != std::errc() || end != text.data() + text.size() - 1 || n < 0 || n > 100000) return -1;
  switch (text.back()) {
    case 'm': return n * kMicrosPerMinute;
    case 'h': return n * kMicrosPerHour;
    case 'd': return n * 24 * kMicrosPerHour;
  }
  return -1;
}

std::string Date(int64_t micros) {
  const std::time_t t = static_cast<std::time_t>(micros / kMicrosPerSecond);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", std::gmtime(&t));
  return buf;
}

}  // namespace

int RunKbGaps(const GapsArgs& args) {
  const int64_t window = ParseDuration(args.since);
  if (window < 0) {
    std::fprintf(stderr, "kefu: --since: expected a duration such as 30m, 12h or 7d, got '%s'\n", args.since.c_str());
    return 2;
  }
  // A report reads; it never makes a data directory where there was none.
  std::error_code ec;
  if (!std::filesystem::is_directory(std::filesystem::path(args.data_dir) / "store", ec)) {
    std::fprintf(stderr, "kefu: --data %s: not a kefu data directory (no store in it)\n", args.data_dir.c_str());
    return 1;
  }
  auto store = OpenDataDir(args.data_dir);
  if (!store.ok()) {
    return Fail(store.status().WithContext("cannot read the data directory (while kefu serve runs, use GET "
                                           "/v1/admin/desks/" + args.desk + "/gaps)"));
  }
  auto config = LoadServeConfig(args.config_path, args.data_dir);
  if (!config.ok()) return Fail(config.status());
  SystemClock clock;
  EngineOptions options;
  auto engine = Engine::Open(*config, std::move(*store), &clock, options);
  if (!engine.ok()) return Fail(engine.status());
  KnowledgeLoop loop(engine->get(), &clock);
  auto gaps = loop.Gaps(args.desk, clock.NowMicros() - window);
  if (!gaps.ok()) return Fail(gaps.status());
  if (args.json) {
    JsonWriter w;
    w.BeginArray();
    for (const GapReportEntry& g : *gaps) {
      w.BeginObject().Key("examples").BeginArray();
      for (const std::string& e : g.gap.examples) w.String(e);
      w.EndArray().Field("questions", static_cast<uint64_t>(g.gap.questions));
      w.Field("customers", static_cast<uint64_t>(g.gap.customers)).Field("first_seen", g.gap.first_seen / kMicrosPerSecond);
      w.Field("last_seen", g.gap.last_seen / kMicrosPerSecond).Field("nearest_entry", g.gap.nearest_entry).EndObject();
    }
    std::printf("%s\n", w.EndArray().str().c_str());
    return 0;
  }
  if (gaps->empty()) {
    std::printf("no unanswered questions on desk %s in the last %s\n", args.desk.c_str(), args.since.c_str());
    return 0;
  }
  std::printf("Questions the bot could not answer on desk %s in the last %s, most customers first:\n\n",
              args.desk.c_str(), args.since.c_str());
  for (size_t i = 0; i < gaps->size(); ++i) {
    const Gap& g = (*gaps)[i].gap;
    std::printf("%zu. asked by %zu customers (%zu times), %s .. %s; nearest entry: %s\n", i + 1, g.customers,
                g.questions, Date(g.first_seen).c_str(), Date(g.last_seen).c_str(),
                g.nearest_entry.empty() ? "none" : g.nearest_entry.c_str());
    for (const std::string& e : g.examples) std::printf("     \"%s\"\n", e.c_str());
  }
  return 0;
}

int RunKbDiff(const std::string& before, const std::string& after) {
  auto a = LoadKnowledgeBase(before);
  if (!a.ok()) return Fail(a.status());
  auto b = LoadKnowledgeBase(after);
  if (!b.ok()) return Fail(b.status());
  std::fputs(FormatKbDiff(DiffKnowledgeBases(*a, *b)).c_str(), stdout);
  return 0;
}

}  // namespace kefu
