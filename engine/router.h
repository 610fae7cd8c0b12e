// Routing as plain functions over data: the order of the queue, which agent takes the next
// conversation, and how long a waiting customer should expect to wait.
#ifndef KEFU_ENGINE_ROUTER_H_
#define KEFU_ENGINE_ROUTER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model.h"

namespace kefu {

// One waiting conversation as the queue sees it.
struct QueueEntry {
  std::string conversation;
  std::string team;
  int priority = 0;
  int64_t enqueued_at = 0;
};

// Queue order: higher priority first, then longest waiting, then conversation id (a total order).
bool QueueBefore(const QueueEntry& a, const QueueEntry& b);

// An agent as routing sees it.
struct AgentLoad {
  std::string username;
  AgentPresence presence = AgentPresence::kOffline;
  int capacity = 0;
  int active = 0;  // conversations the agent is serving now
  std::vector<std::string> teams;  // empty: every team
  int64_t last_assigned_at = 0;    // for round-robin among equals
};

// The index in `agents` of the online agent serving `team` with the most free seats; among equals
// the one assigned least recently, then by username. -1 when nobody online has a free seat.
int ChooseAgent(const std::vector<AgentLoad>& agents, std::string_view team);

// Expected wait, in microseconds, of the customer at 1-based `position` among those waiting for a
// team whose online agents have `seats` seats in all, `free_seats` of them free, when a
// conversation takes `mean_handle_micros` on average. 0 when a seat is free for them; -1 when no
// agent is online (unknown).
int64_t ExpectedWaitMicros(int position, int seats, int free_seats, int64_t mean_handle_micros);

}  // namespace kefu

#endif  // KEFU_ENGINE_ROUTER_H_
