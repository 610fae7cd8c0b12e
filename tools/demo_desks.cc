#include "tools/demo_desks.h"

#include <filesystem>

#include "base/file.h"

namespace kefu {

Result<std::string> WriteDemoDesks(const std::string& dir) {
  for (const DemoFile& f : DemoDeskFiles()) {
    const std::filesystem::path path = std::filesystem::path(dir) / f.path;
    auto current = ReadFileToString(path.string(), f.content.size() + 1);
    if (current.ok() && *current == f.content) continue;
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) return Status::IOError("cannot create " + path.parent_path().string() + ": " + ec.message());
    KEFU_RETURN_IF_ERROR(WriteFileAtomically(path.string(), f.content));
  }
  return dir + "/kefu.demo.json";
}

}  // namespace kefu
