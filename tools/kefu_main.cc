// kefu: the command line. One subcommand per verb; each lives in its own file pair.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "tools/config_commands.h"
#include "tools/db_commands.h"
#include "tools/import_commands.h"
#include "tools/kb_commands.h"
#include "tools/knowledge_commands.h"
#include "tools/serve_command.h"
#include "tools/store_copy_command.h"

int main(int argc, char** argv) {
  CLI::App app{"kefu: a customer-service engine (FAQ bot + human agent queue)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "kefu 0.1.0");

  kefu::ServeArgs serve;
  CLI::App* serve_cmd = kefu::AddServeCommand(&app, &serve);

  std::string config_path;
  CLI::App* config_cmd = app.add_subcommand("config", "Work with server configurations: check");
  config_cmd->require_subcommand(1);
  CLI::App* check_cmd = config_cmd->add_subcommand("check", "Validate a config (kefu.json) and its knowledge bases as kefu serve would");
  check_cmd->footer("Every problem names the file, line, desk and field; exit code 0 when valid, 1 otherwise.\n"
                    "Every key: docs/config.md.\n\nExample:\n  kefu config check kefu.json");
  check_cmd->add_option("file", config_path, "Server configuration file")->required();

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

  CLI::App* kb_cmd = app.add_subcommand("kb", "Work with knowledge bases: lint, import, eval, bench, gaps, diff");
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

  kefu::ImportArgs import;
  CLI::App* import_cmd = kb_cmd->add_subcommand("import", "Make knowledge bases from a Rasa project, a Dialogflow ES export or CSV");
  import_cmd->footer(
      "Reads Rasa projects (data/nlu.yml and domain.yml: examples, and the utter_<intent> responses as answers),\n"
      "Dialogflow ES agent exports (a folder or its zip: intents and their usersays files, text responses, one KB\n"
      "per language) and kefu CSV, each recognised by its content. Prints what was imported, what was not (file and\n"
      "line) and the entries marked for review (no answer: they hand off to a person), then lints the result.\n"
      "Several languages: one file each, OUTPUT with the language before the extension (faq.en.json).\n\n"
      "Example:\n  kefu kb import my-rasa-bot --output hr.json\n  kefu kb import agent-export.zip --output shop.json");
  import_cmd->add_option("path", import.paths, "Files, folders or zip archives")->required();
  import_cmd->add_option("--output", import.output, "The knowledge base file to write (JSON)")->required();

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

  CLI::App* store_cmd = app.add_subcommand("store", "Work with a deployment's store: copy");
  store_cmd->require_subcommand(1);
  kefu::StoreCopyArgs store_copy;
  CLI::App* copy_cmd =
      store_cmd->add_subcommand("copy", "Copy every record from one store to another: LevelDB <-> PostgreSQL");
  copy_cmd->footer(
      "LOCATION is a data directory (as kefu serve --data) or a PostgreSQL URI (as --store). Copies every\n"
      "record in key order, in batches, then reads the destination back and compares it with the source\n"
      "(rows, bytes, checksum). A progress bar on stderr; one summary line on stdout.\n"
      "Refuses a live source: a data directory kefu serve holds, a database with other kefu processes\n"
      "connected (pg_stat_activity, application_name kefu...): stop every kefu serve first. Refuses a\n"
      "destination that holds any record: a copy never merges two deployments. Live events (hints for\n"
      "streams) are not copied. The admin token is carried between data directories; serving from\n"
      "PostgreSQL needs KEFU_ADMIN_TOKEN. Exit code 0 when copied and verified, 1 when refused or failed.\n\n"
      "Example:\n  kefu store copy --from ./data --to postgresql://kefu@db.internal:5432/kefu\n"
      "  kefu store copy --from postgresql://kefu@db.internal:5432/kefu --to ./data-back");
  copy_cmd->add_option("--from", store_copy.from, "Where the records are: a data directory or a postgresql:// URI")
      ->required();
  copy_cmd->add_option("--to", store_copy.to, "Where they go (must hold no record): a data directory or a URI")
      ->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    if (*serve_cmd) return kefu::RunServe(serve);
    if (*check_cmd) return kefu::RunConfigCheck(config_path);
    if (*ask_cmd) return kefu::RunAsk(ask);
    if (*lint_cmd) return kefu::RunKbLint(lint_path);
    if (*import_cmd) return kefu::RunKbImport(import);
    if (*eval_cmd) return kefu::RunKbEval(eval);
    if (*bench_cmd) return kefu::RunKbBench(bench_train, bench_test, bench_json);
    if (*gaps_cmd) return kefu::RunKbGaps(gaps);
    if (*diff_cmd) return kefu::RunKbDiff(diff_before, diff_after);
    if (*migrate_cmd) return kefu::RunDbMigrate(migrate);
    if (*copy_cmd) return kefu::RunStoreCopy(store_copy);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kefu: internal error: %s\n", e.what());
    return 1;
  }
  return 2;
}
