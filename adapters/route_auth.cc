// Authentication at the edge (docs/api.md, "Authentication"): customer tokens, agent sessions, the
// admin token and desk admins. Authorisation proper (which conversation, which desk) is the
// engine's.
#include "adapters/http_api.h"
#include "adapters/http_internal.h"
#include "engine/auth.h"

namespace kefu {

Status HttpApi::Authorize(const Route& route, HttpCall& call, std::string* conversation_desk) {
  switch (route.auth) {
    case RouteAuth::kPublic:
      return Status::OK();
    case RouteAuth::kCustomer: {
      Status auth = engine_->AuthorizeCustomer(call.Param("id"), call.bearer);
      if (auth.ok() && conversation_desk != nullptr) {
        auto view = engine_->GetConversation(call.Param("id"));
        if (view.ok()) *conversation_desk = view->desk;
      }
      return auth;
    }
    case RouteAuth::kAgent: {
      auto agent = engine_->AuthenticateAgent(call.bearer);
      if (!agent.ok()) return agent.status();
      call.agent = std::move(*agent);
      return Status::OK();
    }
    case RouteAuth::kAdmin:
      return AuthorizeAdmin(call, false);
    case RouteAuth::kDeskAdmin:
      return AuthorizeAdmin(call, true);
  }
  return Status::Internal("unknown route authentication");
}

Status HttpApi::AuthorizeAdmin(HttpCall& call, bool desk_admin_too) {
  if (call.bearer.empty()) return Status::Unauthenticated("missing admin token");
  // The admin token first, in constant time, whatever the caller holds.
  const bool admin = !impl_->admin_hash.empty() && ConstantTimeEquals(HashToken(call.bearer), impl_->admin_hash);
  if (admin) return Status::OK();
  if (desk_admin_too) {
    auto agent = engine_->AuthenticateAgent(call.bearer);
    if (agent.ok() && agent->desk_admin) {
      // Like an agent's view of another desk's conversation: as if it did not exist.
      if (agent->desk != call.Param("desk")) return Status::NotFound("no such desk");
      call.agent = std::move(*agent);
      return Status::OK();
    }
  }
  if (impl_->admin_hash.empty()) return Status::Unauthenticated("admin routes are off (no admin token)");
  return Status::Unauthenticated("invalid admin token");
}

}  // namespace kefu
