// Live streams (SSE) and long polls of docs/api.md, over Engine::WaitLiveEvents: a customer's
// conversation, and an agent's desk.
//
// Each holds a worker thread while open, so each first takes a slot (StreamSlots: in all, per
// customer token or agent session, per address for customers) and then waits in slices of
// ServerOptions::stream_liveness_millis, checking between them that its client is still connected
// (DataSink::is_writable peeks at the socket): a slot comes back within a slice of the client
// hanging up, not at the next heartbeat. A long poll that has to wait answers the same way, its
// JSON sent chunked once it is ready.
#include <algorithm>
#include <charconv>
#include <optional>
#include <set>

#include "adapters/http_api.h"
#include "adapters/http_internal.h"
#include "engine/auth.h"

namespace kefu {
namespace {

// One SSE event. `data` is one line of compact JSON.
std::string SseEvent(std::string_view type, std::string_view data, std::optional<uint64_t> id = std::nullopt) {
  std::string out;
  if (id) out += "id: " + std::to_string(*id) + "\n";
  out += "event: ";
  out += type;
  out += "\ndata: ";
  out += data;
  out += "\n\n";
  return out;
}

std::string AgentEventJson(const LiveEvent& e) {
  std::string out = "{\"id\":" + std::to_string(e.id) + ",\"type\":";
  AppendJsonString(LiveEventTypeName(e.type), &out);
  if (!e.conversation.empty()) {
    out += ",\"conversation\":";
    AppendJsonString(e.conversation, &out);
  }
  out += ",\"data\":" + (e.data.empty() ? std::string("null") : e.data) + "}";
  return out;
}

std::string PositionJson(uint64_t id) { return "{\"last_event_id\":" + std::to_string(id) + "}"; }

// Which live events of the desk an agent's stream carries: desk-wide ones (queue length,
// presence), tickets, and the events of the conversations the agent serves. `mine` follows
// assignments as the events go by.
bool AgentWants(const LiveEvent& e, const std::string& me, std::set<std::string>* mine) {
  if (e.conversation.empty()) return e.agent.empty() || e.agent == me;
  if (e.type == LiveEventType::kTicket) return true;
  if (e.type == LiveEventType::kAssigned) {
    if (e.agent == me) {
      mine->insert(e.conversation);
      return true;
    }
    mine->erase(e.conversation);
    return false;
  }
  if (e.type == LiveEventType::kMessage) return e.agent == me || mine->count(e.conversation) > 0;
  if (e.type == LiveEventType::kState) {
    const bool names_me = e.data.find("\"assignee\":\"" + me + "\"") != std::string::npos;
    const bool was_mine = mine->count(e.conversation) > 0;
    if (names_me) mine->insert(e.conversation);
    else mine->erase(e.conversation);
    return names_me || was_mine;
  }
  if (e.type == LiveEventType::kQueue) return false;  // per-customer positions; agents get the desk-wide one
  return e.agent.empty() || e.agent == me;
}

// Last-Event-ID header, else the `after` query parameter.
Result<std::optional<uint64_t>> ResumePoint(const httplib::Request& req) {
  std::string text = req.get_header_value("Last-Event-ID");
  const char* what = "header 'Last-Event-ID'";
  if (text.empty() && req.has_param("after")) {
    text = req.get_param_value("after");
    what = "query 'after'";
  }
  if (text.empty()) return std::optional<uint64_t>();
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status::InvalidArgument(std::string(what) + ": expected a non-negative integer");
  }
  return std::optional<uint64_t>(v);
}

// How a stream paces itself, microseconds.
struct Pacing {
  int64_t heartbeat = 0;  // a comment line after this long without an event
  int64_t slice = 0;      // the longest wait between two checks of the client
};

// Ends a turn of a stream's writer: sends `out`, or a heartbeat when one is due, or (nothing to
// send) only checks that the client is still there. False ends the stream, and frees its slot.
bool SendOrCheck(std::string out, int64_t* last_write, const Pacing& pacing, httplib::DataSink& sink) {
  const int64_t now = MonotonicMicros();
  if (out.empty()) {
    if (now - *last_write < pacing.heartbeat) return sink.is_writable();
    out = ": heartbeat\n\n";
  }
  *last_write = now;
  return sink.write(out.data(), out.size());
}

struct CustomerStream {
  std::string conversation;
  std::string desk;
  uint64_t last_seq = 0;    // the newest message sent
  uint64_t live_after = 0;  // the desk's live position seen
  bool started = false;
  int64_t last_write = 0;
  int64_t next_seen = 0;  // monotonic micros: when to tell the engine the widget is still open
};

// Tells the engine, when due, that the customer's widget is open (a waiting customer with an open
// stream is not gone).
void SayCustomerSeen(Engine& engine, const std::string& conversation, int64_t* next_seen) {
  const int64_t now = MonotonicMicros();
  if (now < *next_seen) return;
  auto every = engine.CustomerSeen(conversation);
  *next_seen = now + (every.ok() ? *every : 5 * kMicrosPerSecond);
}

// Appends the conversation's state and the messages after last_seq, and moves the live position
// to before them: a message that lands meanwhile arrives twice and is dropped by its seq.
void Replay(const Engine& engine, CustomerStream* s, std::string* out) {
  s->live_after = engine.LivePosition(s->desk);
  auto now = engine.GetConversation(s->conversation);
  if (now.ok()) *out += SseEvent("state", ConversationViewJson(*now));
  while (true) {
    auto page = engine.History(s->conversation, s->last_seq, kMaxHistoryPage, false);
    if (!page.ok() || page->empty()) break;
    for (const Message& m : *page) {
      *out += SseEvent("message", EncodeMessage(m), m.seq);
      s->last_seq = m.seq;
    }
  }
}

void AppendCustomerEvents(const std::vector<LiveEvent>& events, CustomerStream* s, std::string* out) {
  for (const LiveEvent& e : events) {
    s->live_after = std::max(s->live_after, e.id);
    if (e.type != LiveEventType::kMessage) {
      *out += SseEvent(LiveEventTypeName(e.type), e.data);
      continue;
    }
    auto m = DecodeMessage(e.data);
    if (!m.ok() || m->seq <= s->last_seq) continue;
    s->last_seq = m->seq;
    *out += SseEvent("message", e.data, m->seq);
  }
}

// One turn of a customer's SSE writer.
bool CustomerStreamTurn(Engine& engine, const std::atomic<bool>& stopping, const Pacing& pacing, CustomerStream* s,
                        httplib::DataSink& sink) {
  SayCustomerSeen(engine, s->conversation, &s->next_seen);
  std::string out;
  if (!s->started) {
    s->started = true;
    out = "retry: 3000\n\n";
    Replay(engine, s, &out);
    s->last_write = MonotonicMicros();
    return sink.write(out.data(), out.size());
  }
  bool gap = false;
  const std::string& id = s->conversation;
  auto events = stopping ? std::vector<LiveEvent>()
                         : engine.WaitLiveEvents(s->desk, s->live_after, pacing.slice,
                                                 [&id](const LiveEvent& e) { return e.for_customer && e.conversation == id; },
                                                 &gap);
  if (stopping) {
    sink.done();
    return true;
  }
  if (gap) Replay(engine, s, &out);
  else AppendCustomerEvents(events, s, &out);
  return SendOrCheck(std::move(out), &s->last_write, pacing, sink);
}

struct AgentStream {
  AgentIdentity agent;
  std::string token;
  uint64_t live_after = 0;
  bool resync = false;  // the client's Last-Event-ID is unknown to this server
  bool started = false;
  int64_t last_write = 0;
  std::set<std::string> mine;
};

// One turn of an agent's SSE writer. Each turn re-checks the session: the stream ends when its
// token expires or logs out.
bool AgentStreamTurn(Engine& engine, const std::atomic<bool>& stopping, const Pacing& pacing, AgentStream* s,
               httplib::DataSink& sink) {
  std::string out;
  if (!s->started) {
    s->started = true;
    out = "retry: 3000\n\n";
    if (s->resync) out += SseEvent("resync", PositionJson(s->live_after), s->live_after);
    out += SseEvent("ready", PositionJson(s->live_after), s->live_after);
    s->last_write = MonotonicMicros();
    return sink.write(out.data(), out.size());
  }
  const Status session = stopping ? Status::OK() : engine.AuthenticateAgent(s->token).status();
  if (stopping || !session.ok()) {
    // Only a session that is over logs the console out; a store that cannot be read now (the
    // database restarting) just ends the stream, and the console reconnects.
    if (session.code() == Status::Code::kUnauthenticated) {
      out = SseEvent("logout", "{}");
      sink.write(out.data(), out.size());
    }
    sink.done();
    return true;
  }
  bool gap = false;
  const std::string& me = s->agent.username;
  auto events = engine.WaitLiveEvents(s->agent.desk, s->live_after, pacing.slice,
                                      [&](const LiveEvent& e) { return AgentWants(e, me, &s->mine); }, &gap);
  if (stopping) {
    sink.done();
    return true;
  }
  if (gap) {
    s->live_after = engine.LivePosition(s->agent.desk);
    out = SseEvent("resync", PositionJson(s->live_after), s->live_after);
  } else {
    for (const LiveEvent& e : events) {
      s->live_after = std::max(s->live_after, e.id);
      out += SseEvent(LiveEventTypeName(e.type), AgentEventJson(e), e.id);
    }
  }
  return SendOrCheck(std::move(out), &s->last_write, pacing, sink);
}

std::string AgentPollJson(const std::vector<LiveEvent>& events, uint64_t last, bool resync) {
  std::string out = "{\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0) out += ',';
    out += AgentEventJson(events[i]);
  }
  return out + "],\"last_event_id\":" + std::to_string(last) + ",\"resync\":" + (resync ? "true" : "false") + "}";
}

}  // namespace

