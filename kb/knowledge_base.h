// The knowledge base: what the bot knows. A KB is a JSON document (or a CSV sheet of
// question,answer,intent,team rows) validated as a whole: any problem refuses the whole KB, so
// an invalid KB never replaces a valid one.
//
// JSON format (docs/kb-format.md has the full reference):
//   {"name": "...", "language": "en", "settings": {"answer_threshold": 0.1},
//    "entries": [{"id": "leave.annual.apply", "title": "...", "questions": ["..."],
//                 "answer": "...", "team": "leave", "handoff": false,
//                 "links": [{"title": "...", "url": "https://..."}],
//                 "quick_replies": ["..."], "variants": {"wecom": "..."}, "tags": ["..."]}]}
#ifndef KEFU_KB_KNOWLEDGE_BASE_H_
#define KEFU_KB_KNOWLEDGE_BASE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kefu {

struct KbLink {
  std::string title;
  std::string url;
};

struct KbEntry {
  std::string id;                          // [a-z0-9][a-z0-9._-]{0,63}, unique in the KB
  std::string title;                       // shown as a clarify choice
  std::vector<std::string> questions;      // example questions, any language
  std::string answer;                      // the reply
  std::string team;                        // routing team when this entry hands off
  bool handoff = false;                    // always give this to a human
  std::vector<KbLink> links;               // optional links shown under the answer
  std::vector<std::string> quick_replies;  // optional follow-up questions offered as buttons
  std::map<std::string, std::string> variants;  // channel ("web", "app", "wecom") -> answer
  std::vector<std::string> tags;
};

struct KbSettings {
  // Overrides the calibrated confidence threshold below which the bot escalates.
  std::optional<double> answer_threshold;
};

struct KnowledgeBase {
  std::string name;
  std::string language;  // a hint such as "en" or "zh"; matching works for any language
  KbSettings settings;
  std::vector<KbEntry> entries;

  // The entry with `id`, or nullptr.
  const KbEntry* Find(std::string_view id) const;
};

// Limits a KB must respect; each problem names the limit it broke.
struct KbLimits {
  size_t max_entries = 100000;
  size_t max_questions_per_entry = 2000;
  size_t max_question_chars = 500;
  size_t max_answer_chars = 4000;
  size_t max_title_chars = 200;
  size_t max_links = 10;
  size_t max_quick_replies = 10;
};

// Parses and validates a KB in JSON. On failure returns InvalidArgument whose message has one
// line per problem, each naming `file_name`, the entry (id and position) and the field.
Result<KnowledgeBase> ParseKnowledgeBaseJson(std::string_view json, std::string_view file_name,
                                             const KbLimits& limits = {});

// Parses and validates a KB from CSV with a header row naming the columns question, answer,
// intent and team (any order; team optional). Rows of one intent form one entry whose id is the
// intent in lower case with spaces as '-'; its first non-empty answer is the answer. Problems
// name file, line and field.
Result<KnowledgeBase> ParseKnowledgeBaseCsv(std::string_view csv, std::string_view file_name,
                                            const KbLimits& limits = {});

// As ParseKnowledgeBaseCsv, except that an intent whose rows give no answer is kept with an empty
// answer (so not yet a valid KB): for `kefu kb import`, which marks such entries for review.
Result<KnowledgeBase> ParseKnowledgeBaseCsvDraft(std::string_view csv, std::string_view file_name,
                                                 const KbLimits& limits = {});

// Reads `path` and parses it as CSV when it ends in ".csv", else as JSON.
Result<KnowledgeBase> LoadKnowledgeBase(const std::string& path, const KbLimits& limits = {});

// The cross-entry checks both formats share (duplicate ids, one example under two entries,
// ...), appended to `problems`, each prefixed by `file_name`.
void CheckKnowledgeBase(const KnowledgeBase& kb, std::string_view file_name, const KbLimits& limits,
                        std::vector<std::string>* problems);

// The KB as JSON in the format above (round-trips through ParseKnowledgeBaseJson).
std::string KnowledgeBaseToJson(const KnowledgeBase& kb);

// True when `id` is a valid entry id.
bool IsValidEntryId(std::string_view id);

// The entry id for an intent label as people export it ("Refund_not_showing_up", "EMI",
// "Reset Password", "faq/ask_name", "退款"), always a valid id and always the same for the same
// label: surrounding spaces trimmed, ASCII letters lower-cased, spaces as '-', '/' as '.'
// ("reset-password", "faq.ask_name"). A label with any other character, or longer than 64, keeps
// what it can and gets '-' and 8 hex digits of a hash of the label ("intent-1f0c9a2e" for "退款"),
// so different labels stay apart. CSV intents and labelled files map labels with it.
std::string EntryIdForLabel(std::string_view label);

}  // namespace kefu

#endif  // KEFU_KB_KNOWLEDGE_BASE_H_
