#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/json.h"
#include "kb/knowledge_base.h"

namespace kefu {
namespace {

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// The problem lines of a failed parse (the first line is the summary).
std::vector<std::string> ProblemLines(const Status& s) {
  std::vector<std::string> lines;
  size_t pos = 0;
  const std::string& m = s.message();
  while (pos <= m.size()) {
    size_t end = m.find('\n', pos);
    if (end == std::string::npos) end = m.size();
    lines.push_back(m.substr(pos, end - pos));
    pos = end + 1;
  }
  return std::vector<std::string>(lines.begin() + 1, lines.end());
}

// Parses `json` as kb.json, expects exactly one problem and returns its line.
std::string OneProblem(const std::string& json, const KbLimits& limits = {}) {
  auto kb = ParseKnowledgeBaseJson(json, "kb.json", limits);
  REQUIRE_FALSE(kb.ok());
  CHECK(kb.status().code() == Status::Code::kInvalidArgument);
  CHECK(Contains(kb.status().message(), "kb.json: invalid knowledge base (1 problem)"));
  const auto lines = ProblemLines(kb.status());
  REQUIRE_MESSAGE(lines.size() == 1, kb.status().message());
  return lines[0];
}

// A valid entry as JSON text; `extra` is spliced in before the closing brace.
std::string Entry(const std::string& id, const std::string& question, const std::string& extra = "") {
  return R"({"id": ")" + id + R"(", "title": "Title of )" + id + R"(", "questions": [")" + question +
         R"("], "answer": "Answer of )" + id + "\"" + extra + "}";
}

std::string Kb(const std::vector<std::string>& entries, const std::string& top_extra = "") {
  std::string json = R"({"name": "test", "language": "en")" + top_extra + R"(, "entries": [)";
  for (size_t i = 0; i < entries.size(); ++i) json += (i ? ", " : "") + entries[i];
  return json + "]}";
}

TEST_CASE("the helpers build a KB that parses") {
  auto kb = ParseKnowledgeBaseJson(Kb({Entry("a", "first question"), Entry("b", "second question")}), "kb.json");
  REQUIRE_MESSAGE(kb.ok(), kb.status().ToString());
  CHECK(kb->entries.size() == 2);
}

TEST_CASE("duplicate ids are reported naming both entries") {
  const std::string p = OneProblem(Kb({Entry("leave.apply", "one"), Entry("other", "two"), Entry("leave.apply", "three")}));
  CHECK(p == "kb.json: entry #3 'leave.apply': field 'id': duplicate of entry #1");
}

TEST_CASE("an empty answer is reported") {
  const std::string p = OneProblem(Kb({R"({"id": "x", "title": "X", "questions": ["q"], "answer": "  "})"}));
  CHECK(p == "kb.json: entry #1 'x': field 'answer': must not be empty");
}

TEST_CASE("missing or empty questions are reported") {
  CHECK(OneProblem(Kb({R"({"id": "x", "title": "X", "answer": "A"})"})) ==
        "kb.json: entry #1 'x': field 'questions': is required");
  CHECK(OneProblem(Kb({Entry("a", "q"), R"({"id": "y", "title": "Y", "questions": [], "answer": "A"})"})) ==
        "kb.json: entry #2 'y': field 'questions': needs at least one example question");
  CHECK(OneProblem(Kb({R"({"id": "x", "title": "X", "questions": ["ok", "？？"], "answer": "A"})"})) ==
        "kb.json: entry #1 'x': field 'questions' item 2: has no words");
}

