// `kefu serve` killed with SIGKILL under load, again and again, on one data directory.
//
// Customers (several threads) start conversations and send messages with unique client_msg_ids;
// agents (one thread each) go online, claim, reply and resolve; SSE listeners follow customers'
// conversations and resume with Last-Event-ID after every restart. The server is killed at random
// points (KEFU_CRASH_CYCLES times, default 12) and restarted on the same directory. Then:
//   - every customer message that got a 2xx is in the history exactly once; one whose request
//     failed is there at most once (customers retry those with the same client_msg_id);
//   - every agent reply that got a 2xx is there exactly once; seqs are 1..n with no gap;
//   - the queue and the assignments agree (after each restart and at the end): no conversation is
//     both queued and assigned or assigned twice, no agent serves more than its capacity, and the
//     customers' views say the same;
//   - each SSE listener received every message once, in seq order, with the text the history
//     has: no gap and no repeat across all the kills and resumes.
#include <doctest/doctest.h>
#include <httplib.h>
#include <rapidjson/document.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/json.h"
#include "tests/engine/test_util.h"
#include "tests/reliability/kefu_process.h"

namespace kefu::testing {
namespace {

constexpr const char* kAdmin = "crash-test-admin-token-0123456789";

struct AgentSpec {
  std::string desk, username;
  int capacity;
};
const std::vector<AgentSpec> kAgents = {{"shop", "crash-a1", 2}, {"shop", "crash-a2", 2}, {"hr", "crash-h1", 2}};

struct Conversation {
  std::string id, token, desk;
};

struct Sent {
  std::string conversation;
  bool acked = false;
  int attempts = 0;
};

rapidjson::Document Parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  return d;
}

std::string Quote(const std::string& s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// What the test knows and checks; every member guarded by mu.
struct World {
  std::mutex mu;
  std::vector<Conversation> conversations;
  std::map<std::string, Sent> customer_messages;  // client_msg_id -> what happened
  std::map<std::string, Sent> agent_replies;      // reply text -> what happened
  std::vector<std::string> errors;                // broken promises seen while running
  uint64_t acked_customer = 0, acked_replies = 0, failed_requests = 0, sse_resumes = 0;

  void Error(const std::string& e) {
    std::lock_guard<std::mutex> lock(mu);
    if (errors.size() < 50) errors.push_back(e);
  }
};

// The server's current port, or 0 while it is down; workers make a new client when it changes.
struct Control {
  std::atomic<int> port{0};
  std::atomic<bool> stop{false};
};

std::unique_ptr<httplib::Client> NewClient(int port, int read_seconds = 10) {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
  c->set_connection_timeout(2, 0);
  c->set_read_timeout(read_seconds, 0);
  c->set_write_timeout(5, 0);
  c->set_keep_alive(true);
  return c;
}

void Pause() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }

// One customer thread: starts conversations now and then, says things, retries what failed.
void CustomerLoop(int index, World* world, Control* control) {
  std::mt19937 rng(1000 + index);
  const std::vector<std::string> shop = {"How do I place an order?", "talk to a human", "where is my refund",
                                         "my parcel arrived broken, I need a person", "what payment methods do you accept"};
  const std::vector<std::string> hr = {"我想请年假怎么申请", "转人工", "how many days of annual leave do I have",
                                       "I want to talk to someone about my salary"};
  int port = 0;
  std::unique_ptr<httplib::Client> client;
  std::vector<std::string> retry;  // client_msg_ids whose request failed
  int counter = 0;
  while (!control->stop) {
    const int now = control->port.load();
    if (now == 0) {
      Pause();
      continue;
    }
    if (now != port) {
      port = now;
      client = NewClient(port);
    }
    Conversation conv;
    {
      std::lock_guard<std::mutex> lock(world->mu);
      if (world->conversations.size() < 6 || rng() % 10 == 0) conv.id.clear();
      else conv = world->conversations[rng() % world->conversations.size()];
    }
    if (conv.id.empty()) {
      const std::string desk = rng() % 2 ? "shop" : "hr";
      auto r = client->Post(("/v1/desks/" + desk + "/conversations").c_str(), "{\"locale\":\"en\"}", "application/json");
      if (!r || r->status != 201) {
        Pause();
        continue;
      }
      auto d = Parse(r->body);
      std::lock_guard<std::mutex> lock(world->mu);
      world->conversations.push_back({d["conversation_id"].GetString(), d["customer_token"].GetString(), desk});
      continue;
    }
    std::string cmid;
    if (!retry.empty() && rng() % 2 == 0) {
      cmid = retry.back();
      std::lock_guard<std::mutex> lock(world->mu);
      conv.id = world->customer_messages[cmid].conversation;
      for (const Conversation& c : world->conversations) {
        if (c.id == conv.id) conv = c;
      }
    } else {
      cmid = "c" + std::to_string(index) + "-" + std::to_string(counter++);
      std::lock_guard<std::mutex> lock(world->mu);
      world->customer_messages[cmid].conversation = conv.id;
    }
    const std::vector<std::string>& texts = conv.desk == "shop" ? shop : hr;
    const std::string body = "{\"text\":" + Quote(texts[rng() % texts.size()] + " #" + cmid) +
                             ",\"client_msg_id\":" + Quote(cmid) + "}";
    auto r = client->Post(("/v1/conversations/" + conv.id + "/messages").c_str(), Bearer(conv.token), body,
                          "application/json");
    std::lock_guard<std::mutex> lock(world->mu);
    Sent& sent = world->customer_messages[cmid];
    ++sent.attempts;
    if (r && r->status == 200) {
      if (!sent.acked) ++world->acked_customer;
      sent.acked = true;
      if (!retry.empty() && retry.back() == cmid) retry.pop_back();
    } else {
      ++world->failed_requests;
      if (r && r->status != 503 && r->status != 409) {
        world->errors.push_back("customer message " + cmid + ": HTTP " + std::to_string(r->status) + " " + r->body);
      }
      if (retry.empty() || retry.back() != cmid) retry.push_back(cmid);
    }
  }
}

// One agent: logs in and goes online after each restart, replies to what it serves, resolves some,
// claims from the queue.
void AgentLoop(const AgentSpec& spec, World* world, Control* control) {
  std::mt19937 rng(std::hash<std::string>()(spec.username));
  int port = 0;
  std::unique_ptr<httplib::Client> client;
  std::string token;
  int counter = 0;
  while (!control->stop) {
    const int now = control->port.load();
    if (now == 0) {
      Pause();
      continue;
    }
    if (now != port || token.empty()) {
      port = now;
      client = NewClient(port);
      token.clear();
      auto login = client->Post("/v1/agent/login", "{\"desk\":\"" + spec.desk + "\",\"username\":\"" + spec.username +
                                                       "\",\"password\":\"password-" + spec.username + "\"}",
                                "application/json");
      if (!login || login->status != 200) {
        Pause();
        continue;
      }
      token = Parse(login->body)["token"].GetString();
      auto online = client->Put("/v1/agent/presence", Bearer(token), "{\"status\":\"online\"}", "application/json");
      if (!online || online->status != 200) {
        token.clear();
        continue;
      }
    }
    auto mine = client->Get("/v1/agent/conversations", Bearer(token));
    if (!mine || mine->status != 200) {
      if (mine && mine->status == 401) token.clear();
      Pause();
      continue;
    }
    auto d = Parse(mine->body);
    std::vector<std::string> ids;
    for (const auto& v : d["conversations"].GetArray()) ids.push_back(v["conversation_id"].GetString());
    for (const std::string& id : ids) {
      const std::string text = "reply " + spec.username + "-" + std::to_string(counter++);
      {
        std::lock_guard<std::mutex> lock(world->mu);
        world->agent_replies[text].conversation = id;
      }
      auto r = client->Post(("/v1/agent/conversations/" + id + "/reply").c_str(), Bearer(token),
                            "{\"text\":" + Quote(text) + "}", "application/json");
      {
        std::lock_guard<std::mutex> lock(world->mu);
        Sent& sent = world->agent_replies[text];
        ++sent.attempts;
        if (r && r->status == 201) {
          sent.acked = true;
          ++world->acked_replies;
        } else {
          ++world->failed_requests;
        }
      }
      if (rng() % 4 == 0) client->Post(("/v1/agent/conversations/" + id + "/resolve").c_str(), Bearer(token), "{}", "application/json");
    }
    auto queue = client->Get("/v1/agent/queue", Bearer(token));
    if (queue && queue->status == 200 && ids.size() < static_cast<size_t>(spec.capacity)) {
      auto q = Parse(queue->body);
      if (q["conversations"].Size() > 0) {
        const std::string id = q["conversations"][0]["conversation_id"].GetString();
        client->Post(("/v1/agent/conversations/" + id + "/claim").c_str(), Bearer(token), "{}", "application/json");
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 20));
  }
}

// Follows one conversation's SSE stream across every restart, resuming with Last-Event-ID.
struct SseFollower {
  Conversation conv;
  std::map<uint64_t, std::string> received;  // seq -> text
  uint64_t last = 0;
  std::vector<std::string> problems;

