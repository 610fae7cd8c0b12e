// Labelled questions in JSON Lines, one {"text": "...", "intent": "..."} per line: the format
// of `kefu kb eval`, `kefu kb bench` and the sample KBs' regression files.
#ifndef KEFU_KB_LABELLED_H_
#define KEFU_KB_LABELLED_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "kb/knowledge_base.h"

namespace kefu {

struct LabelledQuestion {
  std::string text;
  std::string intent;
};

// Parses JSON Lines; blank lines are skipped. Returns InvalidArgument naming file, line and
// field for the first bad line (at most 500 characters of text, 64 of intent).
Result<std::vector<LabelledQuestion>> ParseLabelledQuestions(std::string_view jsonl, std::string_view file_name);

// Reads and parses `path`.
Result<std::vector<LabelledQuestion>> LoadLabelledQuestions(const std::string& path);

// A KB with one entry per intent of `questions` (in order of first appearance), the questions
// as examples, and the intent as id, title (underscores as spaces) and answer. Rows labelled
// `oos_label` are left out. Returns InvalidArgument when an intent is not a valid entry id.
Result<KnowledgeBase> KnowledgeBaseFromLabelled(const std::vector<LabelledQuestion>& questions,
                                                std::string_view oos_label);

}  // namespace kefu

#endif  // KEFU_KB_LABELLED_H_
