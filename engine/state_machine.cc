#include "engine/state_machine.h"

#include <string>

namespace kefu {

std::string_view ConversationActionName(ConversationAction a) {
  switch (a) {
    case ConversationAction::kBotTakes: return "bot_takes";
    case ConversationAction::kEscalate: return "escalate";
    case ConversationAction::kAssign: return "assign";
    case ConversationAction::kRequeue: return "requeue";
    case ConversationAction::kTransfer: return "transfer";
    case ConversationAction::kResolve: return "resolve";
    case ConversationAction::kReopenToBot: return "reopen_to_bot";
    case ConversationAction::kReopenToAgent: return "reopen_to_agent";
    case ConversationAction::kWithdraw: return "withdraw";
    case ConversationAction::kDefer: return "defer";
  }
  return "unknown";
}

Result<ConversationState> NextState(ConversationState from, ConversationAction action) {
  using S = ConversationState;
  using A = ConversationAction;
  switch (action) {
    case A::kBotTakes:
      if (from == S::kNew) return S::kBot;
      break;
    case A::kEscalate:
      if (from == S::kNew || from == S::kBot) return S::kQueued;
      break;
    case A::kAssign:
      if (from == S::kQueued) return S::kAgent;
      break;
    case A::kRequeue:
      if (from == S::kAgent) return S::kQueued;
      break;
    case A::kTransfer:
      if (from == S::kAgent) return S::kAgent;
      break;
    case A::kResolve:
      if (from != S::kResolved) return S::kResolved;
      break;
    case A::kReopenToBot:
      if (from == S::kResolved) return S::kBot;
      break;
    case A::kReopenToAgent:
      if (from == S::kResolved) return S::kAgent;
      break;
    case A::kWithdraw:
    case A::kDefer:
      if (from == S::kQueued) return S::kBot;
      break;
  }
  return Status::Conflict("cannot " + std::string(ConversationActionName(action)) + " a conversation in state " +
                          std::string(ConversationStateName(from)));
}

}  // namespace kefu
