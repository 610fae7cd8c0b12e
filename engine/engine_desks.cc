// Desks at run time: their configuration (kefu.json's, and the admin API's, kept in the store and
// followed by every process), their KBs and matchers (config files and uploads), and the admin
// API's desk operations.
#include <algorithm>

#include "base/json.h"
#include "engine/engine.h"
#include "engine/engine_impl.h"
#include "kb/normalize.h"

namespace kefu {
namespace {

bool IsChinese(std::string_view language) { return language.rfind("zh", 0) == 0; }

// The store's name for a KB language (a KB without one is "default").
std::string LanguageKey(std::string_view language) { return language.empty() ? "default" : std::string(language); }

// The KB of `language` uploaded to `desk`, built from its stored JSON `json`.
Result<std::shared_ptr<KbBundle>> BuildStoredKb(const MatcherOptions& options, const std::string& desk,
                                                const std::string& language, std::string json) {
  auto kb = ParseKnowledgeBaseJson(json, "uploaded KB of desk " + desk);
  if (!kb.ok()) return kb.status();
  auto matcher = Matcher::Build(*kb, options);
  if (!matcher.ok()) return matcher.status().WithContext("uploaded KB of desk " + desk);
  auto bundle = std::make_shared<KbBundle>();
  bundle->language = language == "default" ? "" : language;
  bundle->kb = std::move(*kb);
  bundle->matcher = std::move(*matcher);
  bundle->source = std::move(json);
  return bundle;
}

// The KB of a config file for `desk`: the admin's upload of its language when there is one.
Result<std::shared_ptr<KbBundle>> BuildFileKb(Store* store, const MatcherOptions& options, const std::string& desk,
                                              KnowledgeBase file_kb, const std::string& path) {
  auto stored = store->Get(KbKey(desk, LanguageKey(file_kb.language)));
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) {
    auto uploaded = BuildStoredKb(options, desk, LanguageKey(file_kb.language), std::move(**stored));
    if (uploaded.ok()) return uploaded;
  }
  auto matcher = Matcher::Build(file_kb, options);
  if (!matcher.ok()) return matcher.status().WithContext(path);
  auto bundle = std::make_shared<KbBundle>();
  bundle->language = file_kb.language;
  bundle->kb = std::move(file_kb);
  bundle->matcher = std::move(*matcher);
  return bundle;
}

// The desk's KB generation and the languages of its uploads, read in one transaction.
Status ReadKbState(Engine::Impl& m, const std::string& desk, int64_t* generation, std::vector<std::string>* languages) {
  return m.Run([&](Op& op) {
    auto g = op.rec.KbGeneration(desk);
    if (!g.ok()) return g.status();
    auto l = op.rec.KbLanguages(desk);
    if (!l.ok()) return l.status();
    *generation = *g;
    *languages = std::move(*l);
    return Status::OK();
  });
}

Engine::DeskInfo InfoOf(const DeskRuntime& d) {
  Engine::DeskInfo info;
  info.config = d.config();
  info.source = d.source;
  std::lock_guard<std::mutex> lock(d.mu);
  for (const auto& b : d.kbs) info.languages.push_back(b->language);
  return info;
}

}  // namespace

// ---- A desk's configuration and KBs ------------------------------------------------------------------

void DeskRuntime::SetConfig(DeskConfig config) {
  auto next = std::make_unique<const DeskConfig>(std::move(config));
  std::lock_guard<std::mutex> lock(mu);
  config_now_.store(next.get(), std::memory_order_release);
  config_versions_.push_back(std::move(next));
}

std::shared_ptr<const KbBundle> DeskRuntime::KbFor(std::string_view text) const {
  std::lock_guard<std::mutex> lock(mu);
  if (kbs.empty()) return nullptr;
  if (kbs.size() > 1 && HasUnspacedText(text)) {
    for (const auto& kb : kbs) {
      if (IsChinese(kb->language)) return kb;
    }
  }
  if (kbs.size() > 1) {
    for (const auto& kb : kbs) {
      if (!IsChinese(kb->language)) return kb;
    }
  }
  return kbs.front();
}

std::shared_ptr<const KbBundle> DeskRuntime::FirstKb() const {
  std::lock_guard<std::mutex> lock(mu);
  return kbs.empty() ? nullptr : kbs.front();
}

