#include "kb/labelled.h"

#include "base/file.h"
#include "base/json.h"

namespace kefu {

Result<std::vector<LabelledQuestion>> ParseLabelledQuestions(std::string_view jsonl, std::string_view file) {
  std::vector<LabelledQuestion> out;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < jsonl.size()) {
    size_t end = jsonl.find('\n', pos);
    if (end == std::string_view::npos) end = jsonl.size();
    std::string_view line = jsonl.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);  // a BOM
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const std::string where = std::string(file) + ":" + std::to_string(line_no);
    auto doc = ParseJson(line);
    if (!doc.ok()) return doc.status().WithContext(where);
    auto object = JsonObject::From(**doc);
    if (!object.ok()) return Status::InvalidArgument(where + ": expected an object {\"text\", \"intent\"}");
    LabelledQuestion q;
    q.line = line_no;
    Status s = object->RejectUnknown({"text", "intent"});
    if (s.ok()) s = object->GetString("text", Presence::kRequired, &q.text, 500);
    if (s.ok()) s = object->GetString("intent", Presence::kRequired, &q.intent, 200);
    if (!s.ok()) return s.WithContext(where);
    out.push_back(std::move(q));
  }
  return out;
}

Result<std::vector<LabelledQuestion>> LoadLabelledQuestions(const std::string& path) {
  auto content = ReadFileToString(path);
  if (!content.ok()) return content.status();
  return ParseLabelledQuestions(*content, path);
}

IntentLabels IntentLabels::Of(const KnowledgeBase& kb) {
  IntentLabels labels;
  for (const KbEntry& e : kb.entries) {
    labels.ids_.insert(e.id);
    labels.id_of_label_.emplace(e.id, e.id);
  }
  for (const KbEntry& e : kb.entries) labels.id_of_label_.emplace(e.title, e.id);  // ids first
  return labels;
}

const std::string& IntentLabels::Assign(std::string_view label) {
  auto it = id_of_label_.find(std::string(label));
  if (it != id_of_label_.end()) return it->second;
  const std::string base = EntryIdForLabel(label);
  std::string id = base;
  for (int n = 2; ids_.count(id); ++n) id = base.substr(0, 60) + "-" + std::to_string(n);
  ids_.insert(id);
  return id_of_label_.emplace(std::string(label), id).first->second;
}

const std::string* IntentLabels::Find(std::string_view label) const {
  auto it = id_of_label_.find(std::string(label));
  if (it != id_of_label_.end()) return &it->second;
  auto id = ids_.find(EntryIdForLabel(label));
  return id == ids_.end() ? nullptr : &*id;
}

Result<KnowledgeBase> KnowledgeBaseFromLabelled(const std::vector<LabelledQuestion>& questions,
                                                std::string_view oos_label, IntentLabels* labels) {
  IntentLabels own;
  if (labels == nullptr) labels = &own;
  KnowledgeBase kb;
  std::unordered_map<std::string, size_t> entry_of;
  for (const LabelledQuestion& q : questions) {
    if (q.intent == oos_label) continue;
    const std::string& id = labels->Assign(q.intent);
    auto [it, inserted] = entry_of.emplace(id, kb.entries.size());
    if (inserted) {
      KbEntry e;
      e.id = id;
      e.title = q.intent;  // as written; the normaliser reads '_' as a space, so it matches alike
      e.answer = q.intent;
      kb.entries.push_back(std::move(e));
    }
    kb.entries[it->second].questions.push_back(q.text);
  }
  if (kb.entries.empty()) return Status::InvalidArgument("no labelled in-scope questions");
  return kb;
}

Status ResolveLabels(const IntentLabels& labels, std::string_view oos_label, std::string_view file,
                     std::vector<LabelledQuestion>* questions) {
  std::vector<std::string> ids(questions->size());
  const LabelledQuestion* first_unknown = nullptr;
  size_t unknown_rows = 0;
  std::unordered_set<std::string> unknown_labels;
  for (size_t i = 0; i < questions->size(); ++i) {
    const LabelledQuestion& q = (*questions)[i];
    if (q.intent == oos_label) {
      ids[i] = q.intent;
      continue;
    }
    const std::string* id = labels.Find(q.intent);
    if (id != nullptr) {
      ids[i] = *id;
      continue;
    }
    if (first_unknown == nullptr) first_unknown = &q;
    ++unknown_rows;
    unknown_labels.insert(q.intent);
  }
  if (first_unknown != nullptr) {
    std::string msg = std::string(file) + ":" + std::to_string(first_unknown->line) + ": intent '" +
                      first_unknown->intent + "' matches no entry of the knowledge base and is not the out-of-scope label '" +
                      std::string(oos_label) + "'";
    if (unknown_rows > 1) {
      msg += " (" + std::to_string(unknown_rows) + " rows with " + std::to_string(unknown_labels.size()) +
             (unknown_labels.size() == 1 ? " such label)" : " such labels)");
    }
    return Status::InvalidArgument(msg);
  }
  for (size_t i = 0; i < questions->size(); ++i) (*questions)[i].intent = std::move(ids[i]);
  return Status::OK();
}

}  // namespace kefu
