// Dialogflow ES agent exports: agent.json (the default language), intents/<name>.json (text
// responses per language) and intents/<name>_usersays_<lang>.json (training phrases).
#include <algorithm>
#include <map>

#include "base/json.h"
#include "base/json_position.h"
#include "kb/import_formats.h"

namespace kefu {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; });
  return s;
}

std::string Where(const ImportFile& f, size_t line) { return f.name + ":" + std::to_string(line); }

// The string of a member that may be a string or a number ("type": "0" or 0).
std::string TextOf(const JsonObject& o, std::string_view name) {
  std::string s;
  if (o.GetString(name, Presence::kRequired, &s, 1000, true).ok()) return s;
  int64_t n = 0;
  if (o.GetInt(name, Presence::kRequired, INT64_MIN, INT64_MAX, &n).ok()) return std::to_string(n);
  return "";
}

// The first non-empty text of "speech": a string, or an array of alternatives.
std::string SpeechOf(const rapidjson::Value& message) {
  auto it = message.FindMember("speech");
  if (it == message.MemberEnd()) return "";
  const rapidjson::Value& speech = it->value;
  if (speech.IsString() && !IsJsonNumber(speech)) return std::string(speech.GetString(), speech.GetStringLength());
  for (rapidjson::SizeType i = 0; speech.IsArray() && i < speech.Size(); ++i) {
    if (speech[i].IsString() && !IsJsonNumber(speech[i]) && speech[i].GetStringLength() > 0) {
      return std::string(speech[i].GetString(), speech[i].GetStringLength());
    }
  }
  return "";
}

struct DialogflowIntent {
  std::string name;
  std::string where;
  bool fallback = false;
  std::map<std::string, std::string> answer_of_language;
  bool rich = false;  // cards, quick replies, images, payloads: not imported
};

// One intent file's name and text responses, per language (`default_language` when none is named).
Status ReadIntent(const ImportFile& f, const std::string& default_language, DialogflowIntent* out) {
  auto doc = ParseJson(f.content, JsonLimits{64});
  if (!doc.ok()) return doc.status().WithContext(f.name);
  auto root = JsonObject::From(**doc);
  out->where = Where(f, JsonLineOf(f.content, {JsonPathStep::Member("name")}));
  Status s = root->GetString("name", Presence::kRequired, &out->name, 200);
  if (!s.ok()) return s.WithContext(out->where);
  (void)root->GetBool("fallbackIntent", Presence::kOptional, &out->fallback);  // anything else: not a fallback
  const rapidjson::Value* responses = nullptr;
  (void)root->GetArray("responses", Presence::kOptional, &responses);  // anything else: no responses
  for (rapidjson::SizeType r = 0; responses != nullptr && r < responses->Size(); ++r) {
    const rapidjson::Value& response = (*responses)[r];
    auto messages = response.IsObject() ? response.FindMember("messages") : response.MemberEnd();
    if (!response.IsObject() || messages == response.MemberEnd() || !messages->value.IsArray()) continue;
    for (const rapidjson::Value& m : messages->value.GetArray()) {
      auto message = JsonObject::From(m);
      if (!message.ok()) continue;
      if (TextOf(*message, "type") != "0" || !TextOf(*message, "platform").empty()) {
        out->rich = true;
        continue;
      }
      const std::string lang = Lower(TextOf(*message, "lang"));
      const std::string text = SpeechOf(m);
      if (text.empty()) continue;
      std::string& answer = out->answer_of_language[lang.empty() ? default_language : lang];
      answer += (answer.empty() ? "" : "\n\n") + text;
    }
  }
  return Status::OK();
}

// "<base>_usersays_<lang>.json" -> {"<base>.json", "<lang>"}.
std::pair<std::string, std::string> IntentFileOf(const std::string& usersays_name) {
  const size_t at = usersays_name.rfind("_usersays_");
  if (at == std::string::npos) return {usersays_name, ""};
  std::string lang = usersays_name.substr(at + 10);
  if (lang.size() > 5 && lang.compare(lang.size() - 5, 5, ".json") == 0) lang.resize(lang.size() - 5);
  return {usersays_name.substr(0, at) + ".json", Lower(lang)};
}

