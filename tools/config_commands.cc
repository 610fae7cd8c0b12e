#include "tools/config_commands.h"

#include <cstdio>

#include "engine/desk_config.h"
#include "kb/knowledge_base.h"

namespace kefu {

int RunConfigCheck(const std::string& path) {
  auto config = LoadConfig(path);
  if (!config.ok()) {
    std::fprintf(stderr, "kefu: %s\n", config.status().message().c_str());
    return 1;
  }
  int failures = 0;
  for (const DeskConfig& d : config->desks) {
    std::string kbs;
    bool loaded = true;
    for (const std::string& kb_path : d.knowledge_bases) {
      auto kb = LoadKnowledgeBase(kb_path);
      if (!kb.ok()) {
        std::fprintf(stderr, "kefu: %s\n", kb.status().message().c_str());
        ++failures;
        loaded = false;
        continue;
      }
      kbs += (kbs.empty() ? "" : ", ") + kb_path + " (" + std::to_string(kb->entries.size()) + " entries" +
             (kb->language.empty() ? "" : ", " + kb->language) + ")";
    }
    if (!loaded) continue;
    std::printf("desk %s (%s): %s; %zu seed agents%s%s\n", d.id.c_str(), d.name.c_str(), kbs.c_str(), d.agents.size(),
                d.wecom.enabled() ? "; WeCom channel" : "", d.wecom_app.enabled() ? "; WeCom app channel" : "");
  }
  if (failures > 0) {
    std::fprintf(stderr, "kefu: %s: %d knowledge base%s cannot be loaded\n", path.c_str(), failures,
                 failures == 1 ? "" : "s");
    return 1;
  }
  std::printf("%s: OK (%zu desk%s)\n", path.c_str(), config->desks.size(), config->desks.size() == 1 ? "" : "s");
  return 0;
}

}  // namespace kefu
