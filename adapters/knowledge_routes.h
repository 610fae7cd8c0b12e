// The knowledge loop over HTTP (docs/api.md, "Knowledge loop"): gap reports, drafts from agents'
// work, labelled questions, review, publish, versions and rollback.
#ifndef KEFU_ADAPTERS_KNOWLEDGE_ROUTES_H_
#define KEFU_ADAPTERS_KNOWLEDGE_ROUTES_H_

#include "adapters/http_api.h"
#include "knowledge/knowledge_loop.h"

namespace kefu {

// Registers the routes on `api`; `loop` and `engine` must outlive it. Call before Serve.
void AddKnowledgeRoutes(HttpApi* api, KnowledgeLoop* loop, Engine* engine);

}  // namespace kefu

#endif  // KEFU_ADAPTERS_KNOWLEDGE_ROUTES_H_
