#include "kb/kb_edit.h"

#include <set>
#include <unordered_map>
#include <unordered_set>

#include "kb/normalize.h"

namespace kefu {

std::string_view DraftKindName(DraftKind k) { return k == DraftKind::kNewEntry ? "new_entry" : "add_examples"; }

std::string_view DraftStatusName(DraftStatus s) {
  switch (s) {
    case DraftStatus::kDraft: return "draft";
    case DraftStatus::kPublished: return "published";
    case DraftStatus::kRejected: return "rejected";
  }
  return "draft";
}

std::string EntryIdFromTitle(std::string_view title, const KnowledgeBase& kb) {
  std::string slug;
  for (char c : NormalizeText(title)) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      slug.push_back(c);
    } else if (!slug.empty() && slug.back() != '-') {
      slug.push_back('-');
    }
    if (slug.size() >= 40) break;
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  const std::string base = "faq." + (slug.empty() ? "q" : slug);
  if (!slug.empty() && kb.Find(base) == nullptr) return base;
  for (int n = 2;; ++n) {
    const std::string id = base + std::to_string(n);
    if (kb.Find(id) == nullptr) return id;
  }
}

Result<KnowledgeBase> ApplyDrafts(const KnowledgeBase& kb, const std::vector<KbDraft>& drafts) {
  KnowledgeBase next = kb;
  std::unordered_set<std::string> known;
  for (const KbEntry& e : next.entries) {
    for (const std::string& q : e.questions) known.insert(NormalizeText(q));
  }
  auto add_new_questions = [&](KbEntry& entry, const std::vector<std::string>& questions) {
    for (const std::string& q : questions) {
      if (known.insert(NormalizeText(q)).second) entry.questions.push_back(q);
    }
  };
  for (const KbDraft& d : drafts) {
    if (d.kind == DraftKind::kAddExamples) {
      KbEntry* target = nullptr;
      for (KbEntry& e : next.entries) {
        if (e.id == d.entry_id) target = &e;
      }
      if (target == nullptr) {
        return Status::InvalidArgument("draft " + d.id + ": no entry '" + d.entry_id + "' in the knowledge base");
      }
      add_new_questions(*target, d.questions);
      continue;
    }
    // A second draft for a topic another draft (or entry) already covers, under the same title,
    // teaches that entry more questions instead of making a twin.
    if (d.entry_id.empty()) {
      KbEntry* same_title = nullptr;
      for (KbEntry& e : next.entries) {
        if (NormalizeText(e.title) == NormalizeText(d.title)) same_title = &e;
      }
      if (same_title != nullptr) {
        add_new_questions(*same_title, d.questions);
        continue;
      }
    }
    KbEntry e;
    e.id = d.entry_id.empty() ? EntryIdFromTitle(d.title, next) : d.entry_id;
    if (next.Find(e.id) != nullptr) return Status::InvalidArgument("draft " + d.id + ": entry id '" + e.id + "' is taken");
    e.title = d.title;
    e.answer = d.answer;
    e.team = d.team;
    add_new_questions(e, d.questions);
    if (e.questions.empty()) {
      // Every question is already an example elsewhere: the title still teaches the matcher, if it
      // is new too; otherwise the draft has nothing to add.
      if (!known.insert(NormalizeText(d.title)).second) continue;
      e.questions.push_back(d.title);
    }
    next.entries.push_back(std::move(e));
  }
  std::vector<std::string> problems;
  CheckKnowledgeBase(next, "new version", KbLimits(), &problems);
  for (const KbEntry& e : next.entries) {
    if (e.title.empty() || e.answer.empty()) problems.push_back("entry '" + e.id + "': title and answer are required");
  }
  if (!problems.empty()) {
    std::string msg = "the drafts do not make a valid knowledge base:";
    for (const std::string& p : problems) msg += "\n" + p;
    return Status::InvalidArgument(msg);
  }
  return next;
}

KbDiff DiffKnowledgeBases(const KnowledgeBase& before, const KnowledgeBase& after) {
  KbDiff diff;
  std::unordered_map<std::string, const KbEntry*> old_entries;
  for (const KbEntry& e : before.entries) old_entries[e.id] = &e;
  std::unordered_set<std::string> seen;
  for (const KbEntry& e : after.entries) {
    seen.insert(e.id);
    auto it = old_entries.find(e.id);
    if (it == old_entries.end()) {
      diff.added.push_back(e);
      continue;
    }
    const KbEntry& o = *it->second;
    EntryChange c;
    c.id = e.id;
    const std::set<std::string> old_q(o.questions.begin(), o.questions.end()), new_q(e.questions.begin(), e.questions.end());
    for (const std::string& q : e.questions) {
      if (!old_q.count(q)) c.questions_added.push_back(q);
    }
    for (const std::string& q : o.questions) {
      if (!new_q.count(q)) c.questions_removed.push_back(q);
    }
    c.title_changed = o.title != e.title;
    c.answer_changed = o.answer != e.answer;
    c.team_changed = o.team != e.team;
    c.handoff_changed = o.handoff != e.handoff;
    c.other_changed = o.quick_replies != e.quick_replies || o.variants != e.variants || o.tags != e.tags ||
                      o.links.size() != e.links.size();
    for (size_t i = 0; !c.other_changed && i < o.links.size(); ++i) {
      c.other_changed = o.links[i].title != e.links[i].title || o.links[i].url != e.links[i].url;
    }
    if (!c.questions_added.empty() || !c.questions_removed.empty() || c.title_changed || c.answer_changed ||
        c.team_changed || c.handoff_changed || c.other_changed) {
      diff.changed.push_back(std::move(c));
    }
  }
  for (const KbEntry& e : before.entries) {
    if (!seen.count(e.id)) diff.removed.push_back(e);
  }
  return diff;
}

std::string FormatKbDiff(const KbDiff& diff) {
  if (diff.empty()) return "no changes\n";
  std::string out;
  for (const KbEntry& e : diff.added) {
    out += "+ " + e.id + ": " + e.title + "\n";
    for (const std::string& q : e.questions) out += "    + \"" + q + "\"\n";
    out += "    answer: " + e.answer + "\n";
  }
  for (const KbEntry& e : diff.removed) out += "- " + e.id + ": " + e.title + "\n";
  for (const EntryChange& c : diff.changed) {
    std::vector<std::string> parts;
    if (!c.questions_added.empty()) parts.push_back("+" + std::to_string(c.questions_added.size()) + " questions");
    if (!c.questions_removed.empty()) parts.push_back("-" + std::to_string(c.questions_removed.size()) + " questions");
    if (c.title_changed) parts.push_back("title changed");
    if (c.answer_changed) parts.push_back("answer changed");
    if (c.team_changed) parts.push_back("team changed");
    if (c.handoff_changed) parts.push_back("handoff changed");
    if (c.other_changed) parts.push_back("links, quick replies, variants or tags changed");
    out += "~ " + c.id + ":";
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : " ") + parts[i];
    out += "\n";
    for (const std::string& q : c.questions_added) out += "    + \"" + q + "\"\n";
    for (const std::string& q : c.questions_removed) out += "    - \"" + q + "\"\n";
  }
  return out;
}

}  // namespace kefu
