#include "engine/live_bus.h"

#include <algorithm>
#include <chrono>


namespace kefu {

namespace {
constexpr std::string_view kTypeNames[] = {"message", "state", "queue", "assigned", "presence", "ticket", "reminder"};
}  // namespace

std::string_view LiveEventTypeName(LiveEventType t) { return kTypeNames[static_cast<int>(t)]; }

std::optional<LiveEventType> ParseLiveEventType(std::string_view name) {
  for (size_t i = 0; i < std::size(kTypeNames); ++i) {
    if (kTypeNames[i] == name) return static_cast<LiveEventType>(i);
  }
  return std::nullopt;
}

// One header line of tab-separated fields (desks, conversation ids and usernames hold no tabs or
// newlines), then the payload as is: no JSON inside JSON to escape and parse again.
std::string EncodeLiveEvent(const LiveEvent& e) {
  std::string out;
  out.reserve(e.desk.size() + e.conversation.size() + e.agent.size() + e.data.size() + 16);
  out.append(e.desk).append("\t").append(LiveEventTypeName(e.type)).append("\t").append(e.conversation);
  out.append("\t").append(e.agent).append(e.for_customer ? "\t1\n" : "\t0\n").append(e.data);
  return out;
}

bool DecodeLiveEvent(std::string_view text, LiveEvent* e) {
  const size_t newline = text.find('\n');
  if (newline == std::string_view::npos) return false;
  std::string_view header = text.substr(0, newline);
  std::string_view fields[5];
  for (int i = 0; i < 5; ++i) {
    const size_t tab = header.find('\t');
    if ((tab == std::string_view::npos) != (i == 4)) return false;
    fields[i] = header.substr(0, tab);
    header = tab == std::string_view::npos ? std::string_view() : header.substr(tab + 1);
  }
  auto type = ParseLiveEventType(fields[1]);
  if (!type || fields[0].empty() || (fields[4] != "0" && fields[4] != "1")) return false;
  e->desk = std::string(fields[0]);
  e->type = *type;
  e->conversation = std::string(fields[2]);
  e->agent = std::string(fields[3]);
  e->for_customer = fields[4] == "1";
  e->data = std::string(text.substr(newline + 1));
  return true;
}

LiveBus::LiveBus(size_t capacity_per_desk) : capacity_(std::max<size_t>(1, capacity_per_desk)) {}

void LiveBus::Push(Ring& ring, LiveEvent e) {
  ring.position = e.id;
  ring.events.push_back(std::move(e));
  if (ring.events.size() > capacity_) {
    ring.dropped_through = ring.events.front().id;
    ring.events.pop_front();
  }
}

void LiveBus::Append(std::vector<LiveEvent> events) {
  if (events.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (LiveEvent& e : events) {
      auto it = rings_.find(e.desk);
      if (it == rings_.end()) it = rings_.emplace(e.desk, Ring()).first;
      e.id = it->second.position + 1;
      Push(it->second, std::move(e));
    }
  }
  cv_.notify_all();
}

void LiveBus::Deliver(std::vector<LiveEvent> events) {
  if (events.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (LiveEvent& e : events) {
      auto it = rings_.find(e.desk);
      if (it == rings_.end()) it = rings_.emplace(e.desk, Ring()).first;
      if (e.id <= it->second.position) continue;
      Push(it->second, std::move(e));
    }
  }
  cv_.notify_all();
}

void LiveBus::MarkUnavailableThrough(std::string_view desk, uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rings_.find(desk);
  if (it == rings_.end()) it = rings_.emplace(std::string(desk), Ring()).first;
  Ring& ring = it->second;
  ring.dropped_through = std::max(ring.dropped_through, id);
  ring.position = std::max(ring.position, id);
  while (!ring.events.empty() && ring.events.front().id <= id) ring.events.pop_front();
}

uint64_t LiveBus::Position(std::string_view desk) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rings_.find(desk);
  return it == rings_.end() ? 0 : it->second.position;
}

std::vector<LiveEvent> LiveBus::Wait(std::string_view desk, uint64_t after_id, int64_t timeout_micros,
                                     const std::function<bool(const LiveEvent&)>& filter, bool* gap) const {
  std::vector<LiveEvent> out;
  *gap = false;
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(timeout_micros);
  while (true) {
    auto it = rings_.find(desk);
    if (it != rings_.end()) {
      const Ring& ring = it->second;
      if (after_id < ring.dropped_through) *gap = true;
      // Ids increase along the ring: start right after `after_id` instead of scanning it all.
      auto first = std::upper_bound(ring.events.begin(), ring.events.end(), after_id,
                                    [](uint64_t id, const LiveEvent& e) { return id < e.id; });
      for (auto e = first; e != ring.events.end(); ++e) {
        if (filter(*e)) out.push_back(*e);
      }
      after_id = std::max(after_id, ring.position);
    }
    if (!out.empty() || *gap || stopping_) return out;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) return out;
  }
}

void LiveBus::WakeAll() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

}  // namespace kefu
