// Labelled questions in JSON Lines, one {"text": "...", "intent": "..."} per line: the format
// of `kefu kb eval`, `kefu kb bench` and the sample KBs' regression files. Intent labels are taken
// as people export them ("Refund_not_showing_up", "EMI", "Reset Password", "退款"): each is kept
// as written and stands for one entry id (EntryIdForLabel, knowledge_base.h).
#ifndef KEFU_KB_LABELLED_H_
#define KEFU_KB_LABELLED_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/status.h"
#include "kb/knowledge_base.h"

namespace kefu {

struct LabelledQuestion {
  std::string text;
  std::string intent;
  size_t line = 0;  // 1-based line in its file; 0 when it comes from elsewhere
};

// Parses JSON Lines; blank lines are skipped. Returns InvalidArgument naming file, line and
// field for the first bad line (at most 500 characters of text, 200 of intent), or the line and
// column of a JSON syntax error.
Result<std::vector<LabelledQuestion>> ParseLabelledQuestions(std::string_view jsonl, std::string_view file_name);

// Reads and parses `path`.
Result<std::vector<LabelledQuestion>> LoadLabelledQuestions(const std::string& path);

// Intent labels and the entry ids they stand for. Deterministic: the same labels seen in the same
// order get the same ids. Not thread-safe.
class IntentLabels {
 public:
  // The labels that name the entries of `kb`: each entry's id and title, and any label whose
  // EntryIdForLabel is an entry's id ("Reset Password" names entry "reset-password").
  static IntentLabels Of(const KnowledgeBase& kb);

  // The id of `label`, given on first sight: EntryIdForLabel(label), or that with "-2", "-3", ...
  // when another label has it already ("EMI" gets "emi", then "emi" gets "emi-2").
  const std::string& Assign(std::string_view label);

  // The entry id `label` names, or nullptr.
  const std::string* Find(std::string_view label) const;

  size_t size() const { return id_of_label_.size(); }

 private:
  std::unordered_map<std::string, std::string> id_of_label_;
  std::unordered_set<std::string> ids_;
};

// A KB with one entry per intent of `questions` (in order of first appearance), the questions as
// examples, the id from `labels->Assign(intent)`, the intent as written as title and answer. Rows labelled `oos_label` are left out. `labels` may be null; when given, it holds
// the labels afterwards (for ResolveLabels). InvalidArgument when no row is in scope.
Result<KnowledgeBase> KnowledgeBaseFromLabelled(const std::vector<LabelledQuestion>& questions,
                                                std::string_view oos_label, IntentLabels* labels = nullptr);

// Rewrites the intent of every row of `questions` to the entry id its label names in `labels`;
// rows labelled `oos_label` stay as they are. When a label names no entry, returns
// InvalidArgument "FILE:LINE: intent 'LABEL' matches no entry ...", with how many rows and
// labels did not match, and leaves `questions` unchanged.
Status ResolveLabels(const IntentLabels& labels, std::string_view oos_label, std::string_view file_name,
                     std::vector<LabelledQuestion>* questions);

}  // namespace kefu

#endif  // KEFU_KB_LABELLED_H_