TEST_CASE("one example under two entries is reported after normalisation") {
  const std::string p = OneProblem(Kb({Entry("apply", "How do I apply?"), Entry("other", "how do i apply")}));
  CHECK(Contains(p, "kb.json: entry #2 'other': field 'questions' item 1:"));
  CHECK(Contains(p, "\"how do i apply\" is also an example of entry #1 'apply'"));
  // Full-width and punctuation variants are the same example too.
  CHECK(Contains(OneProblem(Kb({Entry("a", "年假怎么请"), Entry("b", "年假怎么请？")})), "entry #2 'b'"));
  // The same example twice under one entry is harmless.
  CHECK(ParseKnowledgeBaseJson(Kb({R"({"id": "x", "title": "X", "questions": ["q", "Q!"], "answer": "A"})"}), "kb.json").ok());
}

TEST_CASE("bad UTF-8 in a question is reported with its offset") {
  const std::string p = OneProblem(Kb({Entry("x", "ab\xc3(")}));
  CHECK(Contains(p, "kb.json: entry #1 'x': field 'questions' item 1: invalid UTF-8 at byte 2"));
}

TEST_CASE("an unknown field in an entry is reported") {
  CHECK(OneProblem(Kb({Entry("x", "q", R"(, "anwser": "typo")")})) == "kb.json: entry #1 'x': field 'anwser': unknown field");
}

TEST_CASE("an unknown field at the top level is reported") {
  CHECK(OneProblem(Kb({Entry("x", "q")}, R"(, "version": 2)")) == "kb.json: field 'version': unknown field");
  CHECK(OneProblem(Kb({Entry("x", "q")}, R"(, "settings": {"threshold": 0.2})")) ==
        "kb.json: field 'settings': field 'threshold': unknown field");
}

TEST_CASE("a bad id pattern is reported") {
  CHECK(OneProblem(Kb({Entry("Leave Apply", "q")})) ==
        "kb.json: entry #1 'Leave Apply': field 'id': must match [a-z0-9][a-z0-9._-]{0,63}");
  CHECK(Contains(OneProblem(Kb({Entry(".hidden", "q")})), "entry #1 '.hidden': field 'id'"));
  CHECK(Contains(OneProblem(Kb({R"({"id": 7, "title": "X", "questions": ["q"], "answer": "A"})"})),
                 "kb.json: entry #1: field 'id': must be a string"));
  CHECK(IsValidEntryId("leave.annual.apply"));
  CHECK(IsValidEntryId("a"));
  CHECK(IsValidEntryId("0-9_x"));
  CHECK(IsValidEntryId(std::string(64, 'a')));
  CHECK_FALSE(IsValidEntryId(std::string(65, 'a')));
  CHECK_FALSE(IsValidEntryId(""));
  CHECK_FALSE(IsValidEntryId("_x"));
  CHECK_FALSE(IsValidEntryId("Upper"));
  CHECK_FALSE(IsValidEntryId("a b"));
  CHECK_FALSE(IsValidEntryId("年假"));
}

