// kefu kb import's core (kb/import.h): Rasa, Dialogflow ES and CSV sources in memory become
// knowledge bases, with what could not be imported named by file and line.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/yaml_document.h"
#include "kb/import.h"
#include "kb/import_formats.h"

namespace kefu {
namespace {

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

bool AnyContains(const std::vector<std::string>& lines, std::string_view needle) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return Contains(l, needle); });
}

const KbEntry* Find(const ImportReport& r, size_t kb, std::string_view id) { return r.kbs.at(kb).kb.Find(id); }

const char* kNlu =
    "version: \"3.1\"\n"                                    // 1
    "nlu:\n"                                                // 2
    "- intent: book_leave\n"                                // 3
    "  examples: |\n"                                       // 4
    "    - book leave in [August](month)\n"                 // 5
    "    - trip to [Berlin]{\"entity\": \"city\"}\n"        // 6
    "\n"                                                    // 7
    "    - leave for [two](n:2) [days][{\"entity\": \"d\"}]\n"  // 8
    "- intent: payslip\n"                                   // 9
    "  examples:\n"                                         // 10
    "  - where is my payslip\n"                             // 11
    "  - text: download my payslip\n"                       // 12
    "- intent: no_examples\n"                               // 13
    "- intent: shares_one\n"                                // 14
    "  examples: |\n"                                       // 15
    "    - where is my payslip\n"                           // 16
    "    - stock options\n"                                 // 17
    "- synonym: vacation\n"                                 // 18
    "  examples: |\n"
    "    - holiday\n";

const char* kDomain =
    "intents:\n"
    "- book_leave\n"
    "- payslip:\n"
    "    use_entities: []\n"
    "responses:\n"
    "  utter_book_leave:\n"
    "  - text: \"Use the HR portal.\"\n"
    "  utter_payslip:\n"
    "  - text: \"Slack only\"\n"
    "    channel: slack\n"
    "  - text: \"Pay > Payslips, {name}.\"\n";

TEST_CASE("entity annotations are stripped from examples, other brackets kept") {
  CHECK(StripEntityAnnotations("fly to [Berlin](city) now") == "fly to Berlin now");
  CHECK(StripEntityAnnotations("[Berlin]{\"entity\": \"city\", \"value\": \"BER\"}") == "Berlin");
  CHECK(StripEntityAnnotations("[two](n:2) [days][{\"entity\": \"d\"}, {\"entity\": \"e\"}]") == "two days");
  CHECK(StripEntityAnnotations("a [note] and (aside) [open") == "a [note] and (aside) [open");
}

TEST_CASE("a Rasa project: examples without annotations, utter_ responses as answers, lines in every note") {
  auto report = ImportKnowledge({{"data/nlu.yml", kNlu}, {"domain.yml", kDomain}, {"config.yml", "language: EN\n"}});
  REQUIRE_MESSAGE(report.ok(), report.status().message());
  REQUIRE(report->kbs.size() == 1);
  CHECK(report->kbs[0].language == "en");
  const KbEntry* leave = Find(*report, 0, "book_leave");
  REQUIRE(leave != nullptr);
  CHECK(leave->title == "book leave");
  CHECK(leave->questions == std::vector<std::string>{"book leave in August", "trip to Berlin", "leave for two days"});
  CHECK(leave->answer == "Use the HR portal.");
  const KbEntry* payslip = Find(*report, 0, "payslip");
  REQUIRE(payslip != nullptr);
  CHECK(payslip->answer == "Pay > Payslips, {name}.");  // the variant for every channel
  CHECK(payslip->questions.size() == 2);
  CHECK(std::count(payslip->tags.begin(), payslip->tags.end(), std::string(kNeedsReviewTag)) == 1);  // {name}
  CHECK(AnyContains(report->not_imported, "data/nlu.yml:13: intent 'no_examples' has no examples: not imported"));
  CHECK(AnyContains(report->not_imported, "data/nlu.yml:16: example \"where is my payslip\" of intent 'shares_one' is "
                                          "also an example of intent 'payslip': kept there only"));
  const KbEntry* shares = Find(*report, 0, "shares_one");
  REQUIRE(shares != nullptr);
  CHECK(shares->handoff);  // no utter_shares_one: hands off until answered
  CHECK(AnyContains(report->review, "data/nlu.yml:14: intent 'shares_one' has no answer"));
  CHECK(Find(*report, 0, "no_examples") == nullptr);
}

