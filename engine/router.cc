#include "engine/router.h"

#include <algorithm>

namespace kefu {

bool QueueBefore(const QueueEntry& a, const QueueEntry& b) {
  if (a.priority != b.priority) return a.priority > b.priority;
  if (a.enqueued_at != b.enqueued_at) return a.enqueued_at < b.enqueued_at;
  return a.conversation < b.conversation;
}

int ChooseAgent(const std::vector<AgentLoad>& agents, std::string_view team) {
  int best = -1;
  for (int i = 0; i < static_cast<int>(agents.size()); ++i) {
    const AgentLoad& a = agents[i];
    if (a.presence != AgentPresence::kOnline || a.active >= a.capacity) continue;
    const bool serves = a.teams.empty() || team.empty() || std::find(a.teams.begin(), a.teams.end(), team) != a.teams.end();
    if (!serves) continue;
    if (best < 0) {
      best = i;
      continue;
    }
    const AgentLoad& b = agents[best];
    const int free_a = a.capacity - a.active, free_b = b.capacity - b.active;
    if (free_a != free_b) {
      if (free_a > free_b) best = i;
    } else if (a.last_assigned_at != b.last_assigned_at) {
      if (a.last_assigned_at < b.last_assigned_at) best = i;
    } else if (a.username < b.username) {
      best = i;
    }
  }
  return best;
}

int64_t ExpectedWaitMicros(int position, int seats, int free_seats, int64_t mean_handle_micros) {
  if (seats <= 0) return -1;
  if (position <= free_seats) return 0;
  return static_cast<int64_t>(position - free_seats) * mean_handle_micros / seats;
}

}  // namespace kefu
