// `kefu kb gaps` and `kefu kb diff`: the knowledge loop from a terminal.
#ifndef KEFU_TOOLS_KNOWLEDGE_COMMANDS_H_
#define KEFU_TOOLS_KNOWLEDGE_COMMANDS_H_

#include <string>

namespace kefu {

struct GapsArgs {
  std::string data_dir = "./data";
  std::string config_path;  // "": the demo desks
  std::string desk;
  std::string since = "7d";  // a duration: 30m, 12h, 7d
  bool json = false;
};

// Prints the desk's gap report. Exit code 0, 1 on failure (e.g. the data directory is in use by a
// running kefu: then the admin API serves the same report), 2 for a bad --since.
int RunKbGaps(const GapsArgs& args);

// Prints what changed from KB file `before` to `after`. 0, or 1 when a file is invalid.
int RunKbDiff(const std::string& before, const std::string& after);

}  // namespace kefu

#endif  // KEFU_TOOLS_KNOWLEDGE_COMMANDS_H_
