// Labelled questions and intent labels as people export them (kb/labelled.h, EntryIdForLabel).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "kb/labelled.h"

namespace kefu {
namespace {

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_CASE("labels map to valid entry ids: readable when they can be, hashed when characters are lost") {
  CHECK(EntryIdForLabel("Refund_not_showing_up") == "refund_not_showing_up");
  CHECK(EntryIdForLabel("EMI") == "emi");
  CHECK(EntryIdForLabel("Reset Password") == "reset-password");
  CHECK(EntryIdForLabel("  annual leave ") == "annual-leave");
  CHECK(EntryIdForLabel("faq/ask_name") == "faq.ask_name");
  CHECK(EntryIdForLabel("leave.annual.apply") == "leave.annual.apply");
  const std::string zh = EntryIdForLabel("中文标签");
  CHECK(zh.rfind("intent-", 0) == 0);
  CHECK(zh.size() == 15);
  CHECK(EntryIdForLabel("退款") != EntryIdForLabel("换货"));
  const std::string mixed = EntryIdForLabel("Billing & Payments");
  CHECK(mixed.rfind("billing-payments-", 0) == 0);
  CHECK(mixed != EntryIdForLabel("Billing - Payments!"));
  CHECK(EntryIdForLabel("_private").rfind("private-", 0) == 0);
  const std::string long_label(100, 'x');
  CHECK(EntryIdForLabel(long_label).size() <= 64);
  for (const char* label : {"Refund_not_showing_up", "中文标签", "Billing & Payments", "-", "???", "a b/c"}) {
    CAPTURE(label);
    CHECK(IsValidEntryId(EntryIdForLabel(label)));
    CHECK(EntryIdForLabel(label) == EntryIdForLabel(label));  // deterministic
  }
}

TEST_CASE("labels that map to one id get numbered ids in order of first sight") {
  IntentLabels labels;
  CHECK(labels.Assign("EMI") == "emi");
  CHECK(labels.Assign("emi") == "emi-2");
  CHECK(labels.Assign("Emi") == "emi-3");
  CHECK(labels.Assign("EMI") == "emi");  // the same label, the same id
  REQUIRE(labels.Find("emi") != nullptr);
  CHECK(*labels.Find("emi") == "emi-2");
  CHECK(labels.Find("nothing") == nullptr);
}

TEST_CASE("a KB from labelled questions keeps the label as written and uses the mapped id") {
  const std::vector<LabelledQuestion> rows = {
      {"my refund has not arrived", "Refund_not_showing_up", 1}, {"pay monthly", "EMI", 2},
      {"what is the weather", "oos", 3}, {"发票怎么开", "中文标签", 4}, {"where is my refund", "Refund_not_showing_up", 5}};
  IntentLabels labels;
  auto kb = KnowledgeBaseFromLabelled(rows, "oos", &labels);
  REQUIRE(kb.ok());
  REQUIRE(kb->entries.size() == 3);
  CHECK(kb->entries[0].id == "refund_not_showing_up");
  CHECK(kb->entries[0].title == "Refund_not_showing_up");
  CHECK(kb->entries[0].questions.size() == 2);
  CHECK(kb->entries[2].title == "中文标签");
  CHECK(*labels.Find("中文标签") == kb->entries[2].id);
}

TEST_CASE("test labels resolve to entry ids; a label that names no entry is an error with file and line") {
  KnowledgeBase kb;
  kb.entries.push_back(KbEntry{"reset-password", "Resetting your password", {"forgot password"}, "a", "", false, {}, {}, {}, {}});
  kb.entries.push_back(KbEntry{"leave.apply", "Apply for leave", {"book leave"}, "b", "", false, {}, {}, {}, {}});
  const IntentLabels labels = IntentLabels::Of(kb);
  std::vector<LabelledQuestion> ok = {{"q1", "Reset Password", 1}, {"q2", "Apply for leave", 2},
                                      {"q3", "leave.apply", 3}, {"q4", "oos", 4}};
  REQUIRE(ResolveLabels(labels, "oos", "t.jsonl", &ok).ok());
  CHECK(ok[0].intent == "reset-password");
  CHECK(ok[1].intent == "leave.apply");
  CHECK(ok[2].intent == "leave.apply");
  CHECK(ok[3].intent == "oos");

  std::vector<LabelledQuestion> bad = {{"q1", "leave.apply", 1}, {"q2", "Parcel", 7}, {"q3", "Parcel", 8}, {"q4", "Gift", 9}};
  const Status s = ResolveLabels(labels, "oos", "t.jsonl", &bad);
  REQUIRE_FALSE(s.ok());
  CHECK(Contains(s.message(), "t.jsonl:7: intent 'Parcel' matches no entry"));
  CHECK(Contains(s.message(), "out-of-scope label 'oos'"));
  CHECK(Contains(s.message(), "(3 rows with 2 such labels)"));
  CHECK(bad[0].intent == "leave.apply");  // unchanged
}

TEST_CASE("labelled files: lines are counted, long labels allowed, syntax errors give line and column") {
  auto rows = ParseLabelledQuestions("\xEF\xBB\xBF{\"text\": \"a\", \"intent\": \"x\"}\n\n{\"text\": \"b\", \"intent\": \"" +
                                         std::string(150, 'y') + "\"}\n",
                                     "f.jsonl");
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0].line == 1);
  CHECK((*rows)[1].line == 3);
  auto bad = ParseLabelledQuestions("{\"text\": \"a\", \"intent\": \"x\"}\n{\"text\": \"a\" \"intent\": \"x\"}\n", "f.jsonl");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() ==
        "f.jsonl:2: invalid JSON at column 14: Missing a comma or '}' after an object member.");
}

}  // namespace
}  // namespace kefu