DeskRuntime* Engine::Impl::Desk(std::string_view id) const {
  std::shared_lock<std::shared_mutex> lock(desks_mu);
  auto it = desks.find(id);
  if (it == desks.end() || it->second->removed.load(std::memory_order_acquire)) return nullptr;
  return it->second.get();
}

std::vector<DeskRuntime*> Engine::Impl::LiveDesks() const {
  std::shared_lock<std::shared_mutex> lock(desks_mu);
  std::vector<DeskRuntime*> out;
  for (const auto& entry : desks) {
    if (!entry.second->removed.load(std::memory_order_acquire)) out.push_back(entry.second.get());
  }
  return out;
}

Status Engine::Impl::LoadKbs(DeskRuntime& d) {
  const std::string id = d.config().id;
  int64_t generation = 0;  // read first: an upload meanwhile reloads later
  std::vector<std::string> uploaded;
  KEFU_RETURN_IF_ERROR(ReadKbState(*this, id, &generation, &uploaded));
  std::vector<std::shared_ptr<const KbBundle>> bundles;
  for (const std::string& path : d.config().knowledge_bases) {
    auto kb = LoadKnowledgeBase(path);
    if (!kb.ok()) return kb.status();
    auto bundle = BuildFileKb(store.get(), options.matcher, id, std::move(*kb), path);
    if (!bundle.ok()) return bundle.status();
    bundles.push_back(std::move(*bundle));
  }
  for (const std::string& language : uploaded) {  // uploads of languages no file has (API desks' KBs)
    auto has = [&](const auto& b) { return LanguageKey(b->language) == language; };
    if (std::any_of(bundles.begin(), bundles.end(), has)) continue;
    auto stored = store->Get(KbKey(id, language));
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) continue;
    auto bundle = BuildStoredKb(options.matcher, id, language, std::move(**stored));
    if (!bundle.ok()) return bundle.status();
    bundles.push_back(std::move(*bundle));
  }
  std::lock_guard<std::mutex> lock(d.mu);
  d.kbs = std::move(bundles);
  d.kb_generation = generation;
  return Status::OK();
}

Status Engine::Impl::FollowKbUploads(DeskRuntime& d) {
  const std::string id = d.config().id;
  int64_t generation = 0;
  std::vector<std::string> uploaded;
  KEFU_RETURN_IF_ERROR(ReadKbState(*this, id, &generation, &uploaded));
  std::vector<std::shared_ptr<const KbBundle>> current;
  {
    std::lock_guard<std::mutex> lock(d.mu);
    if (generation <= d.kb_generation) return Status::OK();
    current = d.kbs;
  }
  for (const std::string& language : uploaded) {
    auto stored = store->Get(KbKey(id, language));
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) continue;
    auto same = [&](const auto& b) { return LanguageKey(b->language) == language && b->source == **stored; };
    if (std::any_of(current.begin(), current.end(), same)) continue;
    auto bundle = BuildStoredKb(options.matcher, id, language, std::move(**stored));
    if (!bundle.ok()) return bundle.status();
    std::lock_guard<std::mutex> lock(d.mu);
    auto old = std::find_if(d.kbs.begin(), d.kbs.end(), [&](const auto& b) { return LanguageKey(b->language) == language; });
    if (old != d.kbs.end()) {
      *old = *bundle;
    } else {
      d.kbs.push_back(*bundle);
    }
  }
  std::lock_guard<std::mutex> lock(d.mu);
  d.kb_generation = std::max(d.kb_generation, generation);
  return Status::OK();
}

Result<Engine::KnowledgeSnapshot> Engine::Knowledge(std::string_view desk, std::string_view language) const {
  const DeskRuntime* d = impl_->Desk(desk);
  if (d == nullptr) return Status::NotFound("no such desk");
  std::lock_guard<std::mutex> lock(d->mu);
  for (const auto& b : d->kbs) {
    if (!language.empty() && b->language != language) continue;
    KnowledgeSnapshot s;
    s.language = b->language;
    s.kb = &b->kb;
    s.matcher = b->matcher.get();
    s.keep_alive = b;
    return s;
  }
  if (d->kbs.empty()) return Status::NotFound("the desk has no knowledge base yet (upload one: PUT /v1/admin/desks/{desk}/kb)");
  return Status::NotFound("the desk has no knowledge base for language '" + std::string(language) + "'");
}

