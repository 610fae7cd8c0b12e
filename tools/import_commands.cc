#include "tools/import_commands.h"

#include <cstdio>

#include "base/file.h"
#include "kb/import.h"
#include "tools/kb_commands.h"

namespace kefu {
namespace {

void PrintSection(const char* title, const std::vector<std::string>& lines) {
  if (lines.empty()) return;
  std::printf("%s (%zu):\n", title, lines.size());
  for (const std::string& l : lines) std::printf("  %s\n", l.c_str());
}

}  // namespace

std::string ImportOutputPath(const std::string& output, const std::string& language, size_t languages) {
  if (languages <= 1 || language.empty()) return output;
  const size_t dot = output.rfind('.');
  const size_t slash = output.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return output + "." + language;
  return output.substr(0, dot) + "." + language + output.substr(dot);
}

int RunKbImport(const ImportArgs& args) {
  auto files = ReadImportFiles(args.paths);
  if (!files.ok()) {
    std::fprintf(stderr, "kefu: %s\n", files.status().message().c_str());
    return 1;
  }
  auto report = ImportKnowledge(*files);
  if (!report.ok()) {
    std::fprintf(stderr, "kefu: %s\n", report.status().message().c_str());
    return 1;
  }
  PrintSection("read", report->sources);
  PrintSection("not imported", report->not_imported);
  PrintSection("marked for review", report->review);
  int status = 0;
  for (const ImportedKnowledgeBase& imported : report->kbs) {
    const std::string path = ImportOutputPath(args.output, imported.language, report->kbs.size());
    size_t examples = 0;
    for (const KbEntry& e : imported.kb.entries) examples += e.questions.size();
    if (Status s = WriteFileAtomically(path, KnowledgeBaseToJson(imported.kb)); !s.ok()) {
      std::fprintf(stderr, "kefu: %s\n", s.message().c_str());
      return 1;
    }
    std::printf("wrote %s: %zu entries, %zu example questions%s\n", path.c_str(), imported.kb.entries.size(), examples,
                imported.language.empty() ? "" : (", language " + imported.language).c_str());
    if (RunKbLint(path) != 0) status = 1;
  }
  return status;
}

}  // namespace kefu
