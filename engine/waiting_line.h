// The queue of a desk: conversations waiting for a person, in routing order (router.h's
// QueueBefore), with each one's position among those waiting for the same team in O(log n), so
// that telling a customer their place does not cost a walk over a long queue.
#ifndef KEFU_ENGINE_WAITING_LINE_H_
#define KEFU_ENGINE_WAITING_LINE_H_

#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>

#include <map>
#include <set>
#include <string>

#include "engine/router.h"

namespace kefu {

class WaitingLine {
 public:
  struct Order {
    bool operator()(const QueueEntry& a, const QueueEntry& b) const { return QueueBefore(a, b); }
  };
  using const_iterator = std::set<QueueEntry, Order>::const_iterator;

  // Adds `e`; a second insert of an equal entry is ignored.
  void Insert(const QueueEntry& e);
  // Removes the entry equal to `e`; false when it was not there.
  bool Erase(const QueueEntry& e);
  void Clear();

  // 1-based place of `e` among the entries of its team, 0 when absent.
  int PositionInTeam(const QueueEntry& e) const;

  size_t size() const { return all_.size(); }
  bool empty() const { return all_.empty(); }
  const_iterator begin() const { return all_.begin(); }
  const_iterator end() const { return all_.end(); }

 private:
  using RankedSet = __gnu_pbds::tree<QueueEntry, __gnu_pbds::null_type, Order, __gnu_pbds::rb_tree_tag,
                                     __gnu_pbds::tree_order_statistics_node_update>;
  std::set<QueueEntry, Order> all_;
  std::map<std::string, RankedSet> by_team_;
};

}  // namespace kefu

#endif  // KEFU_ENGINE_WAITING_LINE_H_