Result<Engine::KnowledgeSnapshot> Engine::KnowledgeFor(std::string_view desk, std::string_view text) const {
  const DeskRuntime* d = impl_->Desk(desk);
  if (d == nullptr) return Status::NotFound("no such desk");
  auto kb = d->KbFor(text);
  if (kb == nullptr) return Status::NotFound("the desk has no knowledge base yet (upload one: PUT /v1/admin/desks/{desk}/kb)");
  return Knowledge(desk, kb->language);
}

Result<std::vector<std::string>> Engine::KnowledgeLanguages(std::string_view desk) const {
  const DeskRuntime* d = impl_->Desk(desk);
  if (d == nullptr) return Status::NotFound("no such desk");
  std::lock_guard<std::mutex> lock(d->mu);
  std::vector<std::string> out;
  for (const auto& b : d->kbs) out.push_back(b->language);
  return out;
}

Status Engine::ReplaceKnowledgeBase(std::string_view desk, std::string_view language, std::string_view kb_json) {
  Impl& m = *impl_;
  auto kb = ParseKnowledgeBaseJson(kb_json, "knowledge base");
  if (!kb.ok()) return kb.status();
  DeskRuntime* d = m.Desk(desk);
  if (d == nullptr) return Status::NotFound("no such desk");
  std::string lang(language);
  if (lang.empty()) {  // the desk's first KB; for a desk without one, the KB's own language
    std::lock_guard<std::mutex> lock(d->mu);
    lang = d->kbs.empty() ? kb->language : d->kbs.front()->language;
  }
  auto matcher = Matcher::Build(*kb, m.options.matcher);  // seconds for big KBs: outside any lock
  if (!matcher.ok()) return matcher.status();
  auto bundle = std::make_shared<KbBundle>();
  bundle->language = lang;
  bundle->kb = std::move(*kb);
  bundle->matcher = std::move(*matcher);
  const std::string json = KnowledgeBaseToJson(bundle->kb);
  int64_t generation = 0;
  KEFU_RETURN_IF_ERROR(m.Run([&](Op& op) {
    KEFU_RETURN_IF_ERROR(op.rec.PutKb(desk, LanguageKey(lang), json));
    auto g = op.rec.KbGeneration(desk);
    if (!g.ok()) return g.status();
    generation = *g;
    return Status::OK();
  }));
  bundle->source = json;
  std::lock_guard<std::mutex> lock(d->mu);
  auto old = std::find_if(d->kbs.begin(), d->kbs.end(), [&](const auto& b) { return b->language == lang; });
  if (old != d->kbs.end()) {
    *old = bundle;
  } else {
    d->kbs.push_back(bundle);  // a new language for the desk
  }
  d->kb_generation = std::max(d->kb_generation, generation);
  return Status::OK();
}

std::vector<std::string> Engine::DeskIds() const {
  std::vector<std::string> out;
  for (const DeskRuntime* d : impl_->LiveDesks()) out.push_back(d->config().id);
  return out;
}

Result<DeskConfig> Engine::GetDeskConfig(std::string_view desk) const {
  const DeskRuntime* d = impl_->Desk(desk);
  if (d == nullptr) return Status::NotFound("no such desk");
  return d->config();
}

// ---- Desks of the admin API ------------------------------------------------------------------------

Status Engine::Impl::InstallApiDesk(const std::string& id, const std::string& json) {
  DeskRuntime* d = nullptr;
  {
    std::shared_lock<std::shared_mutex> lock(desks_mu);
    auto it = desks.find(id);
    if (it != desks.end()) d = it->second.get();
  }
  if (d != nullptr && !d->removed.load()) {
    std::lock_guard<std::mutex> lock(d->mu);
    if (d->stored_object == json) return Status::OK();
  }
  auto config = ParseDeskObject(json);
  if (!config.ok()) return config.status().WithContext("stored desk '" + id + "'");
  if (d == nullptr) {
    auto fresh = std::make_unique<DeskRuntime>();
    fresh->source = DeskSource::kAdminApi;
    fresh->SetConfig(std::move(*config));
    fresh->stored_object = json;
    KEFU_RETURN_IF_ERROR(LoadKbs(*fresh));
    std::unique_lock<std::shared_mutex> lock(desks_mu);
    desks.emplace(id, std::move(fresh));
  } else {
    d->SetConfig(std::move(*config));
    {
      std::lock_guard<std::mutex> lock(d->mu);
      d->stored_object = json;
    }
    if (d->removed.load()) {  // created again: its stored KBs are back with it
      KEFU_RETURN_IF_ERROR(LoadKbs(*d));
      d->removed.store(false, std::memory_order_release);
    }
  }
  desks_version.fetch_add(1);
  return Status::OK();
}