  void Run(World* world, Control* control) {
    while (!control->stop) {
      const int port = control->port.load();
      if (port == 0) {
        Pause();
        continue;
      }
      auto client = NewClient(port, 3);  // idle streams time out and resume: more resumes
      httplib::Headers headers = Bearer(conv.token);
      headers.emplace("Last-Event-ID", std::to_string(last));
      std::string buffer;
      client->Get(("/v1/conversations/" + conv.id + "/events").c_str(), headers, [&](const char* data, size_t n) {
        buffer.append(data, n);
        size_t end;
        while ((end = buffer.find("\n\n")) != std::string::npos) {
          Handle(buffer.substr(0, end));
          buffer.erase(0, end + 2);
        }
        return !control->stop.load() && control->port.load() == port;
      });
      std::lock_guard<std::mutex> lock(world->mu);
      ++world->sse_resumes;
    }
  }

  void Handle(const std::string& block) {
    std::string type, data;
    size_t pos = 0;
    while (pos < block.size()) {
      size_t nl = block.find('\n', pos);
      if (nl == std::string::npos) nl = block.size();
      const std::string line = block.substr(pos, nl - pos);
      if (line.rfind("event: ", 0) == 0) type = line.substr(7);
      if (line.rfind("data: ", 0) == 0) data += line.substr(6);
      pos = nl + 1;
    }
    if (type != "message") return;
    auto d = Parse(data);
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("seq")) {
      problems.push_back("bad message event: " + data);
      return;
    }
    const uint64_t seq = d["seq"].GetUint64();
    if (seq <= last) problems.push_back("seq " + std::to_string(seq) + " again after " + std::to_string(last));
    else if (seq != last + 1) problems.push_back("gap: seq " + std::to_string(seq) + " after " + std::to_string(last));
    if (seq > last) last = seq;
    received[seq] = d["text"].GetString();
  }
};

