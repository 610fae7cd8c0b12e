// kefu: the command line. One subcommand per verb; each lives in its own file pair.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "tools/db_commands.h"
#include "tools/kb_commands.h"
#include "tools/knowledge_commands.h"
#include "tools/serve_command.h"

int main(int argc, char** argv) {
  CLI::App app{"kefu: a customer-service engine (FAQ bot + human agent queue)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "kefu 0.1.0");

  kefu::ServeArgs serve;
  CLI::App* serve_cmd = app.add_subcommand("serve", "Serve the HTTP API (docs/api.md); no flags: the demo desks");
  serve_cmd->footer(
      "With no --config, serves the demo desks of kefu.demo.json (HR in Chinese and English, a shop)\n"
      "with their demo agents. The admin token is KEFU_ADMIN_TOKEN, or DATA/admin_token (made at first start).\n\n"
      "Example:\n  kefu serve\n  kefu serve --config kefu.json --listen 0.0.0.0:8080 --data /var/lib/kefu");
  serve_cmd->add_option("--config", serve.config_path, "Server configuration (desks, KBs, agents)");
  serve_cmd->add_option("--listen", serve.listen, "HOST:PORT to listen on (port 0: any free port)")->capture_default_str();
  serve_cmd->add_option("--data", serve.data_dir, "Data directory (store, admin token)")->capture_default_str();
  serve_cmd->add_option("--kb-max-accuracy-drop", serve.kb_max_accuracy_drop,
                        "A KB publish that lowers accuracy on labelled questions or the KB's examples by more is refused (default 0.02)")
      ->check(CLI::Range(0.0, 1.0));
  serve_cmd->add_flag("--no-ip-limits", serve.no_ip_limits,
                      "No per-address budgets (requests, logins, new conversations): load tests from one address");
  serve_cmd->add_option("--threads", serve.threads, "Most worker threads, one per open connection (default 1024; 64 kept ready)")
      ->check(CLI::Range(2, 4096));
  serve_cmd->add_flag("--quiet", serve.quiet, "No per-request log lines on stderr");
  serve_cmd->add_option("--cache-mb", serve.cache_mb,
                        "Memory for recently used conversations, agents and tickets, decoded (MiB); the store "
                        "holds everything, this only saves decoding")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();

  kefu::AskArgs ask;
  CLI::App* ask_cmd = app.add_subcommand("ask", "Ask the bot of a knowledge base, from the terminal");
  ask_cmd->footer(
      "Prints one line per question: [answer ID] text, [clarify] choices, [escalate REASON] or small talk.\n"
      "With no question, reads questions from standard input (a prompt on a terminal).\n\n"
      "Example:\n  kefu ask --kb kb/samples/hr-zh.json 我想请年假怎么申请\n"
      "  kefu ask --kb kb/samples/hr-en.json \"how do I apply for annual leave\" \"payslip\"");
  ask_cmd->add_option("--kb", ask.kb_path, "Knowledge base file (.json or .csv)")->required();
  ask_cmd->add_option("question", ask.questions, "Questions, one per argument (quote multi-word questions)");
  ask_cmd->add_flag("--json", ask.json, "One JSON object per line: decision, reason, answer, candidates");
  ask_cmd->add_option("--channel", ask.channel, "Channel whose answer variant to show: web, app, wecom")
      ->check(CLI::IsMember({"web", "app", "wecom"}));

  CLI::App* kb_cmd = app.add_subcommand("kb", "Work with knowledge bases: lint, eval, bench");
  kb_cmd->require_subcommand(1);

  std::string lint_path;
  CLI::App* lint_cmd = kb_cmd->add_subcommand("lint", "Validate a knowledge base; every problem names file, entry and field");
  lint_cmd->footer("Exit code 0 when valid, 1 otherwise.\n\nExample:\n  kefu kb lint kb/samples/hr-en.json");
  lint_cmd->add_option("file", lint_path, "Knowledge base file (.json or .csv)")->required();

  kefu::EvalArgs eval;
  CLI::App* eval_cmd = kb_cmd->add_subcommand("eval", "Measure the matcher on labelled questions");
  eval_cmd->footer(
      "Builds a KB from the training file (one entry per intent), calibrates the escalation threshold on\n"
      "--val when given (else from the training file alone, by holding out intents), and reports accuracy,\n"
      "out-of-scope recall and precision, build time and per-question latency on --test.\n"
      "Labelled files are JSON Lines: {\"text\": \"...\", \"intent\": \"...\"}.\n\n"
      "Example:\n  kefu kb eval --train train.jsonl --val val.jsonl --test test.jsonl --json\n"
      "  kefu kb eval --kb kb/samples/hr-zh.json --test kb/samples/hr-zh.questions.jsonl");
  CLI::Option* eval_train =
      eval_cmd->add_option("--train", eval.train_path, "Labelled training questions (JSON Lines)");
  CLI::Option* eval_kb = eval_cmd->add_option("--kb", eval.kb_path, "A knowledge base file instead of --train");
  eval_train->excludes(eval_kb);
  eval_cmd->callback([&]() {
    if (eval.train_path.empty() && eval.kb_path.empty()) throw CLI::RequiredError("--train or --kb");
  });
  eval_cmd->add_option("--val", eval.val_path, "Labelled calibration questions, may include out-of-scope rows");
  eval_cmd->add_option("--test", eval.test_path, "Labelled test questions")->required();
  eval_cmd->add_option("--oos-label", eval.oos_label, "Intent that marks out-of-scope rows")->capture_default_str();
  eval_cmd->add_option("--objective", eval.objective,
                       "Calibration objective: in_scope_accuracy_at_oos_recall or balanced")
      ->capture_default_str();
  eval_cmd->add_option("--target-oos-recall", eval.target_oos_recall,
                       "Out-of-scope recall the threshold must reach (in_scope_accuracy_at_oos_recall)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  eval_cmd->add_flag("--json", eval.json, "Print one JSON object");

  std::string bench_train, bench_test;
  bool bench_json = false;
  CLI::App* bench_cmd = kb_cmd->add_subcommand("bench", "Measure build time, latency and memory of the matcher");
  bench_cmd->footer("Example:\n  kefu kb bench --train train.jsonl --test test.jsonl --json");
  bench_cmd->add_option("--train", bench_train, "Labelled training questions (JSON Lines)")->required();
  bench_cmd->add_option("--test", bench_test, "Questions to match (JSON Lines; labels ignored)")->required();
  bench_cmd->add_flag("--json", bench_json, "Print one JSON object");

  kefu::GapsArgs gaps;
  CLI::App* gaps_cmd = kb_cmd->add_subcommand("gaps", "The questions the bot could not answer, grouped and ranked");
  gaps_cmd->footer(
      "Groups the questions a desk's bot escalated or answered unhelpfully by similarity, ranked by how many\n"
      "customers asked, with examples, first and last seen, and the nearest existing entry. Reads a data\n"
      "directory of a stopped kefu (a running one serves the same report at GET /v1/admin/desks/DESK/gaps).\n\n"
      "Example:\n  kefu kb gaps --data ./data --desk hr --since 7d");
  gaps_cmd->add_option("--data", gaps.data_dir, "Data directory of kefu serve")->required();
  gaps_cmd->add_option("--config", gaps.config_path, "Server config (default: the demo desks)");
  gaps_cmd->add_option("--desk", gaps.desk, "Desk id")->required();
  gaps_cmd->add_option("--since", gaps.since, "How far back: 30m, 12h, 7d")->capture_default_str();
  gaps_cmd->add_flag("--json", gaps.json, "Print JSON");

  std::string diff_before, diff_after;
  CLI::App* diff_cmd = kb_cmd->add_subcommand("diff", "What changed between two knowledge base files");
  diff_cmd->footer("Example:\n  kefu kb diff old.json new.json");
  diff_cmd->add_option("before", diff_before, "The older KB file")->required();
  diff_cmd->add_option("after", diff_after, "The newer KB file")->required();

  CLI::App* db_cmd = app.add_subcommand("db", "Work with the PostgreSQL store's schema");
  db_cmd->require_subcommand(1);
  kefu::DbMigrateArgs migrate;
  CLI::App* migrate_cmd = db_cmd->add_subcommand("migrate", "Apply kefu's schema migrations to a PostgreSQL database");
  migrate_cmd->footer(
      "Nodes apply missing migrations when they start; this runs them alone (e.g. before an upgrade),\n"
      "under the same advisory lock, and prints the schema version.\n\n"
      "Example:\n  kefu db migrate --store postgresql://kefu@db.internal:5432/kefu");
  migrate_cmd->add_option("--store", migrate.store, "The database: a libpq URI, postgresql://...")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    if (*serve_cmd) return kefu::RunServe(serve);
    if (*ask_cmd) return kefu::RunAsk(ask);
    if (*lint_cmd) return kefu::RunKbLint(lint_path);
    if (*eval_cmd) return kefu::RunKbEval(eval);
    if (*bench_cmd) return kefu::RunKbBench(bench_train, bench_test, bench_json);
    if (*gaps_cmd) return kefu::RunKbGaps(gaps);
    if (*diff_cmd) return kefu::RunKbDiff(diff_before, diff_after);
    if (*migrate_cmd) return kefu::RunDbMigrate(migrate);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kefu: internal error: %s\n", e.what());
    return 1;
  }
  return 2;
}
