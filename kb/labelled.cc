#include "kb/labelled.h"

#include <unordered_map>

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
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const std::string where = std::string(file) + ":" + std::to_string(line_no);
    auto doc = ParseJson(line);
    if (!doc.ok()) return doc.status().WithContext(where);
    auto object = JsonObject::From(**doc);
    if (!object.ok()) return Status::InvalidArgument(where + ": expected an object {\"text\", \"intent\"}");
    LabelledQuestion q;
    Status s = object->RejectUnknown({"text", "intent"});
    if (s.ok()) s = object->GetString("text", Presence::kRequired, &q.text, 500);
    if (s.ok()) s = object->GetString("intent", Presence::kRequired, &q.intent, 64);
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

Result<KnowledgeBase> KnowledgeBaseFromLabelled(const std::vector<LabelledQuestion>& questions,
                                                std::string_view oos_label) {
  KnowledgeBase kb;
  std::unordered_map<std::string, size_t> entry_of;
  for (const LabelledQuestion& q : questions) {
    if (q.intent == oos_label) continue;
    auto [it, inserted] = entry_of.emplace(q.intent, kb.entries.size());
    if (inserted) {
      if (!IsValidEntryId(q.intent)) {
        return Status::InvalidArgument("intent '" + q.intent + "' is not a valid entry id ([a-z0-9][a-z0-9._-]{0,63})");
      }
      KbEntry e;
      e.id = q.intent;
      e.title = q.intent;
      for (char& c : e.title) {
        if (c == '_') c = ' ';
      }
      e.answer = q.intent;
      kb.entries.push_back(std::move(e));
    }
    kb.entries[it->second].questions.push_back(q.text);
  }
  if (kb.entries.empty()) return Status::InvalidArgument("no labelled in-scope questions");
  return kb;
}

}  // namespace kefu
