// The conversation state machine as a pure function: which actions are allowed in which state,
// and where they lead. The engine records every transition as an event with its actor and reason.
#ifndef KEFU_ENGINE_STATE_MACHINE_H_
#define KEFU_ENGINE_STATE_MACHINE_H_

#include <string_view>

#include "base/status.h"
#include "engine/model.h"

namespace kefu {

enum class ConversationAction {
  kBotTakes,       // new -> bot: the bot handles the first message
  kEscalate,       // new, bot -> queued: a person is needed
  kAssign,         // queued -> agent: an agent takes it (routing or claim)
  kRequeue,        // agent -> queued: transferred to a team, or the agent left
  kTransfer,       // agent -> agent: handed to another agent
  kResolve,        // new, bot, queued, agent -> resolved
  kReopenToBot,    // resolved -> bot: the customer writes again
  kReopenToAgent,  // resolved -> agent: ... and their last agent is there to take it
  kWithdraw,       // queued -> bot: the customer leaves the line
  kDefer,          // queued -> bot: the customer is gone or the desk closed; their ticket waits instead
};

std::string_view ConversationActionName(ConversationAction a);

// The state after `action` in state `from`; Conflict naming both when the action is not allowed
// there (e.g. assigning a resolved conversation).
Result<ConversationState> NextState(ConversationState from, ConversationAction action);

}  // namespace kefu

#endif  // KEFU_ENGINE_STATE_MACHINE_H_