// The queue and the assignments as every agent of `desk` sees them, against the customers' views.
void CheckConsistency(httplib::Client& c, World* world, const std::map<std::string, std::string>& tokens,
                      const std::string& when) {
  std::map<std::string, std::string> assigned;  // conversation -> agent
  std::set<std::string> queued;
  for (const AgentSpec& spec : kAgents) {
    const std::string& token = tokens.at(spec.username);
    auto q = c.Get("/v1/agent/queue", Bearer(token));
    REQUIRE(q);
    REQUIRE_MESSAGE(q->status == 200, q->body);
    const auto waiting = Parse(q->body);
    for (const auto& v : waiting["conversations"].GetArray()) queued.insert(v["conversation_id"].GetString());
    auto mine = c.Get("/v1/agent/conversations", Bearer(token));
    REQUIRE(mine);
    REQUIRE(mine->status == 200);
    auto d = Parse(mine->body);
    CHECK_MESSAGE(d["conversations"].Size() <= static_cast<unsigned>(spec.capacity),
                  when << ": " << spec.username << " serves " << d["conversations"].Size() << " > capacity " << spec.capacity);
    for (const auto& v : d["conversations"].GetArray()) {
      const std::string id = v["conversation_id"].GetString();
      CHECK_MESSAGE(assigned.count(id) == 0, when << ": " << id << " assigned to " << assigned[id] << " and " << spec.username);
      assigned[id] = spec.username;
      CHECK_MESSAGE(std::string(v["state"].GetString()) == "agent", when << ": " << id);
    }
  }
  for (const auto& [id, agent] : assigned) CHECK_MESSAGE(queued.count(id) == 0, when << ": " << id << " queued and assigned to " << agent);
  std::vector<Conversation> conversations;
  {
    std::lock_guard<std::mutex> lock(world->mu);
    conversations = world->conversations;
  }
  for (const Conversation& conv : conversations) {
    auto r = c.Get(("/v1/conversations/" + conv.id).c_str(), Bearer(conv.token));
    REQUIRE(r);
    REQUIRE_MESSAGE(r->status == 200, when << ": " << conv.id << " " << r->body);
    auto v = Parse(r->body);
    const std::string state = v["conversation"]["state"].GetString();
    if (state == "queued") CHECK_MESSAGE(queued.count(conv.id) == 1, when << ": " << conv.id << " says queued but no queue has it");
    if (queued.count(conv.id)) CHECK_MESSAGE(state == "queued", when << ": " << conv.id << " in the queue but " << state);
    if (assigned.count(conv.id) && v["conversation"].HasMember("assignee")) {
      // Customers see the display name; our agents have none, so it is the username.
      CHECK(state == "agent");
    }
  }
}

