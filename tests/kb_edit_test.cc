// Applying drafts to a KB, entry ids from titles, and diffs between versions.
#include "kb/kb_edit.h"

#include <doctest/doctest.h>

namespace kefu {
namespace {

KnowledgeBase SmallKb() {
  KnowledgeBase kb;
  KbEntry e;
  e.id = "leave.annual";
  e.title = "Annual leave";
  e.questions = {"how do I apply for annual leave"};
  e.answer = "Use the HR portal.";
  kb.entries.push_back(e);
  return kb;
}

TEST_CASE("drafts add entries and examples, skipping questions the KB already has") {
  KbDraft add;
  add.id = "d1";
  add.kind = DraftKind::kAddExamples;
  add.entry_id = "leave.annual";
  add.questions = {"book vacation days", "How do I apply for annual leave?"};
  KbDraft fresh;
  fresh.id = "d2";
  fresh.title = "Bringing dogs to the office";
  fresh.questions = {"can I bring my dog to work"};
  fresh.answer = "Only on Fridays.";
  fresh.team = "facilities";
  auto next = ApplyDrafts(SmallKb(), {add, fresh});
  REQUIRE_MESSAGE(next.ok(), next.status().ToString());
  REQUIRE(next->entries.size() == 2);
  CHECK(next->entries[0].questions == std::vector<std::string>{"how do I apply for annual leave", "book vacation days"});
  CHECK(next->entries[1].id == "faq.bringing-dogs-to-the-office");
  CHECK(next->entries[1].team == "facilities");
}

TEST_CASE("a draft for a missing entry or a taken id is refused, naming the draft") {
  KbDraft add;
  add.id = "d9";
  add.kind = DraftKind::kAddExamples;
  add.entry_id = "nope";
  add.questions = {"x"};
  CHECK(ApplyDrafts(SmallKb(), {add}).status().message().find("draft d9") != std::string::npos);
  KbDraft clash;
  clash.id = "d10";
  clash.entry_id = "leave.annual";
  clash.title = "t";
  clash.answer = "a";
  clash.questions = {"q"};
  CHECK(ApplyDrafts(SmallKb(), {clash}).status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("entry ids from titles are valid and unique") {
  KnowledgeBase kb = SmallKb();
  CHECK(EntryIdFromTitle("Annual leave!", kb) == "faq.annual-leave");
  CHECK(IsValidEntryId(EntryIdFromTitle("公司健身房", kb)));
  kb.entries[0].id = "faq.annual-leave";
  CHECK(EntryIdFromTitle("Annual leave", kb) == "faq.annual-leave2");
}

TEST_CASE("the diff names added, removed and changed entries") {
  KnowledgeBase before = SmallKb();
  KnowledgeBase after = SmallKb();
  after.entries[0].questions.push_back("vacation");
  after.entries[0].answer = "Use the new HR portal.";
  KbEntry e;
  e.id = "new.one";
  e.title = "t";
  e.answer = "a";
  e.questions = {"q"};
  after.entries.push_back(e);
  KbDiff d = DiffKnowledgeBases(before, after);
  REQUIRE(d.added.size() == 1);
  CHECK(d.added[0].id == "new.one");
  CHECK(d.removed.empty());
  REQUIRE(d.changed.size() == 1);
  CHECK(d.changed[0].answer_changed);
  CHECK(d.changed[0].questions_added == std::vector<std::string>{"vacation"});
  const std::string text = FormatKbDiff(d);
  CHECK(text.find("+ new.one: t\n    + \"q\"\n    answer: a\n") != std::string::npos);
  CHECK(text.find("~ leave.annual: +1 questions, answer changed") != std::string::npos);
  CHECK(DiffKnowledgeBases(before, before).empty());
  CHECK(FormatKbDiff(DiffKnowledgeBases(after, before)).find("- new.one: t\n") != std::string::npos);
}

}  // namespace
}  // namespace kefu
