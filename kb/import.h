// Importing knowledge from the tools people leave: a Rasa project (nlu.yml and domain.yml), a
// Dialogflow ES agent export (a folder or its zip) and kefu's CSV, each recognised by its content,
// become knowledge bases (one per language), with a report of what was imported, what could not be
// (file and line) and which entries need a person's review.
#ifndef KEFU_KB_IMPORT_H_
#define KEFU_KB_IMPORT_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "kb/knowledge_base.h"

namespace kefu {

// The tag of an entry imported without a usable answer. Such an entry hands off to a person
// (handoff: true) until someone writes its answer; `kefu kb lint` counts them.
inline constexpr std::string_view kNeedsReviewTag = "needs-review";

// One file to import, read into memory.
struct ImportFile {
  std::string name;     // as messages show it: "rasa/data/nlu.yml", "agent.zip/intents/Refund.json"
  std::string content;
};

struct ImportLimits {
  size_t max_file_bytes = 16 << 20;   // a larger file (or zip member) is an error naming it
  size_t max_files = 10000;           // files taken from folders and archives
  size_t max_total_bytes = 256 << 20;
};

// The files of `paths`: a file as it is; a folder's .yml, .yaml, .json, .csv and .zip files,
// walked (hidden folders skipped); a zip archive's files, read in memory (from a path given or
// found in a folder). NotFound, IOError or InvalidArgument naming the path; ResourceExhausted
// past `limits`.
Result<std::vector<ImportFile>> ReadImportFiles(const std::vector<std::string>& paths, const ImportLimits& limits = {});

struct ImportedKnowledgeBase {
  std::string language;  // lower case, e.g. "en", "zh-cn"; "" when the source names none
  KnowledgeBase kb;
};

struct ImportReport {
  std::vector<ImportedKnowledgeBase> kbs;  // one per language, in order of first appearance
  std::vector<std::string> sources;        // per file: what it was taken for and what came of it
  std::vector<std::string> not_imported;   // "FILE:LINE: intent 'x' has no examples: not imported"
  std::vector<std::string> review;         // "FILE:LINE: intent 'x' has no answer: entry 'x' hands off ..."
};

// Imports `files`, each recognised by its content: Rasa NLU data (`nlu:`), domain (`responses:`,
// `intents:`) and config (`language:`); Dialogflow ES agent.json, intents/*.json and their
// *_usersays_<lang>.json; kefu CSV (a question,answer,intent header). Examples lose Rasa's entity
// annotations ("[Berlin](city)" becomes "Berlin"); an intent's answer is its utter_<intent>
// response (Rasa) or its text responses (Dialogflow, per language). Entry ids come from intent
// names (EntryIdForLabel). An intent with no examples is not imported, one without an answer is
// marked for review, an example that two intents share stays with the first: all reported.
// Returns InvalidArgument naming file and line for input that cannot be trusted (a YAML or JSON
// syntax error, Rasa NLU data without its domain, a broken CSV), or when nothing was importable.
Result<ImportReport> ImportKnowledge(const std::vector<ImportFile>& files);

}  // namespace kefu

#endif  // KEFU_KB_IMPORT_H_