std::map<std::string, std::string> AgentTokens(httplib::Client& c) {
  std::map<std::string, std::string> tokens;
  for (const AgentSpec& spec : kAgents) {
    auto login = c.Post("/v1/agent/login", "{\"desk\":\"" + spec.desk + "\",\"username\":\"" + spec.username +
                                               "\",\"password\":\"password-" + spec.username + "\"}",
                        "application/json");
    REQUIRE(login);
    REQUIRE_MESSAGE(login->status == 200, login->body);
    tokens[spec.username] = Parse(login->body)["token"].GetString();
  }
  return tokens;
}

std::vector<rapidjson::Document> History(httplib::Client& c, const Conversation& conv) {
  std::vector<rapidjson::Document> out;
  uint64_t after = 0;
  while (true) {
    auto r = c.Get(("/v1/conversations/" + conv.id + "/messages?limit=1000&after=" + std::to_string(after)).c_str(),
                   Bearer(conv.token));
    REQUIRE(r);
    REQUIRE_MESSAGE(r->status == 200, r->body);
    auto d = Parse(r->body);
    if (d["messages"].Size() == 0) break;
    for (const auto& m : d["messages"].GetArray()) {
      rapidjson::Document copy;
      copy.CopyFrom(m, copy.GetAllocator());
      after = copy["seq"].GetUint64();
      out.push_back(std::move(copy));
    }
  }
  return out;
}