// ---- Slots and pacing ----------------------------------------------------------------------------

std::shared_ptr<const void> HttpApi::TakeStreamSlot(HttpCall& call, bool customer) {
  const std::string key = (customer ? "customer:" : "agent:") + HashToken(call.bearer);
  auto lease = impl_->streams.Acquire(key, customer ? ClientAddress(call.request) : std::string());
  if (lease.ok()) {
    MarkStreamingResponse();
    return *lease;
  }
  call.response.set_header("Retry-After", "5");
  if (lease.status().code() == Status::Code::kUnavailable) {
    SendHttpError(call.response, 503, "unavailable", lease.status().message());
  } else {
    SendError(call.response, lease.status());
  }
  return nullptr;
}

void HttpApi::AnswerWhenReady(httplib::Response& res, std::shared_ptr<const void> slot, int64_t wait_micros,
                              std::function<bool(int64_t)> wait_once, std::function<std::string()> answer) {
  const int64_t deadline = MonotonicMicros() + wait_micros;
  const int64_t slice = int64_t{std::max(1, options_.stream_liveness_millis)} * 1000;
  res.set_chunked_content_provider(
      "application/json",
      [this, slot, deadline, slice, wait_once = std::move(wait_once), answer = std::move(answer)](
          size_t, httplib::DataSink& sink) {
        try {
          const int64_t left = deadline - MonotonicMicros();
          if (!stopping_ && left > 0 && !wait_once(std::min(slice, left)) && MonotonicMicros() < deadline &&
              !stopping_) {
            return sink.is_writable();  // nothing yet: false once the client has gone
          }
          const std::string body = answer();
          if (body.empty()) return false;  // the engine failed: the response ends abnormally
          sink.write(body.data(), body.size());
          sink.done();
          return true;
        } catch (...) {
          return false;  // nothing may escape into cpp-httplib's writer
        }
      });
}

