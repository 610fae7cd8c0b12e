#include "kb/import.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "base/json.h"
#include "base/utf8.h"
#include "base/yaml_document.h"
#include "kb/import_formats.h"
#include "kb/labelled.h"
#include "kb/normalize.h"

namespace kefu {
namespace {

std::string_view Body(std::string_view content) {
  if (content.substr(0, 3) == "\xEF\xBB\xBF") content.remove_prefix(3);
  const size_t start = content.find_first_not_of(" \t\r\n");
  return start == std::string_view::npos ? std::string_view() : content.substr(start);
}

std::string Extension(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || name.find('/', dot) != std::string_view::npos) return "";
  std::string ext(name.substr(dot + 1));
  for (char& c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return ext;
}

ImportKind JsonKind(const rapidjson::Value& v, std::string_view name) {
  if (v.IsObject()) {
    auto o = JsonObject::From(v);
    if (o->Has("responses") && o->Has("name")) return ImportKind::kDialogflowIntent;
    if (o->Has("supportedLanguages") || (o->Has("language") && (o->Has("displayName") || o->Has("description")))) {
      return ImportKind::kDialogflowAgent;
    }
    if (o->Has("version") && v.MemberCount() == 1) return ImportKind::kDialogflowOther;  // package.json
    return ImportKind::kUnknown;
  }
  if (!v.IsArray()) return ImportKind::kUnknown;
  if (v.Empty()) return name.find("_usersays_") != std::string_view::npos ? ImportKind::kDialogflowUsersays : ImportKind::kUnknown;
  const rapidjson::Value& first = v[0];
  if (first.IsObject() && first.HasMember("data")) return ImportKind::kDialogflowUsersays;
  if (first.IsObject() && first.HasMember("value") && first.HasMember("synonyms")) return ImportKind::kDialogflowOther;
  return ImportKind::kUnknown;
}

ImportKind YamlKind(const YamlNode& root) {
  if (!root.is_mapping()) return ImportKind::kUnknown;
  auto has = [&](std::string_view key) { return root.Get(key).kind() != YamlNode::Kind::kNone; };
  if (has("nlu")) return ImportKind::kRasaNlu;
  if (has("responses") || has("intents") || has("templates")) return ImportKind::kRasaDomain;
  if (has("pipeline") || has("policies") || has("recipe") || has("language")) return ImportKind::kRasaConfig;
  if (has("stories") || has("rules")) return ImportKind::kRasaOther;
  return ImportKind::kUnknown;
}

bool IsKefuCsvHeader(std::string_view body) {
  std::string header(body.substr(0, body.find('\n')));
  for (char& c : header) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return header.find("question") != std::string::npos && header.find("answer") != std::string::npos &&
         header.find("intent") != std::string::npos && header.find(',') != std::string::npos;
}

std::string_view KindName(ImportKind kind) {
  switch (kind) {
    case ImportKind::kRasaNlu: return "Rasa NLU data";
    case ImportKind::kRasaDomain: return "Rasa domain";
    case ImportKind::kRasaConfig: return "Rasa config";
    case ImportKind::kRasaOther: return "Rasa stories or rules (not knowledge): skipped";
    case ImportKind::kDialogflowAgent: return "Dialogflow agent";
    case ImportKind::kDialogflowIntent: return "Dialogflow intent";
    case ImportKind::kDialogflowUsersays: return "Dialogflow training phrases";
    case ImportKind::kDialogflowOther: return "Dialogflow package or entities (not knowledge): skipped";
    case ImportKind::kKefuCsv: return "kefu CSV";
    case ImportKind::kUnknown: break;
  }
  return "not recognised (not a Rasa project, a Dialogflow export or kefu CSV): skipped";
}

}  // namespace

Result<ImportKind> DetectImportKind(const ImportFile& file) {
  const std::string_view body = Body(file.content);
  const std::string ext = Extension(file.name);
  if (!body.empty() && (body[0] == '{' || body[0] == '[')) {
    auto doc = ParseJson(body, JsonLimits{64});
    if (doc.ok()) return JsonKind(**doc, file.name);
    if (ext == "json") return doc.status().WithContext(file.name);
  }
  if (ext == "json") return ImportKind::kUnknown;
  if (IsKefuCsvHeader(body)) return ImportKind::kKefuCsv;
  if (ext == "csv" || ext == "zip") return ImportKind::kUnknown;
  auto yaml = YamlDocument::Parse(file.content, file.name);
  if (!yaml.ok()) return ext == "yml" || ext == "yaml" ? Result<ImportKind>(yaml.status()) : ImportKind::kUnknown;
  return YamlKind((*yaml)->root());
}

Result<ImportReport> ImportKnowledge(const std::vector<ImportFile>& files) {
  ImportReport report;
  std::map<ImportKind, std::vector<const ImportFile*>> by_kind;
  for (const ImportFile& f : files) {
    auto kind = DetectImportKind(f);
    if (!kind.ok()) return kind.status();
    by_kind[*kind].push_back(&f);
    report.sources.push_back(f.name + ": " + std::string(KindName(*kind)));
  }
  std::vector<ImportedIntent> intents;
  const auto& nlu = by_kind[ImportKind::kRasaNlu];
  if (!nlu.empty() || !by_kind[ImportKind::kRasaDomain].empty()) {
    KEFU_RETURN_IF_ERROR(ImportRasa(nlu, by_kind[ImportKind::kRasaDomain], by_kind[ImportKind::kRasaConfig], &intents, &report));
  }
  if (!by_kind[ImportKind::kDialogflowIntent].empty() || !by_kind[ImportKind::kDialogflowUsersays].empty()) {
    KEFU_RETURN_IF_ERROR(ImportDialogflow(by_kind[ImportKind::kDialogflowAgent], by_kind[ImportKind::kDialogflowIntent],
                                          by_kind[ImportKind::kDialogflowUsersays], &intents, &report));
  }
  for (const ImportFile* f : by_kind[ImportKind::kKefuCsv]) KEFU_RETURN_IF_ERROR(ImportKefuCsv(*f, &intents, &report));
  if (intents.empty()) {
    return Status::InvalidArgument("nothing to import: no Rasa NLU data, Dialogflow intents or kefu CSV among " +
                                   std::to_string(files.size()) + " files");
  }
  BuildImportedKnowledgeBases(intents, &report);
  if (report.kbs.empty()) return Status::InvalidArgument("nothing to import: no intent has an example question");
  return report;
}

Status ImportKefuCsv(const ImportFile& file, std::vector<ImportedIntent>* intents, ImportReport* report) {
  auto kb = ParseKnowledgeBaseCsvDraft(file.content, file.name);
  if (!kb.ok()) return kb.status();
  for (KbEntry& e : kb->entries) {
    ImportedIntent intent;
    intent.name = e.title;
    intent.where = file.name;
    intent.answer = e.answer;
    intent.answer_where = file.name;
    intent.team = e.team;
    for (std::string& q : e.questions) intent.examples.push_back({std::move(q), file.name});
    intents->push_back(std::move(intent));
  }
  NoteSource(report, file.name, std::to_string(kb->entries.size()) + " intents");
  return Status::OK();
}

void NoteSource(ImportReport* report, const std::string& name, const std::string& detail) {
  for (std::string& line : report->sources) {
    if (line.size() > name.size() && line.compare(0, name.size() + 2, name + ": ") == 0) {
      line += ": " + detail;
      return;
    }
  }
  report->sources.push_back(name + ": " + detail);
}

// ---- From intents to knowledge bases ----------------------------------------------------------

namespace {

constexpr size_t kMaxImportedExamples = 1000000;

// One knowledge base being built: its entries by intent name, and which entry has each example.
struct KbUnderConstruction {
  std::string language;
  KnowledgeBase kb;
  IntentLabels labels;
  std::unordered_map<std::string, size_t> entry_of_name;
  std::vector<std::string> where_of_entry;
  std::vector<std::string> name_of_entry;  // the intent as the tool had it, for messages
  std::vector<std::string> review_of_entry;
  std::unordered_map<std::string, size_t> entry_of_example;  // normalised text -> entry
};

KbEntry& EntryFor(KbUnderConstruction& b, const ImportedIntent& intent) {
  auto [it, inserted] = b.entry_of_name.emplace(intent.name, b.kb.entries.size());
  if (inserted) {
    KbEntry e;
    e.id = b.labels.Assign(intent.name);
    e.title = SanitizeUtf8(intent.name);
    if (e.title.find(' ') == std::string::npos) std::replace(e.title.begin(), e.title.end(), '_', ' ');
    if (CountCodePoints(e.title) > KbLimits().max_title_chars) e.title = e.id;
    b.kb.entries.push_back(std::move(e));
    b.where_of_entry.push_back(intent.where);
    b.name_of_entry.push_back(intent.name);
    b.review_of_entry.emplace_back();
  }
  return b.kb.entries[it->second];
}

void AddExamples(KbUnderConstruction& b, size_t entry, const ImportedIntent& intent, ImportReport* report) {
  const KbLimits limits;
  KbEntry& e = b.kb.entries[entry];
  for (const ImportedExample& ex : intent.examples) {
    const std::string text = SanitizeUtf8(ex.text);
    const std::string key = NormalizeText(text);
    if (key.empty()) continue;
    if (CountCodePoints(text) > limits.max_question_chars) {
      report->not_imported.push_back(ex.where + ": an example of intent '" + intent.name + "' is longer than " +
                                     std::to_string(limits.max_question_chars) + " characters: left out");
      continue;
    }
    auto [it, inserted] = b.entry_of_example.emplace(key, entry);
    if (!inserted) {
      if (it->second != entry) {
        report->not_imported.push_back(ex.where + ": example \"" + text + "\" of intent '" + intent.name +
                                       "' is also an example of intent '" + b.name_of_entry[it->second] +
                                       "': kept there only");
      }
      continue;
    }
    if (e.questions.size() >= limits.max_questions_per_entry) {
      report->not_imported.push_back(ex.where + ": intent '" + intent.name + "' has more than " +
                                     std::to_string(limits.max_questions_per_entry) + " examples: the rest left out");
      break;
    }
    e.questions.push_back(text);
  }
}

void AddAnswer(KbUnderConstruction& b, size_t entry, const ImportedIntent& intent, ImportReport* report) {
  KbEntry& e = b.kb.entries[entry];
  if (e.team.empty()) e.team = intent.team;
  if (!intent.review.empty()) b.review_of_entry[entry] = intent.review;
  if (intent.answer.empty()) return;
  if (!e.answer.empty()) {
    if (e.answer != intent.answer) {
      report->not_imported.push_back(intent.answer_where + ": a second answer for intent '" + intent.name +
                                     "': the first is kept");
    }
    return;
  }
  e.answer = SanitizeUtf8(intent.answer);
  const size_t max = KbLimits().max_answer_chars;
  if (CountCodePoints(e.answer) > max) {
    size_t pos = 0;
    for (size_t n = 0; n < max && pos < e.answer.size(); ++n) DecodeUtf8(e.answer, &pos);
    e.answer.resize(pos);
    b.review_of_entry[entry] = "its answer was longer than " + std::to_string(max) + " characters and was cut";
  }
}

// Entries with no examples go; entries with no answer hand off until one is written.
void Finish(KbUnderConstruction& b, ImportReport* report) {
  KnowledgeBase kb;
  kb.language = b.language;
  for (size_t i = 0; i < b.kb.entries.size(); ++i) {
    KbEntry& e = b.kb.entries[i];
    const std::string& where = b.where_of_entry[i];
    const std::string& name = b.name_of_entry[i];
    if (e.questions.empty()) {
      report->not_imported.push_back(where + ": intent '" + name + "' has no examples: not imported");
      continue;
    }
    std::string why = b.review_of_entry[i];
    if (e.answer.empty()) {
      why = "has no answer";
      e.answer = "(imported without an answer from " + where + ": write one, then remove handoff and the " +
                 std::string(kNeedsReviewTag) + " tag)";
      e.handoff = true;
    }
    if (!why.empty()) {
      e.tags.emplace_back(kNeedsReviewTag);
      report->review.push_back(where + ": intent '" + name + "' " + why + ": entry '" + e.id + "' is tagged " +
                               std::string(kNeedsReviewTag) + (e.handoff ? " and hands off to a person" : ""));
    }
    kb.entries.push_back(std::move(e));
  }
  if (!kb.entries.empty()) report->kbs.push_back({b.language, std::move(kb)});
}

}  // namespace

void BuildImportedKnowledgeBases(const std::vector<ImportedIntent>& intents, ImportReport* report) {
  std::vector<KbUnderConstruction> kbs;
  size_t examples = 0;
  for (const ImportedIntent& intent : intents) {
    examples += intent.examples.size();
    if (examples > kMaxImportedExamples) {
      report->not_imported.push_back(intent.where + ": more than " + std::to_string(kMaxImportedExamples) +
                                     " examples in all: the rest left out");
      break;
    }
    auto b = std::find_if(kbs.begin(), kbs.end(), [&](const auto& k) { return k.language == intent.language; });
    if (b == kbs.end()) {
      kbs.emplace_back();
      kbs.back().language = intent.language;
      b = kbs.end() - 1;
    }
    EntryFor(*b, intent);
    const size_t entry = b->entry_of_name.at(intent.name);
    AddExamples(*b, entry, intent, report);
    AddAnswer(*b, entry, intent, report);
  }
  for (KbUnderConstruction& b : kbs) Finish(b, report);
}

}  // namespace kefu
