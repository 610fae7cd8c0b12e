// The `kefu ask` and `kefu kb ...` commands: the knowledge base and matcher from a terminal.
#ifndef KEFU_TOOLS_KB_COMMANDS_H_
#define KEFU_TOOLS_KB_COMMANDS_H_

#include <string>
#include <vector>

namespace kefu {

struct AskArgs {
  std::string kb_path;
  std::vector<std::string> questions;  // none: read questions from stdin (a prompt on a terminal)
  bool json = false;
  std::string channel = "web";
};

struct EvalArgs {
  std::string kb_path;     // a KB file instead of --train
  std::string train_path;
  std::string val_path;  // empty: calibrate from the training file alone
  std::string test_path;
  std::string oos_label = "oos";
  bool json = false;
  std::string objective = "in_scope_accuracy_at_oos_recall";
  double target_oos_recall = 0.85;
};

// Each returns the process exit code: 0 success, 1 a bad file or failed work (message on
// stderr naming file, line and field).
int RunAsk(const AskArgs& args);
int RunKbLint(const std::string& path);
int RunKbEval(const EvalArgs& args);
int RunKbBench(const std::string& train_path, const std::string& test_path, bool json);

}  // namespace kefu

#endif  // KEFU_TOOLS_KB_COMMANDS_H_
