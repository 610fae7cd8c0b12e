// The demo desks (HR in Chinese and English, a shop) built into the kefu binary, so that
// `kefu serve` with no flags works wherever the binary is: kefu.demo.json and its KBs.
#ifndef KEFU_TOOLS_DEMO_DESKS_H_
#define KEFU_TOOLS_DEMO_DESKS_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kefu {

struct DemoFile {
  std::string_view path;     // relative: "kefu.demo.json", "kb/samples/hr-en.json", ...
  std::string_view content;
};

// The embedded files (generated at build time by tools/embed_demo.py from the source tree).
const std::vector<DemoFile>& DemoDeskFiles();

// Writes the demo files under `dir` (created when missing; a file is rewritten only when its
// content differs, atomically) and returns the path of the demo config in it. The engine reads
// KBs from files, so the demo desks are served from this copy. IOError naming the file.
Result<std::string> WriteDemoDesks(const std::string& dir);

}  // namespace kefu

#endif  // KEFU_TOOLS_DEMO_DESKS_H_
