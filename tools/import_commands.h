// `kefu kb import`: knowledge bases from a Rasa project, a Dialogflow ES export or kefu CSV.
#ifndef KEFU_TOOLS_IMPORT_COMMANDS_H_
#define KEFU_TOOLS_IMPORT_COMMANDS_H_

#include <string>
#include <vector>

namespace kefu {

struct ImportArgs {
  std::vector<std::string> paths;  // files, folders, zip archives
  std::string output;              // KB.json; several languages: KB.<lang>.json each
};

// Imports, writes the KB file(s), prints the report (imported, not imported with file and line,
// marked for review) and `kefu kb lint`'s verdict on each file. Exit code 0 when every written
// file lints clean, 1 when the input is broken (nothing written) or a written file does not lint.
int RunKbImport(const ImportArgs& args);

// The output file of `language` when an import has `languages` of them: `output` itself for one,
// "faq.json" -> "faq.en.json" for several.
std::string ImportOutputPath(const std::string& output, const std::string& language, size_t languages);

}  // namespace kefu

#endif  // KEFU_TOOLS_IMPORT_COMMANDS_H_