TEST_CASE("a link url that is not http(s) is reported") {
  const std::string p = OneProblem(Kb({Entry("x", "q", R"j(, "links": [{"title": "ok", "url": "https://a.example"}, {"title": "t", "url": "javascript:alert(1)"}])j")}));
  CHECK(p == "kb.json: entry #1 'x': field 'links' item 2: field 'url': must start with https:// or http://");
  CHECK(Contains(OneProblem(Kb({Entry("x", "q", R"(, "links": ["https://a.example"])")})),
                 "entry #1 'x': field 'links' item 1: must be an object"));
}

TEST_CASE("an unknown variant channel is reported") {
  const std::string p = OneProblem(Kb({Entry("x", "q", R"(, "variants": {"web": "w", "sms": "s"})")}));
  CHECK(Contains(p, "kb.json: entry #1 'x': field 'variants'"));
  CHECK(Contains(p, "field 'sms': unknown field"));
}

TEST_CASE("an answer longer than KbLimits allows is reported") {
  KbLimits limits;
  limits.max_answer_chars = 12;
  CHECK(ParseKnowledgeBaseJson(Kb({Entry("x", "q")}), "kb.json", limits).ok());  // "Answer of x": 11
  const std::string p = OneProblem(Kb({Entry("xyz", "q")}), limits);             // "Answer of xyz": 13
  CHECK(p == "kb.json: entry #1 'xyz': field 'answer': longer than 12 characters");
  KbLimits few;
  few.max_entries = 1;
  auto kb = ParseKnowledgeBaseJson(Kb({Entry("a", "q"), Entry("b", "r")}), "kb.json", few);
  REQUIRE_FALSE(kb.ok());
  const auto lines = ProblemLines(kb.status());
  REQUIRE(lines.size() == 1);  // the limit, not "no entries"
  CHECK(lines[0] == "kb.json: field 'entries': more than 1 entries");
}

TEST_CASE("an entry that is not an object is reported") {
  CHECK(OneProblem(Kb({Entry("a", "q"), "\"just text\""})) == "kb.json: entry #2: must be an object");
  auto top = ParseKnowledgeBaseJson("[1, 2]", "kb.json");
  REQUIRE_FALSE(top.ok());
  CHECK(top.status().message() == "kb.json: the top level must be an object");
}

TEST_CASE("invalid JSON is reported with its column") {
  auto kb = ParseKnowledgeBaseJson(R"({"entries": [}")", "kb.json");
  REQUIRE_FALSE(kb.ok());
  CHECK(kb.status().code() == Status::Code::kInvalidArgument);
  CHECK(Contains(kb.status().message(), "kb.json: invalid JSON at column 14"));
}

TEST_CASE("an empty entries list and a missing entries field are reported") {
  CHECK(OneProblem(Kb({})) == "kb.json: the knowledge base has no entries");
  auto kb = ParseKnowledgeBaseJson(R"({"name": "x"})", "kb.json");
  REQUIRE_FALSE(kb.ok());
  CHECK(Contains(kb.status().message(), "kb.json: field 'entries': is required"));
}

TEST_CASE("several problems in one KB are all reported") {
  const std::string json = Kb({
      Entry("Bad", "one"),                                                   // 1: bad id
      R"({"id": "b", "title": "B", "questions": ["two"], "answer": ""})",     // 2: empty answer
      Entry("c", "ONE!"),                                                     // 3: duplicate example of #1
      Entry("d", "four", R"(, "handoff": "yes")"),                           // 4: handoff not a bool
      Entry("d", "five"),                                                     // 5: duplicate id
  }, R"(, "colour": "blue")");                                                // top: unknown field
  auto kb = ParseKnowledgeBaseJson(json, "kb.json");
  REQUIRE_FALSE(kb.ok());
  const auto lines = ProblemLines(kb.status());
  CHECK(Contains(kb.status().message(), "(6 problems)"));
  REQUIRE(lines.size() == 6);
  auto has = [&](std::string_view needle) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return Contains(l, needle); });
  };
  CHECK(has("kb.json: field 'colour': unknown field"));
  CHECK(has("kb.json: entry #1 'Bad': field 'id'"));
  CHECK(has("kb.json: entry #2 'b': field 'answer': must not be empty"));
  CHECK(has("kb.json: entry #3 'c': field 'questions' item 1"));
  CHECK(has("kb.json: entry #4 'd': field 'handoff': must be true or false"));
  CHECK(has("kb.json: entry #5 'd': field 'id': duplicate of entry #4"));
  for (const std::string& l : lines) CHECK(l.rfind("kb.json: ", 0) == 0);
}

const char* kFullKb = R"({
  "name": "HR helpdesk",
  "language": "zh",
  "settings": {"answer_threshold": 0.35},
  "entries": [
    {"id": "leave.annual.apply", "title": "申请年假", "questions": ["年假怎么请？", "How do I apply for annual leave?"],
     "answer": "在 OA 系统提交 \"年假申请\"。\n审批后生效。", "team": "leave",
     "links": [{"title": "OA", "url": "https://oa.example.com/leave"}],
     "quick_replies": ["年假有几天？"], "variants": {"wecom": "企业微信：工作台 → 请假", "web": "网页版"},
     "tags": ["leave", "annual"]},
    {"id": "human", "title": "Talk to HR", "questions": ["I need to talk to HR about a complaint"],
     "answer": "Connecting you with HR.", "team": "hr-desk", "handoff": true}
  ]
})";

TEST_CASE("a valid KB parses with every field") {
  auto kb = ParseKnowledgeBaseJson(kFullKb, "full.json");
  REQUIRE_MESSAGE(kb.ok(), kb.status().ToString());
  CHECK(kb->name == "HR helpdesk");
  CHECK(kb->language == "zh");
  REQUIRE(kb->settings.answer_threshold.has_value());
  CHECK(*kb->settings.answer_threshold == 0.35);
  REQUIRE(kb->entries.size() == 2);
  const KbEntry& e = kb->entries[0];
  CHECK(e.id == "leave.annual.apply");
  CHECK(e.title == "申请年假");
  CHECK(e.questions == std::vector<std::string>{"年假怎么请？", "How do I apply for annual leave?"});
  CHECK(e.answer == "在 OA 系统提交 \"年假申请\"。\n审批后生效。");
  CHECK(e.team == "leave");
  CHECK_FALSE(e.handoff);
  REQUIRE(e.links.size() == 1);
  CHECK(e.links[0].title == "OA");
  CHECK(e.links[0].url == "https://oa.example.com/leave");
  CHECK(e.quick_replies == std::vector<std::string>{"年假有几天？"});
  CHECK(e.variants.size() == 2);
  CHECK(e.variants.at("wecom") == "企业微信：工作台 → 请假");
  CHECK(e.variants.at("web") == "网页版");
  CHECK(e.tags == std::vector<std::string>{"leave", "annual"});
  CHECK(kb->entries[1].handoff);
  CHECK(kb->entries[1].team == "hr-desk");
  CHECK(kb->Find("human") == &kb->entries[1]);
  CHECK(kb->Find("nope") == nullptr);
}

void CheckSameKb(const KnowledgeBase& a, const KnowledgeBase& b) {
  CHECK(a.name == b.name);
  CHECK(a.language == b.language);
  CHECK(a.settings.answer_threshold == b.settings.answer_threshold);
  REQUIRE(a.entries.size() == b.entries.size());
  for (size_t i = 0; i < a.entries.size(); ++i) {
    const KbEntry& x = a.entries[i];
    const KbEntry& y = b.entries[i];
    CAPTURE(x.id);
    CHECK(x.id == y.id);
    CHECK(x.title == y.title);
    CHECK(x.questions == y.questions);
    CHECK(x.answer == y.answer);
    CHECK(x.team == y.team);
    CHECK(x.handoff == y.handoff);
    REQUIRE(x.links.size() == y.links.size());
    for (size_t k = 0; k < x.links.size(); ++k) {
      CHECK(x.links[k].title == y.links[k].title);
      CHECK(x.links[k].url == y.links[k].url);
    }
    CHECK(x.quick_replies == y.quick_replies);
    CHECK(x.variants == y.variants);
    CHECK(x.tags == y.tags);
  }
}

TEST_CASE("KnowledgeBaseToJson round-trips through ParseKnowledgeBaseJson") {
  auto kb = ParseKnowledgeBaseJson(kFullKb, "full.json");
  REQUIRE(kb.ok());
  const std::string json = KnowledgeBaseToJson(*kb);
  auto again = ParseKnowledgeBaseJson(json, "again.json");
  REQUIRE_MESSAGE(again.ok(), again.status().ToString());
  CheckSameKb(*kb, *again);
  CHECK(KnowledgeBaseToJson(*again) == json);
}

TEST_CASE("KnowledgeBaseToJson keeps an answer_threshold exactly") {
  auto parsed = ParseKnowledgeBaseJson(Kb({Entry("x", "q")}), "kb.json");
  REQUIRE(parsed.ok());
  KnowledgeBase kb = *parsed;
  for (double t : {0.123456789, -0.0000001, 1.0 / 3.0, -9.75, 0.0}) {
    CAPTURE(t);
    kb.settings.answer_threshold = t;
    auto again = ParseKnowledgeBaseJson(KnowledgeBaseToJson(kb), "again.json");
    REQUIRE_MESSAGE(again.ok(), again.status().ToString());
    REQUIRE(again->settings.answer_threshold.has_value());
    CHECK(*again->settings.answer_threshold == t);
  }
}

TEST_CASE("a KB without name or language (as CSV gives) round-trips through JSON") {
  auto csv = ParseKnowledgeBaseCsv("question,answer,intent\nhow do i apply,Use the portal,apply\n", "kb.csv");
  REQUIRE_MESSAGE(csv.ok(), csv.status().ToString());
  const std::string json = KnowledgeBaseToJson(*csv);
  auto again = ParseKnowledgeBaseJson(json, "converted.json");
  REQUIRE_MESSAGE(again.ok(), again.status().ToString());
  CheckSameKb(*csv, *again);
}

// ----- CSV -----

Result<KnowledgeBase> Csv(std::string_view text) { return ParseKnowledgeBaseCsv(text, "kb.csv"); }

TEST_CASE("CSV: the header may name the columns in any order, team optional") {
  auto kb = Csv("Intent,Answer,Question\nApply Leave,Use the portal,How do I apply?\n");
  REQUIRE_MESSAGE(kb.ok(), kb.status().ToString());
  REQUIRE(kb->entries.size() == 1);
  const KbEntry& e = kb->entries[0];
  CHECK(e.id == "apply-leave");
  CHECK(e.title == "Apply Leave");
  CHECK(e.answer == "Use the portal");
  CHECK(e.questions == std::vector<std::string>{"How do I apply?"});
  CHECK(e.team.empty());

  auto with_team = Csv("team,question,intent,answer\nhr,q one,x,A\n");
  REQUIRE(with_team.ok());
  CHECK(with_team->entries[0].team == "hr");
  CHECK(with_team->entries[0].questions == std::vector<std::string>{"q one"});
}

TEST_CASE("CSV: quoted fields keep commas, newlines and doubled quotes") {
  auto kb = Csv("question,answer,intent\n"
                "\"where, exactly, do I apply?\",\"Line one\nLine \"\"two\"\"\",apply\n");
  REQUIRE_MESSAGE(kb.ok(), kb.status().ToString());
  REQUIRE(kb->entries.size() == 1);
  CHECK(kb->entries[0].questions == std::vector<std::string>{"where, exactly, do I apply?"});
  CHECK(kb->entries[0].answer == "Line one\nLine \"two\"");
}

TEST_CASE("CSV: a BOM and CRLF line ends are accepted") {
  auto kb = Csv("\xEF\xBB\xBFquestion,answer,intent\r\nq one,A,x\r\nq two,,x\r\n");
  REQUIRE_MESSAGE(kb.ok(), kb.status().ToString());
  REQUIRE(kb->entries.size() == 1);
  CHECK(kb->entries[0].id == "x");
  CHECK(kb->entries[0].questions == std::vector<std::string>{"q one", "q two"});
  CHECK(kb->entries[0].answer == "A");
}

TEST_CASE("CSV: rows are grouped by intent, in order of first appearance") {
  auto kb = Csv("question,answer,intent\n"
                "apply for leave,Portal,leave\n"
                "reset password,Use the reset link,password\n"
                "book time off,,leave\n"
                "\n"
                "forgot my password,Use the reset link,Password\n");
  REQUIRE_MESSAGE(kb.ok(), kb.status().ToString());
  REQUIRE(kb->entries.size() == 2);
  CHECK(kb->entries[0].id == "leave");
  CHECK(kb->entries[0].questions == std::vector<std::string>{"apply for leave", "book time off"});
  CHECK(kb->entries[1].id == "password");
  CHECK(kb->entries[1].questions == std::vector<std::string>{"reset password", "forgot my password"});
}

TEST_CASE("CSV: conflicting answers for one intent are reported with both line numbers") {
  auto kb = Csv("question,answer,intent\n"
                "\"multi\nline\",Portal,leave\n"   // lines 2-3
                "q2,Portal,leave\n"                // line 4
                "q3,Email HR,leave\n");            // line 5
  REQUIRE_FALSE(kb.ok());
  const auto lines = ProblemLines(kb.status());
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "kb.csv:5: field 'answer': differs from the answer given for intent 'leave' on line 2");
}

TEST_CASE("CSV: an intent with no answer is reported naming file and line") {
  auto kb = Csv("question,answer,intent\n"
                "q1,A,first\n"
                "q2,,second\n"
                "q3,,second\n");
  REQUIRE_FALSE(kb.ok());
  const auto lines = ProblemLines(kb.status());
  REQUIRE(lines.size() == 1);
  CHECK(Contains(lines[0], "kb.csv:3:"));
  CHECK(Contains(lines[0], "intent 'second'"));
  CHECK(Contains(lines[0], "field 'answer'"));
}

TEST_CASE("CSV: an unclosed quote is reported with the line where its row starts") {
  auto kb = Csv("question,answer,intent\nq1,A,x\n\"never closed,A,x\nmore\n");
  REQUIRE_FALSE(kb.ok());
  CHECK(kb.status().message() == "kb.csv:3: a quoted field is never closed");
}

TEST_CASE("CSV: an unknown or missing column is reported on line 1") {
  auto kb = Csv("question,answer,intent,priority\nq,A,x,high\n");
  REQUIRE_FALSE(kb.ok());
  CHECK(Contains(kb.status().message(), "kb.csv:1: unknown column 'priority'"));
  auto missing = Csv("question,answer\nq,A\n");
  REQUIRE_FALSE(missing.ok());
  CHECK(Contains(missing.status().message(), "kb.csv:1:"));
  CHECK(Contains(missing.status().message(), "intent"));
  CHECK_FALSE(Csv("").ok());
}

TEST_CASE("CSV: a row with more fields than the header is reported") {
  auto kb = Csv("question,answer,intent\nq1,A,x\nq2,A,x,extra,more\n");
  REQUIRE_FALSE(kb.ok());
  const auto lines = ProblemLines(kb.status());
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "kb.csv:3: has 5 fields, the header has 3");
}

TEST_CASE("CSV: empty intents, empty questions and bad UTF-8 name file, line and field") {
  auto kb = Csv("question,answer,intent\n"
                "q1,A,x\n"
                ",A,x\n"                 // line 3: empty question
                "q3,A,\n"                // line 4: empty intent
                "q\xff,A,x\n");          // line 5: bad UTF-8
  REQUIRE_FALSE(kb.ok());
  const auto lines = ProblemLines(kb.status());
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "kb.csv:3: field 'question': must not be empty");
  CHECK(lines[1] == "kb.csv:4: field 'intent': must not be empty");
  CHECK(lines[2] == "kb.csv:5: field 'question': invalid UTF-8 at byte 1");
}

TEST_CASE("CSV: an intent in any script becomes an entry; its id is derived, its title is the intent") {
  auto kb = Csv("question,answer,intent\n年假怎么请,在系统里申请,年假\nbook leave,Use the portal,Annual Leave\n");
  REQUIRE(kb.ok());
  REQUIRE(kb->entries.size() == 2);
  CHECK(kb->entries[0].id == EntryIdForLabel("年假"));
  CHECK(kb->entries[0].title == "年假");
  CHECK(kb->entries[1].id == "annual-leave");
}

}  // namespace
}  // namespace kefu