TEST_CASE("kefu serve killed with SIGKILL under load loses no acknowledged message, duplicates none, stays consistent") {
  const int cycles = std::getenv("KEFU_CRASH_CYCLES") ? std::atoi(std::getenv("KEFU_CRASH_CYCLES")) : 12;
  TempDir tmp;
  KefuProcess server(tmp.Sub("data"), tmp.path(), {"--no-ip-limits", "--quiet"},
                     {std::string("KEFU_ADMIN_TOKEN=") + kAdmin});
  World world;
  Control control;
  std::mt19937 rng(42);

  int port = server.Start();
  REQUIRE_MESSAGE(port > 0, server.LastStderr());
  {
    auto c = NewClient(port);
    for (const AgentSpec& a : kAgents) {
      auto r = c->Post(("/v1/admin/desks/" + a.desk + "/agents").c_str(), Bearer(kAdmin),
                       "{\"username\":\"" + a.username + "\",\"password\":\"password-" + a.username +
                           "\",\"capacity\":" + std::to_string(a.capacity) + "}",
                       "application/json");
      REQUIRE(r);
      REQUIRE_MESSAGE(r->status == 201, r->body);
    }
    // Two conversations with a live listener from the start; both ask for a person, so agents reply.
    for (const char* desk : {"shop", "hr"}) {
      auto r = c->Post((std::string("/v1/desks/") + desk + "/conversations").c_str(), "{\"locale\":\"en\"}", "application/json");
      REQUIRE(r);
      REQUIRE(r->status == 201);
      auto d = Parse(r->body);
      Conversation conv{d["conversation_id"].GetString(), d["customer_token"].GetString(), desk};
      REQUIRE(c->Post(("/v1/conversations/" + conv.id + "/handoff").c_str(), Bearer(conv.token), "{}", "application/json")->status == 200);
      world.conversations.push_back(conv);
    }
  }
  std::vector<std::unique_ptr<SseFollower>> followers;
  for (const Conversation& conv : world.conversations) {
    followers.push_back(std::make_unique<SseFollower>());
    followers.back()->conv = conv;
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back(CustomerLoop, i, &world, &control);
  for (const AgentSpec& a : kAgents) threads.emplace_back(AgentLoop, std::cref(a), &world, &control);
  for (auto& f : followers) threads.emplace_back([&f, &world, &control] { f->Run(&world, &control); });
  control.port = port;

  for (int cycle = 0; cycle < cycles; ++cycle) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 2200));
    control.port = 0;  // workers see the outage as failed requests, then wait for the new port
    server.Kill();
    port = server.Start();
    REQUIRE_MESSAGE(port > 0, "restart " << cycle << ": " << server.LastStderr());
    {
      // A snapshot right after recovery, before the load comes back.
      auto c = NewClient(port);
      auto tokens = AgentTokens(*c);
      CheckConsistency(*c, &world, tokens, "after restart " + std::to_string(cycle + 1));
    }
    control.port = port;
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  control.stop = true;
  for (std::thread& t : threads) t.join();

  // A clean restart, then every promise checked against the history.
  server.Kill();
  port = server.Start();
  REQUIRE_MESSAGE(port > 0, server.LastStderr());
  auto c = NewClient(port);
  CheckConsistency(*c, &world, AgentTokens(*c), "at the end");

  std::map<std::string, int> customer_seen, reply_seen;
  std::map<std::string, std::map<uint64_t, std::string>> texts;  // conversation -> seq -> text
  for (const Conversation& conv : world.conversations) {
    uint64_t expected = 1;
    for (const auto& m : History(*c, conv)) {
      CHECK_MESSAGE(m["seq"].GetUint64() == expected, conv.id << ": seq " << m["seq"].GetUint64() << ", expected " << expected);
      expected = m["seq"].GetUint64() + 1;
      texts[conv.id][m["seq"].GetUint64()] = m["text"].GetString();
      const std::string kind = m["kind"].GetString();
      if (kind == "customer" && m.HasMember("client_msg_id")) ++customer_seen[m["client_msg_id"].GetString()];
      if (kind == "agent") ++reply_seen[m["text"].GetString()];
    }
  }
  int unacked_present = 0;
  for (const auto& [cmid, sent] : world.customer_messages) {
    if (sent.attempts == 0) continue;
    if (sent.acked) CHECK_MESSAGE(customer_seen[cmid] == 1, "acknowledged customer message " << cmid << " is there " << customer_seen[cmid] << " times");
    else CHECK_MESSAGE(customer_seen[cmid] <= 1, "customer message " << cmid << " is there " << customer_seen[cmid] << " times");
    if (!sent.acked && customer_seen[cmid] == 1) ++unacked_present;
  }
  for (const auto& [text, sent] : world.agent_replies) {
    if (sent.acked) CHECK_MESSAGE(reply_seen[text] == 1, "acknowledged reply '" << text << "' is there " << reply_seen[text] << " times");
    else CHECK_MESSAGE(reply_seen[text] <= 1, "reply '" << text << "' is there " << reply_seen[text] << " times");
  }
  for (const auto& f : followers) {
    for (const std::string& p : f->problems) CHECK_MESSAGE(false, "SSE " << f->conv.id << ": " << p);
    CHECK(f->received.size() == f->last);  // 1..last, each once
    for (const auto& [seq, text] : f->received) {
      CHECK_MESSAGE(texts[f->conv.id][seq] == text, "SSE " << f->conv.id << " seq " << seq << " differs from the history");
    }
    CHECK(f->last > 1);
  }
  for (const std::string& e : world.errors) CHECK_MESSAGE(false, e);
  MESSAGE(cycles << " kills; " << world.conversations.size() << " conversations, " << world.acked_customer
                 << " customer messages and " << world.acked_replies << " agent replies acknowledged, "
                 << world.failed_requests << " requests failed by the kills (" << unacked_present
                 << " of those messages landed anyway), " << world.sse_resumes << " SSE resumes");
  CHECK(world.acked_customer > 50);
  CHECK(world.acked_replies > 5);
  CHECK(server.Terminate() == 0);
}

}  // namespace
}  // namespace kefu::testing
