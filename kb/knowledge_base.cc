#include "kb/knowledge_base.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include "base/file.h"
#include "base/json.h"
#include "base/utf8.h"
#include "kb/normalize.h"

namespace kefu {
namespace {

constexpr std::string_view kChannels[] = {"web", "app", "wecom"};

std::string EntryWhere(std::string_view file, size_t position, std::string_view id) {
  std::string where(file);
  where += ": entry #" + std::to_string(position + 1);
  if (!id.empty()) {
    where += " '";
    where += IsValidUtf8(id) ? std::string(id) : SanitizeUtf8(id);
    where += "'";
  }
  return where;
}

// Collects problems under one location prefix.
class ProblemList {
 public:
  ProblemList(std::vector<std::string>* problems, std::string where)
      : problems_(problems), where_(std::move(where)) {}
  void Check(const Status& s) {
    if (!s.ok()) problems_->push_back(where_ + ": " + s.message());
  }
  void Add(std::string_view message) { problems_->push_back(where_ + ": " + std::string(message)); }

 private:
  std::vector<std::string>* problems_;
  std::string where_;
};

Status ParseLinks(const JsonObject& entry, const KbLimits& limits, std::vector<KbLink>* out) {
  const rapidjson::Value* links = nullptr;
  KEFU_RETURN_IF_ERROR(entry.GetArray("links", Presence::kOptional, &links));
  if (links == nullptr) return Status::OK();
  if (links->Size() > limits.max_links) {
    return Status::InvalidArgument("field 'links': more than " + std::to_string(limits.max_links) + " links");
  }
  for (rapidjson::SizeType i = 0; i < links->Size(); ++i) {
    const std::string where = "field 'links' item " + std::to_string(i + 1);
    auto link = JsonObject::From((*links)[i]);
    if (!link.ok()) return Status::InvalidArgument(where + ": must be an object {\"title\", \"url\"}");
    KbLink l;
    Status s = link->RejectUnknown({"title", "url"});
    if (s.ok()) s = link->GetString("title", Presence::kRequired, &l.title, limits.max_title_chars);
    if (s.ok()) s = link->GetString("url", Presence::kRequired, &l.url, 2000);
    if (s.ok() && l.url.rfind("https://", 0) != 0 && l.url.rfind("http://", 0) != 0) {
      s = Status::InvalidArgument("field 'url': must start with https:// or http://");
    }
    if (!s.ok()) return s.WithContext(where);
    out->push_back(std::move(l));
  }
  return Status::OK();
}

Status ParseVariants(const JsonObject& entry, const KbLimits& limits, std::map<std::string, std::string>* out) {
  const rapidjson::Value* variants = nullptr;
  KEFU_RETURN_IF_ERROR(entry.GetObject("variants", Presence::kOptional, &variants));
  if (variants == nullptr) return Status::OK();
  auto object = JsonObject::From(*variants);
  Status s = object->RejectUnknown({"web", "app", "wecom"});
  if (!s.ok()) return s.WithContext("field 'variants' (channels are web, app, wecom)");
  for (std::string_view channel : kChannels) {
    std::string text;
    s = object->GetString(channel, Presence::kOptional, &text, limits.max_answer_chars);
    if (!s.ok()) return s.WithContext("field 'variants'");
    if (!text.empty()) (*out)[std::string(channel)] = std::move(text);
  }
  return Status::OK();
}

void ParseEntry(const rapidjson::Value& value, size_t position, std::string_view file, const KbLimits& limits,
                std::vector<std::string>* problems, KbEntry* entry) {
  auto object = JsonObject::From(value);
  if (!object.ok()) {
    problems->push_back(EntryWhere(file, position, "") + ": must be an object");
    return;
  }
  // Read the id first, without checks, so that every later problem can name the entry.
  auto id_member = value.FindMember("id");
  if (id_member != value.MemberEnd() && id_member->value.IsString() && !IsJsonNumber(id_member->value)) {
    entry->id.assign(id_member->value.GetString(), id_member->value.GetStringLength());
  }
  ProblemList p(problems, EntryWhere(file, position, entry->id));
  p.Check(object->RejectUnknown({"id", "title", "questions", "answer", "team", "handoff", "links",
                                 "quick_replies", "variants", "tags"}));
  Status s = object->GetString("id", Presence::kRequired, &entry->id, 64);
  if (s.ok() && !IsValidEntryId(entry->id)) {
    s = Status::InvalidArgument("field 'id': must match [a-z0-9][a-z0-9._-]{0,63}");
  }
  p.Check(s);
  p.Check(object->GetString("title", Presence::kRequired, &entry->title, limits.max_title_chars));
  s = object->GetStringArray("questions", Presence::kRequired, limits.max_questions_per_entry,
                             limits.max_question_chars, &entry->questions);
  if (s.ok() && entry->questions.empty()) s = Status::InvalidArgument("field 'questions': needs at least one example question");
  p.Check(s);
  p.Check(object->GetString("answer", Presence::kRequired, &entry->answer, limits.max_answer_chars));
  p.Check(object->GetString("team", Presence::kOptional, &entry->team, 64));
  p.Check(object->GetBool("handoff", Presence::kOptional, &entry->handoff));
  p.Check(ParseLinks(*object, limits, &entry->links));
  p.Check(object->GetStringArray("quick_replies", Presence::kOptional, limits.max_quick_replies,
                                 limits.max_question_chars, &entry->quick_replies));
  p.Check(ParseVariants(*object, limits, &entry->variants));
  p.Check(object->GetStringArray("tags", Presence::kOptional, 32, 64, &entry->tags));
}

std::string JoinProblems(std::string_view file, const std::vector<std::string>& problems) {
  std::string msg = std::string(file) + ": invalid knowledge base (" + std::to_string(problems.size()) +
                    (problems.size() == 1 ? " problem)" : " problems)");
  for (const std::string& p : problems) msg += "\n" + p;
  return msg;
}

// Splits CSV text into rows of fields (RFC 4180: quotes, doubled quotes, newlines in quotes).
// Records the 1-based line where each row starts. Returns InvalidArgument on an open quote.
Status SplitCsv(std::string_view csv, std::string_view file, std::vector<std::vector<std::string>>* rows,
                std::vector<size_t>* row_lines) {
  if (csv.substr(0, 3) == "\xEF\xBB\xBF") csv.remove_prefix(3);  // spreadsheet BOM
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, field_started = false;
  size_t line = 1, row_line = 1;
  auto end_row = [&]() {
    row.push_back(std::move(field));
    field.clear();
    const bool blank = row.size() == 1 && row[0].empty();
    if (!blank) {
      rows->push_back(std::move(row));
      row_lines->push_back(row_line);
    }
    row.clear();
    field_started = false;
  };
  for (size_t i = 0; i < csv.size(); ++i) {
    const char c = csv[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < csv.size() && csv[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < csv.size() && csv[i + 1] == '\n') ++i;
      end_row();
      ++line;
      row_line = line;
    } else {
      field.push_back(c);
      field_started = true;
    }
  }
  if (quoted) {
    return Status::InvalidArgument(std::string(file) + ":" + std::to_string(row_line) +
                                   ": a quoted field is never closed");
  }
  if (field_started || !row.empty()) end_row();
  return Status::OK();
}

std::string Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  const size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

const KbEntry* KnowledgeBase::Find(std::string_view id) const {
  for (const KbEntry& e : entries) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

bool IsValidEntryId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

std::string EntryIdForLabel(std::string_view label) {
  const std::string trimmed = Trim(label);
  std::string id;
  bool lossy = false;
  for (char c : trimmed) {
    if (c >= 'A' && c <= 'Z') id.push_back(static_cast<char>(c - 'A' + 'a'));
    else if (c == ' ') id.push_back('-');
    else if (c == '/') id.push_back('.');
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-') id.push_back(c);
    else {
      lossy = true;  // punctuation, or a byte of a non-ASCII character
      if (!id.empty() && id.back() != '-') id.push_back('-');
    }
  }
  const size_t first = id.find_first_not_of("._-");
  lossy = lossy || first != 0 || id.size() > 64;
  if (!lossy) return id;
  id = first == std::string::npos ? "" : id.substr(first);
  id.erase(std::unique(id.begin(), id.end(), [](char a, char b) { return a == '-' && b == '-'; }), id.end());
  while (!id.empty() && id.back() == '-') id.pop_back();
  // A hash of the whole label keeps labels apart that lost different characters ("退款", "换货").
  uint64_t h = 14695981039346656037ull;  // FNV-1a
  for (unsigned char c : trimmed) h = (h ^ c) * 1099511628211ull;
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%08x", static_cast<unsigned>(h >> 32));
  if (id.empty()) return std::string("intent-") + hex;
  if (id.size() > 55) id.resize(55);
  while (id.back() == '-' || id.back() == '.' || id.back() == '_') id.pop_back();
  return id + "-" + hex;
}

void CheckKnowledgeBase(const KnowledgeBase& kb, std::string_view file, const KbLimits& limits,
                        std::vector<std::string>* problems) {
  if (kb.entries.empty()) problems->push_back(std::string(file) + ": the knowledge base has no entries");
  if (kb.entries.size() > limits.max_entries) {
    problems->push_back(std::string(file) + ": more than " + std::to_string(limits.max_entries) + " entries");
  }
  std::unordered_map<std::string, size_t> first_with_id;
  std::unordered_map<std::string, size_t> entry_of_question;
  for (size_t i = 0; i < kb.entries.size(); ++i) {
    const KbEntry& e = kb.entries[i];
    ProblemList p(problems, EntryWhere(file, i, e.id));
    if (!e.id.empty()) {
      auto [it, inserted] = first_with_id.emplace(e.id, i);
      if (!inserted) p.Add("field 'id': duplicate of entry #" + std::to_string(it->second + 1));
    }
    for (size_t q = 0; q < e.questions.size(); ++q) {
      const std::string key = NormalizeText(e.questions[q]);
      if (key.empty()) {
        p.Add("field 'questions' item " + std::to_string(q + 1) + ": has no words");
        continue;
      }
      auto [it, inserted] = entry_of_question.emplace(key, i);
      if (!inserted && it->second != i) {
        const KbEntry& other = kb.entries[it->second];
        p.Add("field 'questions' item " + std::to_string(q + 1) + ": \"" + e.questions[q] +
              "\" is also an example of entry #" + std::to_string(it->second + 1) + " '" + other.id + "'");
      }
    }
  }
}

Result<KnowledgeBase> ParseKnowledgeBaseJson(std::string_view json, std::string_view file, const KbLimits& limits) {
  auto doc = ParseJson(json);
  if (!doc.ok()) return doc.status().WithContext(file);
  auto root = JsonObject::From(**doc);
  if (!root.ok()) return Status::InvalidArgument(std::string(file) + ": the top level must be an object");
  KnowledgeBase kb;
  std::vector<std::string> problems;
  ProblemList p(&problems, std::string(file));
  p.Check(root->RejectUnknown({"name", "language", "settings", "entries"}));
  p.Check(root->GetString("name", Presence::kOptional, &kb.name, 200));
  p.Check(root->GetString("language", Presence::kOptional, &kb.language, 16));
  const rapidjson::Value* settings = nullptr;
  p.Check(root->GetObject("settings", Presence::kOptional, &settings));
  if (settings != nullptr) {
    auto s = JsonObject::From(*settings);
    Status st = s->RejectUnknown({"answer_threshold"});
    double threshold = 0;
    if (st.ok()) st = s->GetDouble("answer_threshold", Presence::kOptional, -10, 10, &threshold);
    if (st.ok() && s->Has("answer_threshold")) kb.settings.answer_threshold = threshold;
    p.Check(st.WithContext("field 'settings'"));
  }
  const rapidjson::Value* entries = nullptr;
  p.Check(root->GetArray("entries", Presence::kRequired, &entries));
  if (entries != nullptr && entries->Size() > limits.max_entries) {
    problems.push_back(std::string(file) + ": field 'entries': more than " + std::to_string(limits.max_entries) +
                       " entries");
    return Status::InvalidArgument(JoinProblems(file, problems));
  }
  if (entries != nullptr) {
    kb.entries.resize(entries->Size());
    for (rapidjson::SizeType i = 0; i < entries->Size(); ++i) {
      ParseEntry((*entries)[i], i, file, limits, &problems, &kb.entries[i]);
    }
  }
  CheckKnowledgeBase(kb, file, limits, &problems);
  if (!problems.empty()) return Status::InvalidArgument(JoinProblems(file, problems));
  return kb;
}

namespace {

Result<KnowledgeBase> ParseCsv(std::string_view csv, std::string_view file, const KbLimits& limits, bool need_answers) {
  std::vector<std::vector<std::string>> rows;
  std::vector<size_t> lines;
  KEFU_RETURN_IF_ERROR(SplitCsv(csv, file, &rows, &lines));
  if (rows.empty()) return Status::InvalidArgument(std::string(file) + ": empty CSV (expected a header row)");
  int col_question = -1, col_answer = -1, col_intent = -1, col_team = -1;
  for (size_t c = 0; c < rows[0].size(); ++c) {
    const std::string name = EntryIdForLabel(rows[0][c]);
    int* slot = name == "question" ? &col_question
                : name == "answer" ? &col_answer
                : name == "intent" ? &col_intent
                : name == "team"   ? &col_team
                                   : nullptr;
    if (slot == nullptr) {
      return Status::InvalidArgument(std::string(file) + ":1: unknown column '" + rows[0][c] +
                                     "' (expected question, answer, intent, team)");
    }
    *slot = static_cast<int>(c);
  }
  if (col_question < 0 || col_answer < 0 || col_intent < 0) {
    return Status::InvalidArgument(std::string(file) + ":1: the header must name the columns question, answer and intent");
  }
  KnowledgeBase kb;
  std::vector<std::string> problems;
  std::unordered_map<std::string, size_t> entry_of_intent;
  std::unordered_map<std::string, size_t> answer_line;
  std::vector<size_t> first_line;  // per entry, the line of its first row
  for (size_t r = 1; r < rows.size(); ++r) {
    const std::vector<std::string>& row = rows[r];
    ProblemList p(&problems, std::string(file) + ":" + std::to_string(lines[r]));
    auto cell = [&](int c) { return c >= 0 && static_cast<size_t>(c) < row.size() ? Trim(row[c]) : std::string(); };
    const std::string intent = cell(col_intent), question = cell(col_question), answer = cell(col_answer),
                      team = cell(col_team);
    if (row.size() > rows[0].size()) {
      p.Add("has " + std::to_string(row.size()) + " fields, the header has " + std::to_string(rows[0].size()));
      continue;
    }
    bool row_ok = true;
    for (const std::string* text : {&intent, &question, &answer, &team}) {
      size_t bad = FindInvalidUtf8(*text);
      if (bad != std::string::npos) {
        const char* field = text == &intent ? "intent" : text == &question ? "question" : text == &answer ? "answer" : "team";
        p.Add(std::string("field '") + field + "': invalid UTF-8 at byte " + std::to_string(bad));
        row_ok = false;
      }
    }
    if (!row_ok) continue;
    const std::string id = EntryIdForLabel(intent);
    if (intent.empty()) {
      p.Add("field 'intent': must not be empty");
      continue;
    }
    if (CountCodePoints(intent) > limits.max_title_chars) {  // it becomes the entry's title
      p.Add("field 'intent': longer than " + std::to_string(limits.max_title_chars) + " characters");
      continue;
    }
    if (question.empty()) p.Add("field 'question': must not be empty");
    if (CountCodePoints(question) > limits.max_question_chars) {
      p.Add("field 'question': longer than " + std::to_string(limits.max_question_chars) + " characters");
    }
    if (CountCodePoints(team) > 64) p.Add("field 'team': longer than 64 characters");
    if (CountCodePoints(answer) > limits.max_answer_chars) {
      p.Add("field 'answer': longer than " + std::to_string(limits.max_answer_chars) + " characters");
    }
    auto [it, inserted] = entry_of_intent.emplace(id, kb.entries.size());
    if (inserted) {
      KbEntry e;
      e.id = id;
      e.title = intent;
      kb.entries.push_back(std::move(e));
      first_line.push_back(lines[r]);
    }
    KbEntry& entry = kb.entries[it->second];
    if (!question.empty()) entry.questions.push_back(question);
    if (!team.empty()) {
      if (!entry.team.empty() && entry.team != team) p.Add("field 'team': '" + team + "' differs from '" + entry.team + "' given earlier for intent '" + intent + "'");
      entry.team = team;
    }
    if (!answer.empty()) {
      if (entry.answer.empty()) {
        entry.answer = answer;
        answer_line[id] = lines[r];
      } else if (entry.answer != answer) {
        p.Add("field 'answer': differs from the answer given for intent '" + intent + "' on line " +
              std::to_string(answer_line[id]));
      }
    }
  }
  for (size_t i = 0; i < kb.entries.size() && need_answers; ++i) {
    if (kb.entries[i].answer.empty()) {
      problems.push_back(std::string(file) + ":" + std::to_string(first_line[i]) + ": intent '" + kb.entries[i].title +
                         "': field 'answer': no row gives an answer");
    }
  }
  CheckKnowledgeBase(kb, file, limits, &problems);
  if (!problems.empty()) return Status::InvalidArgument(JoinProblems(file, problems));
  return kb;
}

}  // namespace

Result<KnowledgeBase> ParseKnowledgeBaseCsv(std::string_view csv, std::string_view file, const KbLimits& limits) {
  return ParseCsv(csv, file, limits, true);
}

Result<KnowledgeBase> ParseKnowledgeBaseCsvDraft(std::string_view csv, std::string_view file, const KbLimits& limits) {
  return ParseCsv(csv, file, limits, false);
}

Result<KnowledgeBase> LoadKnowledgeBase(const std::string& path, const KbLimits& limits) {
  auto content = ReadFileToString(path);
  if (!content.ok()) return content.status();
  const bool csv = path.size() >= 4 && path.compare(path.size() - 4, 4, ".csv") == 0;
  return csv ? ParseKnowledgeBaseCsv(*content, path, limits) : ParseKnowledgeBaseJson(*content, path, limits);
}

std::string KnowledgeBaseToJson(const KnowledgeBase& kb) {
  // Empty name and language are left out: the parser refuses empty strings.
  std::string out = "{";
  if (!kb.name.empty()) {
    out += "\"name\":";
    AppendJsonString(kb.name, &out);
    out += ",";
  }
  if (!kb.language.empty()) {
    out += "\"language\":";
    AppendJsonString(kb.language, &out);
    out += ",";
  }
  if (kb.settings.answer_threshold) {
    // Shortest text that reads back as the same double, whatever the locale.
    char number[32];
    const auto end = std::to_chars(number, number + sizeof(number), *kb.settings.answer_threshold).ptr;
    out += "\"settings\":{\"answer_threshold\":" + std::string(number, end) + "},";
  }
  out += "\"entries\":[";
  auto strings = [&](const std::vector<std::string>& v) {
    out += "[";
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out += ",";
      AppendJsonString(v[i], &out);
    }
    out += "]";
  };
  for (size_t i = 0; i < kb.entries.size(); ++i) {
    const KbEntry& e = kb.entries[i];
    if (i) out += ",";
    out += "\n{\"id\":";
    AppendJsonString(e.id, &out);
    out += ",\"title\":";
    AppendJsonString(e.title, &out);
    out += ",\"questions\":";
    strings(e.questions);
    out += ",\"answer\":";
    AppendJsonString(e.answer, &out);
    if (!e.team.empty()) {
      out += ",\"team\":";
      AppendJsonString(e.team, &out);
    }
    if (e.handoff) out += ",\"handoff\":true";
    if (!e.links.empty()) {
      out += ",\"links\":[";
      for (size_t k = 0; k < e.links.size(); ++k) {
        if (k) out += ",";
        out += "{\"title\":";
        AppendJsonString(e.links[k].title, &out);
        out += ",\"url\":";
        AppendJsonString(e.links[k].url, &out);
        out += "}";
      }
      out += "]";
    }
    if (!e.quick_replies.empty()) {
      out += ",\"quick_replies\":";
      strings(e.quick_replies);
    }
    if (!e.variants.empty()) {
      out += ",\"variants\":{";
      bool first = true;
      for (const auto& [channel, text] : e.variants) {
        if (!first) out += ",";
        first = false;
        AppendJsonString(channel, &out);
        out += ":";
        AppendJsonString(text, &out);
      }
      out += "}";
    }
    if (!e.tags.empty()) {
      out += ",\"tags\":";
      strings(e.tags);
    }
    out += "}";
  }
  out += "]}\n";
  return out;
}

}  // namespace kefu