TEST_CASE("broken Rasa input names file and line") {
  auto bad = ImportKnowledge({{"data/nlu.yml", "nlu:\n- intent: a\n  examples: |\n    - x\n - intent: b\n"}, {"domain.yml", kDomain}});
  REQUIRE_FALSE(bad.ok());
  CHECK(Contains(bad.status().message(), "data/nlu.yml:5:"));
  CHECK(Contains(bad.status().message(), "invalid YAML"));
  auto no_domain = ImportKnowledge({{"data/nlu.yml", kNlu}});
  REQUIRE_FALSE(no_domain.ok());
  CHECK(Contains(no_domain.status().message(), "data/nlu.yml:2: Rasa NLU data without its domain"));
  auto no_nlu = ImportKnowledge({{"domain.yml", kDomain}});
  REQUIRE_FALSE(no_nlu.ok());
  CHECK(Contains(no_nlu.status().message(), "domain.yml:1: a Rasa domain without NLU data"));
}

std::string Usersays(const std::string& lang, const std::vector<std::string>& phrases) {
  std::string out = "[";
  for (size_t i = 0; i < phrases.size(); ++i) {
    out += std::string(i ? ",\n" : "\n") + "  {\"data\": [{\"text\": \"" + phrases[i] +
           " \"}, {\"text\": \"42\", \"alias\": \"n\", \"meta\": \"@sys.number\"}], \"isTemplate\": false, \"lang\": \"" +
           lang + "\"}";
  }
  return out + "\n]";
}

std::string DialogflowIntent(const std::string& name, const std::string& messages, bool fallback = false) {
  return "{\n  \"id\": \"x\",\n  \"name\": \"" + name + "\",\n  \"responses\": [{\"messages\": [" + messages +
         "]}],\n  \"fallbackIntent\": " + (fallback ? "true" : "false") + "\n}\n";
}