// The training phrases of one usersays file: each phrase's parts joined (annotated parts are the
// words the customer said), template phrases ("@sys.date:date") left out.
Status ReadUsersays(const ImportFile& f, std::vector<ImportedExample>* examples, ImportReport* report) {
  auto doc = ParseJson(f.content, JsonLimits{64});
  if (!doc.ok()) return doc.status().WithContext(f.name);
  const rapidjson::Value& phrases = **doc;
  for (rapidjson::SizeType i = 0; phrases.IsArray() && i < phrases.Size(); ++i) {
    const std::string where = Where(f, JsonLineOf(f.content, {JsonPathStep::Item(i)}));
    auto phrase = JsonObject::From(phrases[i]);
    const rapidjson::Value* parts = nullptr;
    if (!phrase.ok() || !phrase->GetArray("data", Presence::kRequired, &parts).ok()) {
      report->not_imported.push_back(where + ": a training phrase without 'data': left out");
      continue;
    }
    bool is_template = false;
    (void)phrase->GetBool("isTemplate", Presence::kOptional, &is_template);
    if (is_template) {
      report->not_imported.push_back(where + ": a template phrase (@entity:name) is not an example: left out");
      continue;
    }
    std::string text;
    for (const rapidjson::Value& part : parts->GetArray()) {
      auto p = JsonObject::From(part);
      std::string piece;
      if (p.ok() && p->GetString("text", Presence::kRequired, &piece, 2000, true).ok()) text += piece;
    }
    examples->push_back({text, where});
  }
  return Status::OK();
}

std::string DefaultLanguage(const std::vector<const ImportFile*>& agent) {
  for (const ImportFile* f : agent) {
    auto doc = ParseJson(f->content, JsonLimits{64});
    if (!doc.ok()) continue;
    std::string lang;
    if (JsonObject::From(**doc)->GetString("language", Presence::kRequired, &lang, 16).ok()) return Lower(lang);
  }
  return "";
}

}  // namespace

Status ImportDialogflow(const std::vector<const ImportFile*>& agent, const std::vector<const ImportFile*>& intent_files,
                        const std::vector<const ImportFile*>& usersays, std::vector<ImportedIntent>* intents,
                        ImportReport* report) {
  const std::string default_language = DefaultLanguage(agent);
  std::map<std::string, DialogflowIntent> by_file;
  for (const ImportFile* f : intent_files) KEFU_RETURN_IF_ERROR(ReadIntent(*f, default_language, &by_file[f->name]));
  std::map<std::string, std::map<std::string, std::vector<ImportedExample>>> examples;  // file -> lang -> phrases
  for (const ImportFile* f : usersays) {
    const auto [intent_file, lang] = IntentFileOf(f->name);
    if (!by_file.count(intent_file)) {
      report->not_imported.push_back(f->name + ":1: training phrases whose intent file " + intent_file +
                                     " is missing: left out");
      continue;
    }
    KEFU_RETURN_IF_ERROR(ReadUsersays(*f, &examples[intent_file][lang.empty() ? default_language : lang], report));
  }
  for (auto& [file, intent] : by_file) {
    if (intent.fallback) {
      report->not_imported.push_back(intent.where + ": '" + intent.name +
                                     "' is a fallback intent: kefu escalates what it cannot answer on its own");
      continue;
    }
    if (intent.rich) {
      report->not_imported.push_back(intent.where + ": '" + intent.name +
                                     "': rich responses (cards, quick replies, images, payloads) are not imported");
    }
    auto& phrases = examples[file];
    if (phrases.empty()) phrases[default_language];  // reported as having no examples
    size_t n = 0;
    for (const auto& [lang, list] : phrases) n += list.size();
    NoteSource(report, file, std::to_string(n) + " training phrases in " + std::to_string(phrases.size()) +
                                 (phrases.size() == 1 ? " language" : " languages"));
    for (auto& [lang, list] : phrases) {
      auto answer = intent.answer_of_language.find(lang);
      ImportedIntent i{intent.name, lang, intent.where, std::move(list),
                       answer == intent.answer_of_language.end() ? "" : answer->second, intent.where, "", ""};
      intents->push_back(std::move(i));
    }
  }
  for (const ImportFile* f : agent) NoteSource(report, f->name, "default language " + default_language);
  return Status::OK();
}

}  // namespace kefu