// ---- Customers -----------------------------------------------------------------------------------

void HttpApi::CustomerEvents(HttpCall& call) {
  httplib::Response& res = call.response;
  auto view = engine_->GetConversation(call.Param("id"));
  if (!view.ok()) return SendError(res, view.status());
  auto resume = ResumePoint(call.request);
  if (!resume.ok()) return SendError(res, resume.status());
  auto slot = TakeStreamSlot(call, true);
  if (slot == nullptr) return;
  auto stream = std::make_shared<CustomerStream>();
  stream->conversation = view->id;
  stream->desk = view->desk;
  // Without Last-Event-ID the stream starts now; with it, from the message after that seq.
  stream->last_seq = resume->has_value() ? std::min(**resume, view->last_seq) : view->last_seq;
  const Pacing pacing{int64_t{std::max(1, options_.sse_heartbeat_millis)} * 1000,
                      int64_t{std::max(1, options_.stream_liveness_millis)} * 1000};
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider("text/event-stream",
                                   [this, stream, slot, pacing](size_t, httplib::DataSink& sink) {
                                     try {
                                       return CustomerStreamTurn(*engine_, stopping_, pacing, stream.get(), sink);
                                     } catch (...) {
                                       return false;  // ends the stream; nothing may escape into cpp-httplib
                                     }
                                   });
}