Status Engine::Impl::FollowDesks(bool force) {
  std::lock_guard<std::mutex> follow(follow_desks_mu);
  int64_t generation = 0;
  std::map<std::string, std::string> stored;
  KEFU_RETURN_IF_ERROR(Run([&](Op& op) {
    auto g = op.rec.DeskGeneration();
    if (!g.ok()) return g.status();
    generation = *g;
    stored.clear();
    if (!force && generation <= desk_generation) return Status::OK();
    return op.rec.ScanDeskObjects([&](std::string_view id, std::string_view json) {
      stored.emplace(id, json);
      return true;
    });
  }));
  if (!force && generation <= desk_generation) return Status::OK();
  for (const auto& [id, json] : stored) {
    bool from_file = false;
    {
      std::shared_lock<std::shared_mutex> lock(desks_mu);
      auto it = desks.find(id);
      from_file = it != desks.end() && it->second->source == DeskSource::kConfigFile;
    }
    if (from_file) {  // kefu.json wins: the operator's file is the desk's authority
      if (std::find(shadowed_desks.begin(), shadowed_desks.end(), id) == shadowed_desks.end()) shadowed_desks.push_back(id);
      continue;
    }
    KEFU_RETURN_IF_ERROR(InstallApiDesk(id, json));
  }
  for (DeskRuntime* d : LiveDesks()) {  // deleted through another process
    if (d->source == DeskSource::kAdminApi && stored.count(d->config().id) == 0) {
      d->removed.store(true, std::memory_order_release);
      desks_version.fetch_add(1);
    }
  }
  desk_generation = std::max(desk_generation, generation);
  return Status::OK();
}

std::vector<Engine::DeskInfo> Engine::Desks() const {
  std::vector<DeskInfo> out;
  for (const DeskRuntime* d : impl_->LiveDesks()) out.push_back(InfoOf(*d));
  return out;
}

Result<Engine::DeskInfo> Engine::Desk(std::string_view desk) const {
  const DeskRuntime* d = impl_->Desk(desk);
  if (d == nullptr) return Status::NotFound("no such desk");
  return InfoOf(*d);
}

// The stored form of an API desk object: without seed agents (their passwords are never kept).
static Result<std::string> StoredDeskObject(std::string_view json) {
  auto doc = ParseJson(json);
  if (!doc.ok()) return doc.status();
  if ((*doc)->IsObject()) (*doc)->RemoveMember("agents");
  return JsonText(**doc);
}

Result<Engine::DeskInfo> Engine::CreateDesk(std::string_view desk_json) {
  Impl& m = *impl_;
  auto config = ParseDeskObject(desk_json);
  if (!config.ok()) return config.status();
  auto stored = StoredDeskObject(desk_json);
  if (!stored.ok()) return stored.status();
  const std::string id = config->id;
  {
    std::lock_guard<std::mutex> follow(m.follow_desks_mu);
    {
      std::shared_lock<std::shared_mutex> lock(m.desks_mu);
      auto it = m.desks.find(id);
      if (it != m.desks.end() && it->second->source == DeskSource::kConfigFile) {
        return Status::Conflict("desk '" + id + "' is defined in kefu.json");
      }
    }
    KEFU_RETURN_IF_ERROR(m.Run([&](Op& op) {
      auto current = op.rec.LoadDeskObject(id, RecordTxn::Lock::kUpdate);
      if (!current.ok()) return current.status();
      if (current->has_value()) return Status::Conflict("desk '" + id + "' exists");
      return op.rec.PutDeskObject(id, *stored);
    }));
    KEFU_RETURN_IF_ERROR(m.InstallApiDesk(id, *stored));
  }
  for (const AgentSeed& seed : config->agents) {  // an account kept from an earlier life of the desk stays
    Status s = CreateAgent(id, seed.username, seed.password, seed.display_name, seed.teams,
                           seed.capacity > 0 ? seed.capacity : config->settings.default_capacity);
    if (!s.ok() && s.code() != Status::Code::kConflict) return s;
  }
  return Desk(id);
}

