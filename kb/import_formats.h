// Inside kb/import: the intents each format yields, before they become knowledge bases. Not a
// public interface; kb/import.h is.
#ifndef KEFU_KB_IMPORT_FORMATS_H_
#define KEFU_KB_IMPORT_FORMATS_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "kb/import.h"

namespace kefu {

struct ImportedExample {
  std::string text;
  std::string where;  // "FILE:LINE"
};

struct ImportedIntent {
  std::string name;      // as the tool had it; kept as the entry's title
  std::string language;  // lower case; "" unknown
  std::string where;     // "FILE:LINE" of its definition
  std::vector<ImportedExample> examples;
  std::string answer;    // "" none
  std::string answer_where;
  std::string team;
  std::string review;    // why the answer needs a person's look although there is one ("" none)
};

// What a file is, from its content.
enum class ImportKind {
  kUnknown,
  kRasaNlu,
  kRasaDomain,
  kRasaConfig,
  kRasaOther,  // stories, rules, tests: not knowledge
  kDialogflowAgent,
  kDialogflowIntent,
  kDialogflowUsersays,
  kDialogflowOther,  // package.json, entities
  kKefuCsv,
};

// Recognises `file`. InvalidArgument (file, line and column) for a .json, .yml or .yaml file that
// is not valid JSON or YAML.
Result<ImportKind> DetectImportKind(const ImportFile& file);

// "[Berlin](city)", "[Berlin]{\"entity\": \"city\"}" and "[Berlin][{...}]" become "Berlin".
std::string StripEntityAnnotations(std::string_view example);

// Each appends the intents of its files to `intents` and notes to `report`.
Status ImportRasa(const std::vector<const ImportFile*>& nlu, const std::vector<const ImportFile*>& domain,
                  const std::vector<const ImportFile*>& config, std::vector<ImportedIntent>* intents,
                  ImportReport* report);
Status ImportDialogflow(const std::vector<const ImportFile*>& agent, const std::vector<const ImportFile*>& intent_files,
                        const std::vector<const ImportFile*>& usersays, std::vector<ImportedIntent>* intents,
                        ImportReport* report);
Status ImportKefuCsv(const ImportFile& file, std::vector<ImportedIntent>* intents, ImportReport* report);

// Adds `detail` to the report's line about file `name` ("nlu.yml: Rasa NLU data: 8 intents, ...").
void NoteSource(ImportReport* report, const std::string& name, const std::string& detail);

// The knowledge bases of `intents` (see ImportKnowledge), with its notes added to `report`.
void BuildImportedKnowledgeBases(const std::vector<ImportedIntent>& intents, ImportReport* report);

}  // namespace kefu

#endif  // KEFU_KB_IMPORT_FORMATS_H_
