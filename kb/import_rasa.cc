// Rasa projects: NLU data (nlu.yml: intents and their examples), the domain (domain.yml: the
// utter_<intent> responses that become answers) and the config (config.yml: the language).
#include <algorithm>
#include <map>

#include "base/yaml_document.h"
#include "kb/import_formats.h"

namespace kefu {
namespace {

std::string Where(const ImportFile& f, size_t line) { return f.name + ":" + std::to_string(line); }

std::string Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  return std::string(s.substr(b, s.find_last_not_of(" \t\r") - b + 1));
}

// The index just past the bracket that closes the one at `open`, or npos. Quotes inside {...}
// and [...] (JSON) are skipped.
size_t PastClosing(std::string_view s, size_t open) {
  const char o = s[open], c = o == '(' ? ')' : o == '{' ? '}' : ']';
  int depth = 0;
  bool quoted = false;
  for (size_t i = open; i < s.size(); ++i) {
    if (quoted) {
      if (s[i] == '\\') ++i;
      else if (s[i] == '"') quoted = false;
    } else if (s[i] == '"' && o != '(') {
      quoted = true;
    } else if (s[i] == o) {
      ++depth;
    } else if (s[i] == c && --depth == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// The examples of one NLU intent: a block of "- example" lines, or a list of strings or
// {text: ...} mappings.
void ReadExamples(const ImportFile& f, const YamlNode& examples, ImportedIntent* intent, ImportReport* report) {
  if (examples.is_sequence()) {
    for (size_t i = 0; i < examples.size(); ++i) {
      const YamlNode item = examples.item(i);
      const std::string_view text = item.is_mapping() ? item.Get("text").scalar() : item.scalar();
      intent->examples.push_back({StripEntityAnnotations(Trim(text)), Where(f, item.line())});
    }
    return;
  }
  const std::string_view block = examples.scalar();
  size_t start = 0;
  for (size_t k = 0; start < block.size(); ++k) {
    size_t end = block.find('\n', start);
    if (end == std::string_view::npos) end = block.size();
    const std::string line = Trim(block.substr(start, end - start));
    start = end + 1;
    const size_t line_no = examples.is_literal_block() ? examples.line() + 1 + k : examples.line();
    if (line.empty()) continue;
    if (line[0] != '-') {
      report->not_imported.push_back(Where(f, line_no) + ": not an example line (\"- example\"): left out");
      continue;
    }
    intent->examples.push_back({StripEntityAnnotations(Trim(std::string_view(line).substr(1))), Where(f, line_no)});
  }
}

Status ReadNlu(const ImportFile& f, const std::string& language, std::vector<ImportedIntent>* intents,
               ImportReport* report) {
  auto doc = YamlDocument::Parse(f.content, f.name);
  if (!doc.ok()) return doc.status();
  const YamlNode nlu = (*doc)->root().Get("nlu");
  if (!nlu.is_sequence()) return Status::InvalidArgument(Where(f, nlu.line()) + ": 'nlu' must be a list of items");
  size_t count = 0, examples = 0;
  for (size_t i = 0; i < nlu.size(); ++i) {
    const YamlNode item = nlu.item(i);
    const YamlNode name = item.Get("intent");
    if (!name.is_scalar()) continue;  // synonym, regex, lookup: not knowledge
    ImportedIntent intent;
    intent.name = Trim(name.scalar());
    intent.language = language;
    intent.where = Where(f, name.line());
    ReadExamples(f, item.Get("examples"), &intent, report);
    examples += intent.examples.size();
    ++count;
    intents->push_back(std::move(intent));
  }
  NoteSource(report, f.name, std::to_string(count) + " intents, " + std::to_string(examples) + " examples");
  return Status::OK();
}

// The first text of a response's variants that is meant for every channel (else the first text).
void ReadResponse(const ImportFile& f, const YamlNode& variants, std::string* text, std::string* where,
                  ImportReport* report) {
  YamlNode chosen;
  for (size_t i = 0; i < variants.size(); ++i) {
    const YamlNode v = variants.item(i);
    if (!v.Get("text").is_scalar()) continue;
    if (chosen.kind() == YamlNode::Kind::kNone || (chosen.Get("channel").kind() != YamlNode::Kind::kNone &&
                                                   v.Get("channel").kind() == YamlNode::Kind::kNone)) {
      chosen = v;
    }
  }
  if (chosen.kind() == YamlNode::Kind::kNone) return;
  *text = Trim(chosen.Get("text").scalar());
  *where = Where(f, chosen.line());
  for (const char* rich : {"buttons", "image", "custom", "attachment", "quick_replies"}) {
    if (chosen.Get(rich).kind() != YamlNode::Kind::kNone) {
      report->not_imported.push_back(*where + ": the response's " + rich + " are not imported (its text is)");
    }
  }
}

struct Domain {
  std::map<std::string, std::pair<std::string, std::string>> answer_of;  // intent -> (text, where)
  std::vector<std::pair<std::string, std::string>> intents;               // name, where
};

Status ReadDomain(const ImportFile& f, Domain* domain, ImportReport* report) {
  auto doc = YamlDocument::Parse(f.content, f.name);
  if (!doc.ok()) return doc.status();
  const YamlNode root = (*doc)->root();
  const YamlNode listed = root.Get("intents");
  for (size_t i = 0; i < listed.size(); ++i) {
    const YamlNode item = listed.item(i);
    const YamlNode name = item.is_mapping() ? item.key(0) : item;
    if (name.is_scalar()) domain->intents.emplace_back(Trim(name.scalar()), Where(f, name.line()));
  }
  YamlNode responses = root.Get("responses");
  if (responses.kind() == YamlNode::Kind::kNone) responses = root.Get("templates");  // Rasa 1
  for (size_t i = 0; i < responses.size(); ++i) {
    const std::string name(responses.key(i).scalar());
    if (name.rfind("utter_", 0) != 0) continue;
    std::string text, where;
    ReadResponse(f, responses.value(i), &text, &where, report);
    if (!text.empty()) domain->answer_of.emplace(name.substr(6), std::make_pair(text, where));
  }
  NoteSource(report, f.name, std::to_string(domain->intents.size()) + " intents, " +
                                 std::to_string(domain->answer_of.size()) + " text responses");
  return Status::OK();
}

// "{name}" in an answer: a slot Rasa fills and kefu does not.
bool UsesSlot(std::string_view text) {
  const size_t open = text.find('{');
  return open != std::string_view::npos && text.find('}', open) != std::string_view::npos;
}

}  // namespace

std::string StripEntityAnnotations(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '[') {
      const size_t close = s.find(']', i + 1);
      if (close != std::string_view::npos && close + 1 < s.size() &&
          (s[close + 1] == '(' || s[close + 1] == '{' || s[close + 1] == '[')) {
        const size_t past = PastClosing(s, close + 1);
        if (past != std::string_view::npos) {
          out.append(s.substr(i + 1, close - i - 1));
          i = past - 1;
          continue;
        }
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

Status ImportRasa(const std::vector<const ImportFile*>& nlu, const std::vector<const ImportFile*>& domain_files,
                  const std::vector<const ImportFile*>& config, std::vector<ImportedIntent>* intents,
                  ImportReport* report) {
  if (domain_files.empty()) {
    auto doc = YamlDocument::Parse(nlu[0]->content, nlu[0]->name);
    if (!doc.ok()) return doc.status();
    size_t line = 1;  // of the "nlu:" key
    for (size_t i = 0; i < (*doc)->root().size(); ++i) {
      if ((*doc)->root().key(i).scalar() == "nlu") line = (*doc)->root().key(i).line();
    }
    return Status::InvalidArgument(Where(*nlu[0], line) + ": Rasa NLU data without its domain: the answers are the "
                                   "domain's utter_<intent> responses; give domain.yml (or the project's folder) too");
  }
  if (nlu.empty()) {
    return Status::InvalidArgument(domain_files[0]->name + ":1: a Rasa domain without NLU data: the examples are in "
                                   "data/nlu.yml; give it (or the project's folder) too");
  }
  std::string language;
  for (const ImportFile* f : config) {
    auto doc = YamlDocument::Parse(f->content, f->name);
    if (!doc.ok()) return doc.status();
    const YamlNode lang = (*doc)->root().Get("language");
    if (lang.is_scalar() && language.empty()) language = Trim(lang.scalar());
    if (lang.is_scalar()) NoteSource(report, f->name, "language " + Trim(lang.scalar()));
  }
  std::transform(language.begin(), language.end(), language.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; });
  Domain domain;
  for (const ImportFile* f : domain_files) KEFU_RETURN_IF_ERROR(ReadDomain(*f, &domain, report));
  const size_t first = intents->size();
  for (const ImportFile* f : nlu) KEFU_RETURN_IF_ERROR(ReadNlu(*f, language, intents, report));
  for (const auto& [name, where] : domain.intents) {  // listed in the domain, never exemplified
    const std::string& wanted = name;  // clang < 16 cannot capture a structured binding
    const bool in_nlu = std::any_of(intents->begin() + static_cast<std::ptrdiff_t>(first), intents->end(),
                                    [&](const ImportedIntent& i) { return i.name == wanted; });
    if (!in_nlu) intents->push_back(ImportedIntent{name, language, where, {}, "", "", "", ""});
  }
  for (auto it = intents->begin() + static_cast<std::ptrdiff_t>(first); it != intents->end(); ++it) {
    auto answer = domain.answer_of.find(it->name);
    if (answer == domain.answer_of.end()) continue;
    it->answer = answer->second.first;
    it->answer_where = answer->second.second;
    if (UsesSlot(it->answer)) it->review = "has an answer with a {slot}, which kefu does not fill";
  }
  return Status::OK();
}

}  // namespace kefu