// Conflict unless `desk` is a desk of the admin API (NotFound when no desk serves).
static Status CheckApiDesk(const Engine::Impl& m, std::string_view desk) {
  const DeskRuntime* d = m.Desk(desk);
  if (d == nullptr) return Status::NotFound("no such desk");
  if (d->source == DeskSource::kConfigFile) {
    return Status::Conflict("desk '" + std::string(desk) + "' is defined in kefu.json: change it there");
  }
  return Status::OK();
}

Result<Engine::DeskInfo> Engine::UpdateDesk(std::string_view desk, std::string_view patch_json) {
  Impl& m = *impl_;
  KEFU_RETURN_IF_ERROR(CheckApiDesk(m, desk));
  auto patch = ParseJson(patch_json);
  if (!patch.ok()) return patch.status();
  if (!(*patch)->IsObject()) return Status::InvalidArgument("the body must be a JSON object (a merge patch of the desk)");
  for (const char* fixed : {"id", "knowledge_bases", "agents"}) {
    if ((*patch)->HasMember(fixed)) {
      return Status::InvalidArgument("field '" + std::string(fixed) + "': cannot be changed here" +
                                     (std::string_view(fixed) == "agents" ? " (use /v1/admin/desks/{desk}/agents)" : ""));
    }
  }
  std::string merged;
  std::lock_guard<std::mutex> follow(m.follow_desks_mu);
  KEFU_RETURN_IF_ERROR(m.Run([&](Op& op) {
    auto current = op.rec.LoadDeskObject(desk, RecordTxn::Lock::kUpdate);
    if (!current.ok()) return current.status();
    if (!current->has_value()) return Status::NotFound("no such desk");
    auto next = JsonMergePatch(**current, patch_json);
    if (!next.ok()) return next.status();
    auto config = ParseDeskObject(*next);
    if (!config.ok()) return config.status();
    merged = std::move(*next);
    return op.rec.PutDeskObject(desk, merged);
  }));
  KEFU_RETURN_IF_ERROR(m.InstallApiDesk(std::string(desk), merged));
  return Desk(desk);
}

Status Engine::DeleteDesk(std::string_view desk, bool force) {
  Impl& m = *impl_;
  KEFU_RETURN_IF_ERROR(CheckApiDesk(m, desk));
  DeskRuntime* d = m.Desk(desk);
  std::vector<std::string> open;
  KEFU_RETURN_IF_ERROR(m.Run([&](Op& op) {
    auto ids = op.rec.OpenConversations(desk);
    if (!ids.ok()) return ids.status();
    open = std::move(*ids);
    return Status::OK();
  }));
  if (!open.empty() && !force) {
    return Status::Conflict(std::to_string(open.size()) +
                            " conversations are open (waiting, served or with the bot): resolve them, or delete with ?force=true");
  }
  for (const std::string& id : open) {  // each in its own transaction, like an agent's resolve
    KEFU_RETURN_IF_ERROR(m.Run([&](Op& op) {
      auto slot = op.Load(id);
      if (!slot.ok()) return slot.status().code() == Status::Code::kNotFound ? Status::OK() : slot.status();
      Conversation& c = (*slot)->c;
      if (c.desk != desk || c.state == ConversationState::kResolved) return Status::OK();
      KEFU_RETURN_IF_ERROR(m.Resolve(op, *d, c, &(*slot)->turn, "admin", "desk deleted"));
      return op.Finish();
    }));
  }
  std::lock_guard<std::mutex> follow(m.follow_desks_mu);
  KEFU_RETURN_IF_ERROR(m.Run([&](Op& op) {
    auto current = op.rec.LoadDeskObject(desk, RecordTxn::Lock::kUpdate);
    if (!current.ok()) return current.status();
    if (!current->has_value()) return Status::NotFound("no such desk");
    return op.rec.PutDeskObject(desk, std::nullopt);
  }));
  d->removed.store(true, std::memory_order_release);
  m.desks_version.fetch_add(1);
  return Status::OK();
}

std::vector<std::string> Engine::ShadowedDesks() const {
  std::lock_guard<std::mutex> follow(impl_->follow_desks_mu);
  return impl_->shadowed_desks;
}

uint64_t Engine::DesksVersion() const { return impl_->desks_version.load(); }

}  // namespace kefu
