#include "knowledge/knowledge_loop.h"

#include <algorithm>
#include <map>

#include "base/json.h"
#include "base/utf8.h"
#include "engine/auth.h"
#include "kb/matcher.h"

namespace kefu {
namespace {

std::string Padded(uint64_t n, int width) {
  std::string s = std::to_string(n);
  return std::string(width > static_cast<int>(s.size()) ? width - s.size() : 0, '0') + s;
}
std::string DraftPrefix(std::string_view desk) { return "d/" + std::string(desk) + "/"; }
std::string LabelledPrefix(std::string_view desk, std::string_view lang) {
  return "l/" + std::string(desk) + "/" + std::string(lang) + "/";
}
std::string VersionPrefix(std::string_view desk, std::string_view lang) {
  return "v/" + std::string(desk) + "/" + std::string(lang) + "/";
}

std::string EncodeDraft(const KbDraft& d) {
  JsonWriter w;
  w.BeginObject().Field("id", d.id).Field("kind", DraftKindName(d.kind)).Field("language", d.language);
  w.Field("entry_id", d.entry_id).Field("title", d.title);
  w.Key("questions").BeginArray();
  for (const std::string& q : d.questions) w.String(q);
  w.EndArray();
  w.Field("answer", d.answer).Field("team", d.team).Field("author", d.author).Field("conversation", d.conversation);
  w.Field("created", d.created_at).Field("status", DraftStatusName(d.status));
  return w.EndObject().Take();
}

Result<KbDraft> DecodeDraft(std::string_view json) {
  auto doc = ParseJson(json);
  if (!doc.ok()) return Status::Corruption("draft record: " + doc.status().message());
  auto o = JsonObject::From(**doc);
  if (!o.ok()) return Status::Corruption("draft record: not an object");
  KbDraft d;
  std::string kind, status;
  Status s = o->GetString("id", Presence::kRequired, &d.id);
  if (s.ok()) s = o->GetString("kind", Presence::kRequired, &kind);
  if (s.ok()) s = o->GetString("language", Presence::kOptional, &d.language, 16, true);
  if (s.ok()) s = o->GetString("entry_id", Presence::kOptional, &d.entry_id, 64, true);
  if (s.ok()) s = o->GetString("title", Presence::kOptional, &d.title, 1000, true);
  if (s.ok()) s = o->GetStringArray("questions", Presence::kOptional, 10000, 10000, &d.questions);
  if (s.ok()) s = o->GetString("answer", Presence::kOptional, &d.answer, 100000, true);
  if (s.ok()) s = o->GetString("team", Presence::kOptional, &d.team, 64, true);
  if (s.ok()) s = o->GetString("author", Presence::kOptional, &d.author, 64, true);
  if (s.ok()) s = o->GetString("conversation", Presence::kOptional, &d.conversation, 64, true);
  if (s.ok()) s = o->GetInt("created", Presence::kOptional, 0, INT64_MAX, &d.created_at);
  if (s.ok()) s = o->GetString("status", Presence::kOptional, &status, 16, true);
  if (!s.ok()) return Status::Corruption("draft record: " + s.message());
  d.kind = kind == "add_examples" ? DraftKind::kAddExamples : DraftKind::kNewEntry;
  d.status = status == "published" ? DraftStatus::kPublished
             : status == "rejected" ? DraftStatus::kRejected
                                    : DraftStatus::kDraft;
  return d;
}

std::string EncodeVersion(const KbVersionInfo& v, std::string_view kb_json) {
  JsonWriter w;
  w.BeginObject().Field("version", v.version).Field("language", v.language).Field("published", v.published_at);
  w.Field("author", v.author);
  w.Key("drafts").BeginArray();
  for (const std::string& d : v.drafts) w.String(d);
  w.EndArray();
  w.Key("labelled_accuracy").Double(v.labelled_accuracy).Key("examples_accuracy").Double(v.examples_accuracy);
  w.Field("entries", static_cast<uint64_t>(v.entries)).Field("kb", kb_json);
  return w.EndObject().Take();
}

Result<KbVersionInfo> DecodeVersion(std::string_view json, std::string* kb_json) {
  auto doc = ParseJson(json);
  if (!doc.ok()) return Status::Corruption("version record: " + doc.status().message());
  auto o = JsonObject::From(**doc);
  if (!o.ok()) return Status::Corruption("version record: not an object");
  KbVersionInfo v;
  int64_t version = 0, entries = 0;
  Status s = o->GetInt("version", Presence::kRequired, 1, INT32_MAX, &version);
  if (s.ok()) s = o->GetString("language", Presence::kOptional, &v.language, 16, true);
  if (s.ok()) s = o->GetInt("published", Presence::kOptional, 0, INT64_MAX, &v.published_at);
  if (s.ok()) s = o->GetString("author", Presence::kOptional, &v.author, 64, true);
  if (s.ok()) s = o->GetStringArray("drafts", Presence::kOptional, 100000, 64, &v.drafts);
  if (s.ok() && IsJsonNumber((*doc)->operator[]("labelled_accuracy"))) {
    s = o->GetDouble("labelled_accuracy", Presence::kOptional, -1, 1, &v.labelled_accuracy);
  }
  if (s.ok() && IsJsonNumber((*doc)->operator[]("examples_accuracy"))) {
    s = o->GetDouble("examples_accuracy", Presence::kOptional, -1, 1, &v.examples_accuracy);
  }
  if (s.ok()) s = o->GetInt("entries", Presence::kOptional, 0, INT64_MAX, &entries);
  if (s.ok() && kb_json != nullptr) s = o->GetString("kb", Presence::kRequired, kb_json, 1 << 30);
  if (!s.ok()) return Status::Corruption("version record: " + s.message());
  v.version = static_cast<int>(version);
  v.entries = static_cast<size_t>(entries);
  return v;
}

// Top-1 accuracy of `matcher` on the questions whose intent is one of its entries; -1 when none.
double TopOneAccuracy(const Matcher& matcher, const std::vector<LabelledQuestion>& questions) {
  size_t total = 0, right = 0;
  for (const LabelledQuestion& q : questions) {
    const int gold = matcher.FindEntry(q.intent);
    if (gold < 0) continue;
    ++total;
    const auto top = matcher.Rank(q.text, 1);
    right += !top.empty() && top[0].entry == gold;
  }
  return total == 0 ? -1 : static_cast<double>(right) / static_cast<double>(total);
}

std::vector<LabelledQuestion> ExamplesOf(const KnowledgeBase& kb) {
  std::vector<LabelledQuestion> out;
  for (const KbEntry& e : kb.entries) {
    for (const std::string& q : e.questions) out.push_back({q, e.id});
  }
  return out;
}

}  // namespace

KnowledgeLoop::KnowledgeLoop(Engine* engine, const Clock* clock, KnowledgeLoopOptions options)
    : engine_(engine), side_(engine->Side("kn")), clock_(clock), options_(std::move(options)) {}

Result<std::vector<GapReportEntry>> KnowledgeLoop::Gaps(std::string_view desk, int64_t since) const {
  if (!engine_->GetDeskConfig(desk).ok()) return Status::NotFound("no such desk");
  std::vector<GapQuestion> questions;
  Status s = engine_->ScanEvents(desk, since, 0, [&](const Event& event) {
    const Event* e = &event;
    if (e->type == EventType::kUnmatched && !e->detail.empty()) {
      questions.push_back({e->detail, e->conversation, e->at});
    } else if (e->type == EventType::kFeedback && e->value == 0 && !e->reason.empty()) {
      questions.push_back({e->reason, e->conversation, e->at});
    }
    return true;
  });
  KEFU_RETURN_IF_ERROR(s);
  if (questions.size() > options_.max_gap_questions) {
    questions.erase(questions.begin(), questions.end() - static_cast<std::ptrdiff_t>(options_.max_gap_questions));
  }
  // The KBs' own examples weigh down what every question says.
  std::vector<std::string> background;
  auto languages = engine_->KnowledgeLanguages(desk);
  for (const std::string& language : languages.ok() ? *languages : std::vector<std::string>()) {
    auto knowledge = engine_->Knowledge(desk, language);
    if (!knowledge.ok()) continue;
    for (const KbEntry& e : knowledge->kb->entries) background.insert(background.end(), e.questions.begin(), e.questions.end());
  }
  std::vector<GapReportEntry> out;
  for (Gap& gap : FindGaps(questions, options_.gaps, background)) {
    GapReportEntry entry;
    auto knowledge = engine_->KnowledgeFor(desk, gap.examples.front());
    if (knowledge.ok()) {
      entry.language = knowledge->language;
      const auto top = knowledge->matcher->Rank(gap.examples.front(), 1);
      if (!top.empty()) {
        gap.nearest_entry = knowledge->kb->entries[top[0].entry].id;
        gap.nearest_confidence = top[0].confidence;
      }
    }
    entry.gap = std::move(gap);
    out.push_back(std::move(entry));
  }
  return out;
}

Status KnowledgeLoop::SaveDraft(const std::string& desk, const KbDraft& draft) {
  StoreBatch b;
  b.Put(DraftPrefix(desk) + draft.id, EncodeDraft(draft));
  return side_.Write(b);
}

Result<KbDraft> KnowledgeLoop::CreateDraft(const AgentIdentity& agent, const DraftRequest& r) {
  auto view = engine_->AgentGetConversation(agent, r.conversation);
  if (!view.ok()) return view.status();
  auto history = engine_->History(r.conversation, 0, 100000, false);
  if (!history.ok()) return history.status();
  KbDraft d;
  d.kind = r.kind;
  d.author = agent.username;
  d.conversation = r.conversation;
  d.created_at = clock_->NowMicros();
  d.id = "d" + Padded(static_cast<uint64_t>(d.created_at), 17) + RandomHex(3);
  std::string question = r.question, answer = r.answer;
  const Message* reply = nullptr;
  for (const Message& m : *history) {
    if (r.reply_seq != 0 && m.seq == r.reply_seq) reply = &m;
  }
  if (r.reply_seq != 0) {
    if (reply == nullptr || reply->kind != MessageKind::kAgent) {
      return Status::InvalidArgument("field 'reply_seq': not an agent reply in this conversation");
    }
    answer = reply->text;
  } else if (r.kind == DraftKind::kNewEntry && answer.empty()) {
    // "Turn my reply into an entry": the latest agent reply answers the question before it.
    for (const Message& m : *history) {
      if (m.kind == MessageKind::kAgent) reply = &m;
    }
    if (reply != nullptr) answer = reply->text;
  }
  const uint64_t answered_at = reply != nullptr ? reply->seq : 0;
  if (question.empty()) {
    for (const Message& m : *history) {
      if (m.kind == MessageKind::kCustomer && (answered_at == 0 || m.seq < answered_at)) question = m.text;
    }
  }
  if (question.empty()) return Status::InvalidArgument("field 'question': the conversation has no customer question");
  if (CountCodePoints(question) > 500) return Status::InvalidArgument("field 'question': longer than 500 characters");
  auto knowledge = engine_->KnowledgeFor(agent.desk, question);
  if (!knowledge.ok()) return knowledge.status();
  d.language = knowledge->language;
  d.questions = {question};
  if (r.kind == DraftKind::kAddExamples) {
    if (knowledge->kb->Find(r.entry_id) == nullptr) return Status::InvalidArgument("field 'entry_id': no such entry");
    d.entry_id = r.entry_id;
  } else {
    if (answer.find_first_not_of(" \t\r\n") == std::string::npos) {
      return Status::InvalidArgument("field 'answer': no agent reply in this conversation; give the answer or a reply_seq");
    }
    if (CountCodePoints(answer) > 4000) return Status::InvalidArgument("field 'answer': longer than 4000 characters");
    if (!r.entry_id.empty()) {
      if (!IsValidEntryId(r.entry_id)) return Status::InvalidArgument("field 'entry_id': must match [a-z0-9][a-z0-9._-]{0,63}");
      if (knowledge->kb->Find(r.entry_id) != nullptr) return Status::Conflict("field 'entry_id': the entry exists already");
      d.entry_id = r.entry_id;
    }
    d.title = r.title.empty() ? question : r.title;
    if (CountCodePoints(d.title) > 200) return Status::InvalidArgument("field 'title': longer than 200 characters");
    d.answer = answer;
    d.team = r.team;
  }
  KEFU_RETURN_IF_ERROR(SaveDraft(agent.desk, d));
  return d;
}

Result<std::vector<KbDraft>> KnowledgeLoop::Drafts(std::string_view desk, std::optional<DraftStatus> status) const {
  std::vector<KbDraft> out;
  Status decode;
  Status s = side_.ScanPrefix(DraftPrefix(desk), [&](std::string_view, std::string_view value) {
    auto d = DecodeDraft(value);
    if (!d.ok()) {
      decode = d.status();
      return false;
    }
    if (!status || d->status == *status) out.push_back(std::move(*d));
    return true;
  });
  KEFU_RETURN_IF_ERROR(s);
  KEFU_RETURN_IF_ERROR(decode);
  return out;
}

Status KnowledgeLoop::RejectDraft(std::string_view desk, std::string_view draft_id) {
  std::lock_guard<std::mutex> lock(publish_mu_);
  auto value = side_.Get(DraftPrefix(desk) + std::string(draft_id));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return Status::NotFound("no such draft");
  auto d = DecodeDraft(**value);
  if (!d.ok()) return d.status();
  if (d->status != DraftStatus::kDraft) return Status::Conflict("the draft is already " + std::string(DraftStatusName(d->status)));
  d->status = DraftStatus::kRejected;
  return SaveDraft(std::string(desk), *d);
}

Status KnowledgeLoop::RecordLabelled(std::string_view desk, std::string_view language, std::string_view question,
                                     std::string_view entry_id) {
  if (!IsValidUtf8(question) || question.empty() || CountCodePoints(question) > 500) {
    return Status::InvalidArgument("field 'question': 1 to 500 characters of valid UTF-8");
  }
  JsonWriter w;
  w.BeginObject().Field("text", question).Field("intent", entry_id).EndObject();
  StoreBatch b;
  b.Put(LabelledPrefix(desk, language) + Padded(static_cast<uint64_t>(clock_->NowMicros()), 17) + RandomHex(3), w.str());
  return side_.Write(b);
}

Result<std::vector<LabelledQuestion>> KnowledgeLoop::Labelled(std::string_view desk, std::string_view language) const {
  std::string jsonl;
  Status s = side_.ScanPrefix(LabelledPrefix(desk, language), [&](std::string_view, std::string_view value) {
    jsonl.append(value);
    jsonl.push_back('\n');
    return true;
  });
  KEFU_RETURN_IF_ERROR(s);
  return ParseLabelledQuestions(jsonl, "labelled questions of desk " + std::string(desk));
}

Result<std::vector<KbVersionInfo>> KnowledgeLoop::LoadVersions(std::string_view desk, std::string_view language) const {
  std::vector<KbVersionInfo> out;
  Status decode;
  Status s = side_.ScanPrefix(VersionPrefix(desk, language), [&](std::string_view, std::string_view value) {
    auto v = DecodeVersion(value, nullptr);
    if (!v.ok()) {
      decode = v.status();
      return false;
    }
    out.push_back(std::move(*v));
    return true;
  });
  KEFU_RETURN_IF_ERROR(s);
  KEFU_RETURN_IF_ERROR(decode);
  if (!out.empty()) out.back().current = true;
  return out;
}

Status KnowledgeLoop::EnsureBaseline(std::string_view desk, const Engine::KnowledgeSnapshot& snapshot) {
  auto versions = LoadVersions(desk, snapshot.language);
  if (!versions.ok()) return versions.status();
  if (!versions->empty()) return Status::OK();
  KbVersionInfo v;
  v.version = 1;
  v.language = snapshot.language;
  v.published_at = 0;  // live since the desk started
  v.author = "initial";
  v.entries = snapshot.kb->entries.size();
  StoreBatch b;
  b.Put(VersionPrefix(desk, snapshot.language) + Padded(1, 6), EncodeVersion(v, KnowledgeBaseToJson(*snapshot.kb)));
  return side_.Write(b);
}

Result<PublishResult> KnowledgeLoop::Publish(std::string_view desk, std::string_view language,
                                             const std::vector<std::string>& draft_ids, std::string_view author) {
  std::lock_guard<std::mutex> lock(publish_mu_);
  auto current = engine_->Knowledge(desk, language);
  if (!current.ok()) return current.status();
  KEFU_RETURN_IF_ERROR(EnsureBaseline(desk, *current));
  auto open = Drafts(desk, DraftStatus::kDraft);
  if (!open.ok()) return open.status();
  std::vector<KbDraft> chosen;
  for (const KbDraft& d : *open) {
    const bool same_language = d.language == current->language || d.language.empty();
    const bool wanted = draft_ids.empty() || std::find(draft_ids.begin(), draft_ids.end(), d.id) != draft_ids.end();
    if (same_language && wanted) chosen.push_back(d);
  }
  for (const std::string& id : draft_ids) {
    bool found = false;
    for (const KbDraft& d : chosen) found = found || d.id == id;
    if (!found) return Status::NotFound("draft " + id + " is not an open draft of this knowledge base");
  }
  if (chosen.empty()) return Status::InvalidArgument("no open drafts to publish");
  auto next = ApplyDrafts(*current->kb, chosen);
  if (!next.ok()) return next.status();
  auto matcher = Matcher::Build(*next, MatcherOptions());
  if (!matcher.ok()) return matcher.status();

  // No regressions: the desk's real labelled questions and the current KB's own examples.
  auto labelled = Labelled(desk, current->language);
  if (!labelled.ok()) return labelled.status();
  PublishResult result;
  result.labelled_accuracy_before = TopOneAccuracy(*current->matcher, *labelled);
  result.version.labelled_accuracy = TopOneAccuracy(**matcher, *labelled);
  const std::vector<LabelledQuestion> examples = ExamplesOf(*current->kb);
  result.examples_accuracy_before = TopOneAccuracy(*current->matcher, examples);
  result.version.examples_accuracy = TopOneAccuracy(**matcher, examples);
  auto dropped = [&](double before, double after) {
    return before >= 0 && after >= 0 && before - after > options_.max_accuracy_drop;
  };
  if (dropped(result.labelled_accuracy_before, result.version.labelled_accuracy) ||
      dropped(result.examples_accuracy_before, result.version.examples_accuracy)) {
    char figures[200];
    std::snprintf(figures, sizeof(figures),
                  "labelled questions %.1f%% -> %.1f%%, the KB's own examples %.1f%% -> %.1f%% (allowed drop %.1f points)",
                  100 * result.labelled_accuracy_before, 100 * result.version.labelled_accuracy,
                  100 * result.examples_accuracy_before, 100 * result.version.examples_accuracy,
                  100 * options_.max_accuracy_drop);
    return Status::Conflict(std::string("publish refused: accuracy would drop: ") + figures);
  }

  const std::string kb_json = KnowledgeBaseToJson(*next);
  KEFU_RETURN_IF_ERROR(engine_->ReplaceKnowledgeBase(desk, current->language, kb_json));
  auto versions = LoadVersions(desk, current->language);
  if (!versions.ok()) return versions.status();
  KbVersionInfo& v = result.version;
  v.version = versions->empty() ? 1 : versions->back().version + 1;
  v.language = current->language;
  v.published_at = clock_->NowMicros();
  v.author = std::string(author);
  v.entries = next->entries.size();
  v.current = true;
  for (const KbDraft& d : chosen) v.drafts.push_back(d.id);
  StoreBatch b;
  b.Put(VersionPrefix(desk, current->language) + Padded(static_cast<uint64_t>(v.version), 6), EncodeVersion(v, kb_json));
  for (KbDraft d : chosen) {
    d.status = DraftStatus::kPublished;
    b.Put(DraftPrefix(desk) + d.id, EncodeDraft(d));
  }
  KEFU_RETURN_IF_ERROR(side_.Write(b));
  result.diff = FormatKbDiff(DiffKnowledgeBases(*current->kb, *next));
  return result;
}

Result<std::vector<KbVersionInfo>> KnowledgeLoop::Versions(std::string_view desk, std::string_view language) const {
  auto knowledge = engine_->Knowledge(desk, language);
  if (!knowledge.ok()) return knowledge.status();
  return LoadVersions(desk, knowledge->language);
}

Result<std::string> KnowledgeLoop::VersionKb(std::string_view desk, std::string_view language, int version) const {
  auto knowledge = engine_->Knowledge(desk, language);
  if (!knowledge.ok()) return knowledge.status();
  auto value = side_.Get(VersionPrefix(desk, knowledge->language) + Padded(static_cast<uint64_t>(version), 6));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return Status::NotFound("no such version");
  std::string kb_json;
  auto v = DecodeVersion(**value, &kb_json);
  if (!v.ok()) return v.status();
  return kb_json;
}

Result<KbVersionInfo> KnowledgeLoop::Rollback(std::string_view desk, std::string_view language, int version,
                                              std::string_view author) {
  auto kb_json = VersionKb(desk, language, version);
  if (!kb_json.ok()) return kb_json.status();
  std::lock_guard<std::mutex> lock(publish_mu_);
  auto knowledge = engine_->Knowledge(desk, language);
  if (!knowledge.ok()) return knowledge.status();
  KEFU_RETURN_IF_ERROR(engine_->ReplaceKnowledgeBase(desk, knowledge->language, *kb_json));
  return RecordVersion(desk, knowledge->language, *kb_json,
                       std::string(author) + " (rollback to version " + std::to_string(version) + ")");
}

Result<KbVersionInfo> KnowledgeLoop::Upload(std::string_view desk, std::string_view language,
                                            const std::string& kb_json, std::string_view author) {
  std::lock_guard<std::mutex> lock(publish_mu_);
  auto current = engine_->Knowledge(desk, language);
  std::string lang;
  if (current.ok()) {
    KEFU_RETURN_IF_ERROR(EnsureBaseline(desk, *current));  // the KB before it stays reachable
    lang = current->language;
  } else if (current.status().code() == Status::Code::kNotFound && engine_->GetDeskConfig(desk).ok()) {
    // The desk's first KB of this language (a desk of the admin API starts with none): no baseline.
    auto kb = ParseKnowledgeBaseJson(kb_json, "knowledge base");
    if (!kb.ok()) return kb.status();
    lang = language.empty() ? kb->language : std::string(language);
  } else {
    return current.status();
  }
  KEFU_RETURN_IF_ERROR(engine_->ReplaceKnowledgeBase(desk, lang, kb_json));
  return RecordVersion(desk, lang, kb_json, std::string(author) + " (upload)");
}

Result<KbVersionInfo> KnowledgeLoop::RecordVersion(std::string_view desk, const std::string& language,
                                                   const std::string& kb_json, std::string author) {
  auto versions = LoadVersions(desk, language);
  if (!versions.ok()) return versions.status();
  auto kb = ParseKnowledgeBaseJson(kb_json, "version");
  KbVersionInfo v;
  v.version = versions->empty() ? 1 : versions->back().version + 1;
  v.language = language;
  v.published_at = clock_->NowMicros();
  v.author = std::move(author);
  v.entries = kb.ok() ? kb->entries.size() : 0;
  v.current = true;
  StoreBatch b;
  b.Put(VersionPrefix(desk, language) + Padded(static_cast<uint64_t>(v.version), 6), EncodeVersion(v, kb_json));
  KEFU_RETURN_IF_ERROR(side_.Write(b));
  return v;
}

Result<std::vector<VersionStats>> KnowledgeLoop::StatsByVersion(std::string_view desk, std::string_view language) const {
  auto versions = Versions(desk, language);
  if (!versions.ok()) return versions.status();
  if (versions->empty()) {
    KbVersionInfo only;
    only.version = 1;
    versions->push_back(only);
  }
  std::vector<VersionStats> out(versions->size());
  std::vector<StatsAccumulator> folds(versions->size());
  for (size_t i = 0; i < versions->size(); ++i) {
    out[i].version = (*versions)[i].version;
    out[i].from = i == 0 ? 0 : (*versions)[i].published_at;
    out[i].until = i + 1 < versions->size() ? (*versions)[i + 1].published_at : 0;
  }
  // A conversation's events all count where it started, so an episode is not split between versions.
  std::map<std::string, size_t> version_of_conversation;
  Status s = engine_->ScanEvents(desk, 0, 0, [&](const Event& event) {
    const Event* e = &event;
    size_t k;
    auto known = version_of_conversation.find(e->conversation);
    if (known != version_of_conversation.end()) {
      k = known->second;
    } else {
      k = 0;
      while (k + 1 < out.size() && e->at >= out[k + 1].from) ++k;
      if (!e->conversation.empty()) version_of_conversation[e->conversation] = k;
    }
    folds[k].Add(*e);
    return true;
  });
  KEFU_RETURN_IF_ERROR(s);
  for (size_t i = 0; i < out.size(); ++i) out[i].stats = folds[i].Snapshot();
  return out;
}

}  // namespace kefu
