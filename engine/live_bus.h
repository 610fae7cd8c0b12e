// Live events: the changes that SSE streams, long polls and channel adapters follow (a message
// appended, a state change, the queue moving, an agent's presence...). They are hints that
// something changed, published only once the change is durable; the store keeps the truth.
//
// The bus keeps the newest events of each desk in a ring and lets readers wait for the ones after
// an id. With an embedded store the bus numbers events itself (Append, ids 1, 2, 3... per desk).
// With a shared store the events come from the store's events table with the ids it gave them
// (Deliver), so a stream can resume by id on any node.
//
// Thread-safe.
#ifndef KEFU_ENGINE_LIVE_BUS_H_
#define KEFU_ENGINE_LIVE_BUS_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kefu {

enum class LiveEventType {
  kMessage = 0,  // data: the message (model.h's EncodeMessage)
  kState,        // data: the conversation view after a transition
  kQueue,        // data: a waiting customer's view (conversation set), or {"length":N} for agents
  kAssigned,     // data: the conversation view; `agent` is the new assignee
  kPresence,     // data: {"agent","presence"}
  kTicket,       // data: the ticket
  kReminder,     // data: the ticket whose reminder is due; `agent` is its assignee
};
std::string_view LiveEventTypeName(LiveEventType t);  // "message", "state", "queue", ...
std::optional<LiveEventType> ParseLiveEventType(std::string_view name);

struct LiveEvent {
  uint64_t id = 0;  // increasing per desk (not necessarily consecutive)
  std::string desk;
  std::string conversation;  // "" for desk-wide events (queue length, presence)
  LiveEventType type = LiveEventType::kMessage;
  std::string agent;          // the agent it concerns ("" for all agents of the desk)
  bool for_customer = false;  // the customer of `conversation` sees it
  std::string data;           // JSON payload, as clients receive it
};

// A live event as a shared store keeps it in its events table (the id is the row's), and back;
// Decode returns false on malformed text.
std::string EncodeLiveEvent(const LiveEvent& e);
bool DecodeLiveEvent(std::string_view text, LiveEvent* e);

class LiveBus {
 public:
  // Keeps the newest `capacity_per_desk` events of each desk.
  explicit LiveBus(size_t capacity_per_desk = 10000);
  LiveBus(const LiveBus&) = delete;
  LiveBus& operator=(const LiveBus&) = delete;

  // Embedded stores: gives each event the next id of its desk, in order, and wakes the waiters.
  void Append(std::vector<LiveEvent> events);
  // Shared stores: events that carry their ids already. Per desk, an event whose id is not above
  // the desk's position is dropped (delivered before).
  void Deliver(std::vector<LiveEvent> events);
  // Events of `desk` up to `id` can no longer be read: a reader after an older id is told of a gap.
  void MarkUnavailableThrough(std::string_view desk, uint64_t id);

  // The id of the desk's latest event (0 when none).
  uint64_t Position(std::string_view desk) const;

  // Events of `desk` after `after_id` that pass `filter`, waiting up to `timeout_micros` of real
  // time for one. `*gap` is set when events after `after_id` were already dropped from the ring
  // (the caller should resynchronise).
  std::vector<LiveEvent> Wait(std::string_view desk, uint64_t after_id, int64_t timeout_micros,
                              const std::function<bool(const LiveEvent&)>& filter, bool* gap) const;

  // Wakes every waiter and makes later waits return at once (shutdown).
  void WakeAll();

 private:
  struct Ring {
    std::deque<LiveEvent> events;
    uint64_t position = 0;         // newest id
    uint64_t dropped_through = 0;  // newest id no longer readable
  };
  void Push(Ring& ring, LiveEvent e);  // REQUIRES(mu_)

  const size_t capacity_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, Ring, std::less<>> rings_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                           // GUARDED_BY(mu_)
};

}  // namespace kefu

#endif  // KEFU_ENGINE_LIVE_BUS_H_