TEST_CASE("a Dialogflow export: one knowledge base per language, phrases joined from their parts") {
  const std::vector<ImportFile> files = {
      {"agent/agent.json", R"({"displayName": "shop", "language": "en", "supportedLanguages": ["zh-cn"]})"},
      {"agent/package.json", R"({"version": "1.0.0"})"},
      {"agent/intents/Order Status.json",
       DialogflowIntent("Order Status", R"({"type": "0", "lang": "en", "speech": ["See My orders.", "Other"]},
                                          {"type": 0, "lang": "zh-cn", "speech": "请看我的订单。"},
                                          {"type": "4", "lang": "en", "payload": {}})")},
      {"agent/intents/Order Status_usersays_en.json", Usersays("en", {"where is order", "track order"})},
      {"agent/intents/Order Status_usersays_zh-CN.json", Usersays("zh-cn", {"订单在哪", "查订单"})},
      {"agent/intents/Default Fallback Intent.json", DialogflowIntent("Default Fallback Intent", "", true)},
      {"agent/intents/Welcome.json", DialogflowIntent("Welcome", R"({"type": "0", "speech": "Hi"})")},
  };
  auto report = ImportKnowledge(files);
  REQUIRE_MESSAGE(report.ok(), report.status().message());
  REQUIRE(report->kbs.size() == 2);
  CHECK(report->kbs[0].language == "en");
  CHECK(report->kbs[1].language == "zh-cn");
  const KbEntry* en = Find(*report, 0, "order-status");
  REQUIRE(en != nullptr);
  CHECK(en->title == "Order Status");
  CHECK(en->questions == std::vector<std::string>{"where is order 42", "track order 42"});
  CHECK(en->answer == "See My orders.");
  const KbEntry* zh = Find(*report, 1, "order-status");
  REQUIRE(zh != nullptr);
  CHECK(zh->answer == "请看我的订单。");
  CHECK(zh->questions.front() == "订单在哪 42");
  CHECK(AnyContains(report->not_imported, "agent/intents/Default Fallback Intent.json:3: 'Default Fallback Intent' is a fallback intent"));
  CHECK(AnyContains(report->not_imported, "agent/intents/Welcome.json:3: intent 'Welcome' has no examples: not imported"));
  CHECK(AnyContains(report->not_imported, "rich responses"));
  CHECK(AnyContains(report->sources, "agent/package.json: Dialogflow package or entities (not knowledge): skipped"));
}

TEST_CASE("a Dialogflow file that is not valid JSON is named with line and column") {
  auto bad = ImportKnowledge({{"intents/A.json", "{\n  \"name\": \"A\",\n  \"responses\": [\n}\n"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(Contains(bad.status().message(), "intents/A.json: invalid JSON at line 4, column 1"));
}

TEST_CASE("kefu CSV: an intent without an answer is marked for review, not dropped") {
  auto report = ImportKnowledge({{"faq.csv", "question,answer,intent\nhow do I apply,Use the portal,Apply\n"
                                             "who is my manager,,Org chart\nmy manager's name,,Org chart\n"}});
  REQUIRE_MESSAGE(report.ok(), report.status().message());
  const KbEntry* org = Find(*report, 0, "org-chart");
  REQUIRE(org != nullptr);
  CHECK(org->handoff);
  CHECK(org->tags == std::vector<std::string>{std::string(kNeedsReviewTag)});
  CHECK(org->questions.size() == 2);
  CHECK(AnyContains(report->review, "faq.csv: intent 'Org chart' has no answer"));
}

TEST_CASE("content decides the format, not the file name; unknown files are reported, not fatal") {
  auto kind = [](const std::string& name, const std::string& content) { return DetectImportKind({name, content}).value(); };
  CHECK(kind("a.txt", "nlu:\n- intent: x\n") == ImportKind::kRasaNlu);
  CHECK(kind("anything.yml", "responses:\n  utter_x:\n  - text: hi\n") == ImportKind::kRasaDomain);
  CHECK(kind("rules.yml", "rules:\n- rule: x\n") == ImportKind::kRasaOther);
  CHECK(kind("faq.txt", "Question,Answer,Intent\nq,a,i\n") == ImportKind::kKefuCsv);
  CHECK(kind("x.json", R"([{"value": "red", "synonyms": ["red"]}])") == ImportKind::kDialogflowOther);
  CHECK(kind("notes.yml", "just: some\nkeys: here\n") == ImportKind::kUnknown);
  CHECK_FALSE(DetectImportKind({"bad.yml", "a: [\n"}).ok());
  auto nothing = ImportKnowledge({{"notes.yml", "just: text\n"}});
  REQUIRE_FALSE(nothing.ok());
  CHECK(Contains(nothing.status().message(), "nothing to import"));
}

TEST_CASE("YAML nodes know their lines; deep nesting is refused at once, not parsed in quadratic time") {
  auto doc = YamlDocument::Parse("a:\n  b: |\n    one\n    two\n  c: [1, 2]\n", "f.yml");
  REQUIRE(doc.ok());
  const YamlNode b = (*doc)->root().Get("a").Get("b");
  CHECK(b.line() == 2);
  CHECK(b.is_literal_block());
  CHECK(b.scalar() == "one\ntwo\n");
  CHECK((*doc)->root().Get("a").Get("c").item(1).scalar() == "2");
  CHECK((*doc)->root().Get("missing").kind() == YamlNode::Kind::kNone);
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');  // 40,000 alone took 14 s
  auto deep_doc = YamlDocument::Parse(deep, "deep.yml");
  REQUIRE_FALSE(deep_doc.ok());
  CHECK(deep_doc.status().message() == "deep.yml:1:65: YAML nested deeper than 64 levels");
  auto by_indent = YamlDocument::Parse("a:\n  b:\n    c: [[1]]\n", "f.yml", 4);  // 3 mappings, a list, the 5th level
  REQUIRE_FALSE(by_indent.ok());
  CHECK(Contains(by_indent.status().message(), "f.yml:3:9: YAML nested deeper than 4 levels"));
  CHECK(YamlDocument::Parse("a:\n  b:\n    c: [1]\n", "f.yml", 4).ok());
}

}  // namespace
}  // namespace kefu
