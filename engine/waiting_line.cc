#include "engine/waiting_line.h"

namespace kefu {

void WaitingLine::Insert(const QueueEntry& e) {
  if (all_.insert(e).second) by_team_[e.team].insert(e);
}

bool WaitingLine::Erase(const QueueEntry& e) {
  if (all_.erase(e) == 0) return false;
  auto team = by_team_.find(e.team);
  team->second.erase(e);
  if (team->second.empty()) by_team_.erase(team);
  return true;
}

void WaitingLine::Clear() {
  all_.clear();
  by_team_.clear();
}

int WaitingLine::PositionInTeam(const QueueEntry& e) const {
  auto team = by_team_.find(e.team);
  if (team == by_team_.end() || team->second.find(e) == team->second.end()) return 0;
  return static_cast<int>(team->second.order_of_key(e)) + 1;
}

}  // namespace kefu
