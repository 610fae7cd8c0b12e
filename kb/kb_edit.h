// Changing a knowledge base from what agents learn: drafts (a new entry, or more example
// questions for an existing one), applying them to make the next version, and the difference
// between two versions. Pure functions over KnowledgeBase values.
#ifndef KEFU_KB_KB_EDIT_H_
#define KEFU_KB_KB_EDIT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "kb/knowledge_base.h"

namespace kefu {

enum class DraftKind { kNewEntry = 0, kAddExamples };
enum class DraftStatus { kDraft = 0, kPublished, kRejected };
std::string_view DraftKindName(DraftKind k);      // "new_entry", "add_examples"
std::string_view DraftStatusName(DraftStatus s);  // "draft", "published", "rejected"

struct KbDraft {
  std::string id;
  DraftKind kind = DraftKind::kNewEntry;
  std::string language;   // which of the desk's KBs ("" for its first)
  std::string entry_id;   // kAddExamples: the entry; kNewEntry: the new id ("" derives one from the title)
  std::string title;      // kNewEntry
  std::vector<std::string> questions;
  std::string answer;     // kNewEntry
  std::string team;       // kNewEntry
  std::string author;     // the agent who made it
  std::string conversation;  // where it came from
  int64_t created_at = 0;
  DraftStatus status = DraftStatus::kDraft;
};

// `kb` with `drafts` applied in order: new entries appended, examples appended to their entry.
// A question already in the KB (after normalisation) is skipped, not duplicated; a new entry
// without an explicit id whose title an entry already has adds its questions to that entry. Returns
// InvalidArgument naming the draft when its entry does not exist or a new id is taken, and
// the validator's problems when the result is not a valid KB.
Result<KnowledgeBase> ApplyDrafts(const KnowledgeBase& kb, const std::vector<KbDraft>& drafts);

// An entry id made from a title: lower case ASCII letters and digits joined by '-', prefixed
// "faq." ("faq.q" plus a number when nothing is left, e.g. for a Chinese title); made unique
// against `kb`.
std::string EntryIdFromTitle(std::string_view title, const KnowledgeBase& kb);

struct EntryChange {
  std::string id;
  std::vector<std::string> questions_added;
  std::vector<std::string> questions_removed;
  bool title_changed = false;
  bool answer_changed = false;
  bool team_changed = false;
  bool handoff_changed = false;
  bool other_changed = false;  // links, quick replies, variants, tags
};

struct KbDiff {
  std::vector<KbEntry> added;        // entries only in `after`
  std::vector<KbEntry> removed;      // entries only in `before`
  std::vector<EntryChange> changed;  // in both, different
  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};

KbDiff DiffKnowledgeBases(const KnowledgeBase& before, const KnowledgeBase& after);

// The diff as lines a person reads: "+ entry: title" (with its questions and answer), "- entry:
// title", "~ entry: +2 questions, answer changed" (with the questions added and removed).
std::string FormatKbDiff(const KbDiff& diff);

}  // namespace kefu

#endif  // KEFU_KB_KB_EDIT_H_
