// The knowledge loop: what the bot could not answer comes back as better answers. Gap reports
// from the engine's events; drafts made by agents (a new entry from a reply, or a customer's
// question as a new example of an entry); labelled real questions; review and publish as a new
// KB version, checked for regressions first; rollback; stats per version.
//
// It keeps its own records in the engine's store, in its namespace "kn" (Engine::Side): "v/"
// (versions), "d/" (drafts) and "l/" (labelled questions); it reads the engine's events through
// Engine::ScanEvents and swaps KBs through Engine::ReplaceKnowledgeBase. Thread-safe.
#ifndef KEFU_KNOWLEDGE_KNOWLEDGE_LOOP_H_
#define KEFU_KNOWLEDGE_KNOWLEDGE_LOOP_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "engine/stats.h"
#include "kb/gaps.h"
#include "kb/kb_edit.h"
#include "kb/labelled.h"

namespace kefu {

struct KnowledgeLoopOptions {
  // A publish is refused when it lowers top-1 accuracy on the desk's labelled questions, or on the
  // current KB's own examples, by more than this. Default 0.02 (two points).
  double max_accuracy_drop = 0.02;
  // Questions kept per gap report. Default 5,000 (the most recent).
  size_t max_gap_questions = 5000;
  GapOptions gaps;
};

struct GapReportEntry {
  Gap gap;
  std::string language;
};

struct DraftRequest {
  DraftKind kind = DraftKind::kNewEntry;
  std::string conversation;   // the conversation it comes from
  uint64_t reply_seq = 0;     // kNewEntry: the agent reply that becomes the answer (0: `answer`,
                              // else the conversation's latest agent reply)
  std::string title;          // kNewEntry (defaults to the question)
  std::string answer;         // kNewEntry without reply_seq
  std::string team;
  std::string entry_id;       // kAddExamples: the entry that should have answered; kNewEntry: the
                              // new entry's id (optional: else made from the title)
  std::string question;       // default: the customer's question before the reply (or the last one)
};

// How a KB version did before it went live, and since.
struct KbVersionInfo {
  int version = 0;
  std::string language;
  int64_t published_at = 0;
  std::string author;
  std::vector<std::string> drafts;
  double labelled_accuracy = -1;   // top-1 on the labelled questions at publish (-1: none)
  double examples_accuracy = -1;   // top-1 on the previous version's examples at publish
  size_t entries = 0;
  bool current = false;
};

struct PublishResult {
  KbVersionInfo version;
  double labelled_accuracy_before = -1;
  double examples_accuracy_before = -1;
  std::string diff;  // FormatKbDiff of the change
};

struct VersionStats {
  int version = 0;
  int64_t from = 0;  // live from (microseconds)
  int64_t until = 0; // until the next version (0: still live)
  DeskStats stats;
};

class KnowledgeLoop {
 public:
  // `engine` and `clock` must outlive the loop.
  KnowledgeLoop(Engine* engine, const Clock* clock, KnowledgeLoopOptions options = {});

  // Questions of `desk` escalated for low confidence or marked unhelpful since `since` (micros),
  // grouped and ranked, each with the nearest existing entry. NotFound for an unknown desk.
  Result<std::vector<GapReportEntry>> Gaps(std::string_view desk, int64_t since) const;

  // The clock the loop stamps drafts and versions with (report windows are measured on it).
  const Clock* clock() const { return clock_; }

  // An agent's draft from a conversation of their desk (NotFound otherwise). InvalidArgument
  // when the reply, entry or question is missing or invalid.
  Result<KbDraft> CreateDraft(const AgentIdentity& agent, const DraftRequest& request);
  Result<std::vector<KbDraft>> Drafts(std::string_view desk, std::optional<DraftStatus> status) const;
  Status RejectDraft(std::string_view desk, std::string_view draft_id);

  // Records `question` as a real question that entry `entry_id` answers (an agent sent that
  // entry's answer to an escalated question).
  Status RecordLabelled(std::string_view desk, std::string_view language, std::string_view question,
                        std::string_view entry_id);
  Result<std::vector<LabelledQuestion>> Labelled(std::string_view desk, std::string_view language) const;

  // Applies the drafts (all open drafts of the language when `draft_ids` is empty) to the current
  // KB, evaluates the result, and makes it live as a new version. Conflict with the figures when
  // accuracy would drop more than the setting; InvalidArgument when the drafts do not apply.
  Result<PublishResult> Publish(std::string_view desk, std::string_view language,
                                const std::vector<std::string>& draft_ids, std::string_view author);
  Result<std::vector<KbVersionInfo>> Versions(std::string_view desk, std::string_view language) const;
  // Makes `version` live again (as the newest version, so history stays linear).
  Result<KbVersionInfo> Rollback(std::string_view desk, std::string_view language, int version,
                                 std::string_view author);
  // Makes `kb_json` (a whole KB, as uploaded by an admin) live as a new version, so that it shows
  // among the versions and can be rolled back; no regression check (the admin chose it). The
  // engine's error for an invalid KB (nothing changes then).
  Result<KbVersionInfo> Upload(std::string_view desk, std::string_view language, const std::string& kb_json,
                               std::string_view author);
  // The KB JSON of a version.
  Result<std::string> VersionKb(std::string_view desk, std::string_view language, int version) const;

  // The desk's stats for each version's time live, computed from the engine's events.
  Result<std::vector<VersionStats>> StatsByVersion(std::string_view desk, std::string_view language) const;

 private:
  Result<std::vector<KbVersionInfo>> LoadVersions(std::string_view desk, std::string_view language) const;
  Status EnsureBaseline(std::string_view desk, const Engine::KnowledgeSnapshot& snapshot);
  // Records `kb_json`, just made live, as the newest version of `language` (under publish_mu_).
  Result<KbVersionInfo> RecordVersion(std::string_view desk, const std::string& language, const std::string& kb_json,
                                      std::string author);
  Status SaveDraft(const std::string& desk, const KbDraft& draft);

  Engine* engine_;
  mutable SideStore side_;
  const Clock* clock_;
  KnowledgeLoopOptions options_;
  std::mutex publish_mu_;  // one publish or rollback at a time
};

}  // namespace kefu

#endif  // KEFU_KNOWLEDGE_KNOWLEDGE_LOOP_H_
