// kefu kb import's parsers (Rasa YAML, Dialogflow JSON, CSV) on one file. The first byte picks what
// the file is named (the format is still found from the content); a Rasa NLU file is given a
// domain so that its examples are read.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kb/import.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kNames[] = {"data/nlu.yml", "domain.yml", "intents/A.json", "intents/A_usersays_en.json",
                                       "faq.csv", "config.yml", "agent.json", "notes.txt"};
  const std::string name = kNames[data[0] % 8];
  std::vector<kefu::ImportFile> files = {{name, std::string(reinterpret_cast<const char*>(data + 1), size - 1)}};
  if (name == "data/nlu.yml") files.push_back({"domain.yml", "responses:\n  utter_a:\n  - text: A\n"});
  if (name == "intents/A_usersays_en.json") files.push_back({"intents/A.json", R"({"name": "A", "responses": []})"});
  auto report = kefu::ImportKnowledge(files);
  if (!report.ok()) return 0;
  for (const kefu::ImportedKnowledgeBase& imported : report->kbs) {
    for (const kefu::KbEntry& e : imported.kb.entries) {
      kefu::fuzz::Expect(kefu::IsValidEntryId(e.id));
      kefu::fuzz::Expect(!e.questions.empty() && !e.answer.empty());
    }
  }
  return 0;
}