void HttpApi::CustomerPoll(HttpCall& call) {
  httplib::Response& res = call.response;
  const std::string id = call.Param("id");
  auto after = QueryUint(call.request, "after", 0, UINT64_MAX);
  if (!after.ok()) return SendError(res, after.status());
  auto timeout = QueryUint(call.request, "timeout", 25, 3600);
  if (!timeout.ok()) return SendError(res, timeout.status());
  auto view = engine_->GetConversation(id);
  if (!view.ok()) return SendError(res, view.status());
  auto slot = TakeStreamSlot(call, true);
  if (slot == nullptr) return;
  const uint64_t position = engine_->LivePosition(view->desk);
  auto answer = [this, id, after = *after]() -> std::string {
    auto history = engine_->History(id, after, kHistoryPage, false);
    auto now = history.ok() ? engine_->GetConversation(id) : Result<ConversationView>(history.status());
    if (!now.ok()) return "";
    return "{\"messages\":" + MessagesJson(*history) + ",\"conversation\":" + ConversationViewJson(*now) + "}";
  };
  auto history = engine_->History(id, *after, kHistoryPage, false);
  if (!history.ok()) return SendError(res, history.status());
  const int64_t wait = static_cast<int64_t>(std::min<uint64_t>(*timeout, options_.max_poll_seconds)) * kMicrosPerSecond;
  if (!history->empty() || wait <= 0 || stopping_) {
    const std::string body = answer();
    if (body.empty()) return SendError(res, Status::Internal("the conversation could not be read"));
    return SendJson(res, 200, body);
  }
  auto next_seen = std::make_shared<int64_t>(0);
  SayCustomerSeen(*engine_, id, next_seen.get());
  auto wait_once = [this, id, desk = view->desk, position, next_seen](int64_t micros) {
    SayCustomerSeen(*engine_, id, next_seen.get());
    bool gap = false;
    auto events = engine_->WaitLiveEvents(
        desk, position, micros, [&id](const LiveEvent& e) { return e.for_customer && e.conversation == id; }, &gap);
    return gap || !events.empty();
  };
  AnswerWhenReady(res, slot, wait, wait_once, answer);
}

// ---- Agents --------------------------------------------------------------------------------------

void HttpApi::AgentEvents(HttpCall& call) {
  httplib::Response& res = call.response;
  auto resume = ResumePoint(call.request);
  if (!resume.ok()) return SendError(res, resume.status());
  auto mine = engine_->AgentConversations(call.agent);
  if (!mine.ok()) return SendError(res, mine.status());
  auto slot = TakeStreamSlot(call, false);
  if (slot == nullptr) return;
  auto stream = std::make_shared<AgentStream>();
  stream->agent = call.agent;
  stream->token = call.bearer;
  for (const ConversationView& v : *mine) stream->mine.insert(v.id);
  const uint64_t position = engine_->LivePosition(call.agent.desk);
  stream->live_after = resume->value_or(position);
  if (stream->live_after > position) {  // ids of an earlier run of the server
    stream->live_after = position;
    stream->resync = true;
  }
  const Pacing pacing{int64_t{std::max(1, options_.sse_heartbeat_millis)} * 1000,
                      int64_t{std::max(1, options_.stream_liveness_millis)} * 1000};
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider("text/event-stream",
                                   [this, stream, slot, pacing](size_t, httplib::DataSink& sink) {
                                     try {
                                       return AgentStreamTurn(*engine_, stopping_, pacing, stream.get(), sink);
                                     } catch (...) {
                                       return false;
                                     }
                                   });
}

void HttpApi::AgentPoll(HttpCall& call) {
  httplib::Response& res = call.response;
  auto resume = ResumePoint(call.request);
  if (!resume.ok()) return SendError(res, resume.status());
  auto timeout = QueryUint(call.request, "timeout", 25, 3600);
  if (!timeout.ok()) return SendError(res, timeout.status());
  auto mine_views = engine_->AgentConversations(call.agent);
  if (!mine_views.ok()) return SendError(res, mine_views.status());
  auto slot = TakeStreamSlot(call, false);
  if (slot == nullptr) return;
  const uint64_t position = engine_->LivePosition(call.agent.desk);
  if (!resume->has_value()) return SendJson(res, 200, AgentPollJson({}, position, false));
  if (**resume > position) return SendJson(res, 200, AgentPollJson({}, position, true));
  struct Poll {
    std::set<std::string> mine;
    std::vector<LiveEvent> events;
    bool gap = false;
  };
  auto poll = std::make_shared<Poll>();
  for (const ConversationView& v : *mine_views) poll->mine.insert(v.id);
  const AgentIdentity agent = call.agent;
  const uint64_t after = **resume;
  auto wait_once = [this, poll, agent, after](int64_t micros) {
    poll->events = engine_->WaitLiveEvents(
        agent.desk, after, micros, [&](const LiveEvent& e) { return AgentWants(e, agent.username, &poll->mine); },
        &poll->gap);
    return poll->gap || !poll->events.empty();
  };
  auto answer = [this, poll, agent, after]() {
    if (poll->gap) return AgentPollJson({}, engine_->LivePosition(agent.desk), true);
    uint64_t last = after;
    for (const LiveEvent& e : poll->events) last = std::max(last, e.id);
    return AgentPollJson(poll->events, last, false);
  };
  const int64_t wait = static_cast<int64_t>(std::min<uint64_t>(*timeout, options_.max_poll_seconds)) * kMicrosPerSecond;
  if (wait <= 0 || stopping_ || wait_once(0)) return SendJson(res, 200, answer());
  AnswerWhenReady(res, slot, wait, wait_once, answer);
}

}  // namespace kefu
