// Several `kefu serve` processes on one PostgreSQL database (issue 14), black-box over real
// sockets: customers and agents talk to random nodes, nodes are killed with SIGKILL under load and
// restarted, the database itself is restarted, and WeCom callbacks land on any node.
//
// What must hold: no agent is ever over capacity; a reply written through one node reaches a
// stream held by another; every acknowledged message is stored exactly once, read through any
// node, and streams resume on another node with no gap; a node's death costs a client at most a
// retried request; with the database down requests fail cleanly (503) and nothing acknowledged is
// lost; exactly one node pulls from WeCom, and another takes over when it dies.
#include <doctest/doctest.h>
#include <httplib.h>
#include <rapidjson/document.h>
#include <stdlib.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/http/jwt_util.h"
#include "tests/pg/multi_node.h"
#include "tests/pg/pg_cluster.h"
#include "tests/wecom/fake_wecom.h"

namespace kefu::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kCapacity = 2;
constexpr char kHuman[] = "I want to talk to a human";

// One conversation of the load: what the customer was told was stored.
struct Customer {
  std::string id, token;
  std::set<std::string> acknowledged;  // client_msg_ids answered 200
};

// The agents' side of the load: each agent, from random nodes, checks its capacity, answers what
// it serves and resolves some of it so the line moves.
void AgentLoop(Cluster& cluster, const std::string& token, std::atomic<bool>& stop, std::atomic<int>& violations,
               std::atomic<int>& replies, unsigned seed) {
  std::mt19937 rng(seed);
  while (!stop) {
    Answer list = cluster.Call(rng, "GET", "/v1/agent/conversations", token);
    if (list.status != 200) continue;  // a node died under the call: the next one goes elsewhere
    int serving = 0;
    std::vector<std::string> mine;
    for (const auto& c : list.json["conversations"].GetArray()) {
      if (std::string(c["state"].GetString()) == "agent") {
        ++serving;
        mine.push_back(c["conversation_id"].GetString());
      }
    }
    if (serving > kCapacity) ++violations;
    for (const std::string& id : mine) {
      Answer r = cluster.Call(rng, "POST", "/v1/agent/conversations/" + id + "/reply", token, R"({"text":"On it."})");
      if (r.status == 201) ++replies;
      if (rng() % 3 == 0) cluster.Call(rng, "POST", "/v1/agent/conversations/" + id + "/resolve", token, "{}");
    }
    std::this_thread::sleep_for(50ms);
  }
}

// A customer's side: messages with client_msg_ids to random nodes, each retried (same id, another
// node) until acknowledged; asks for a person now and then.
void CustomerLoop(Cluster& cluster, Customer& c, std::atomic<bool>& stop, std::atomic<int>& retried_twice,
                  unsigned seed) {
  std::mt19937 rng(seed);
  for (int n = 0; !stop; ++n) {
    const std::string id = "m-" + std::to_string(n);
    const std::string text = n % 4 == 0 ? kHuman : "question " + std::to_string(n) + " about my order";
    const std::string body = R"({"text":")" + text + R"(","client_msg_id":")" + id + R"("})";
    int failures = 0;
    for (;;) {
      Answer r = cluster.Call(rng, "POST", "/v1/conversations/" + c.id + "/messages", c.token, body);
      if (r.status == 200) break;
      REQUIRE_MESSAGE((r.status == 0 || r.status == 503), r.status, " ", r.body);  // a dying node, nothing else
      ++failures;
      std::this_thread::sleep_for(20ms);
    }
    if (failures > 1) ++retried_twice;
    c.acknowledged.insert(id);
    std::this_thread::sleep_for(30ms);
  }
}

TEST_CASE("three nodes: capacity holds, replies cross nodes, kill -9 loses and doubles nothing") {
  PgCluster& pg = SharedPgCluster();
  auto uri = pg.CreateDatabase("multi");
  REQUIRE_MESSAGE(uri.ok(), uri.status().ToString());
  ClusterOptions options;
  options.agents = 3;
  options.capacity = kCapacity;
  Cluster cluster(*uri, options);
  cluster.StartAll();
  std::mt19937 rng(7);

  std::vector<std::string> agents;
  for (int i = 0; i < options.agents; ++i) agents.push_back(cluster.LoginOnline(rng, "agent" + std::to_string(i)));

  // A reply through one node reaches a stream held by another, at once.
  Customer first = cluster.StartCustomer<Customer>(rng);
  {
    StreamFollower stream(cluster, "/v1/conversations/" + first.id + "/events", first.token, /*node=*/1);
    Answer asked = cluster.CallNode(0, "POST", "/v1/conversations/" + first.id + "/messages", first.token,
                                    R"({"text":"I want to talk to a human","client_msg_id":"first"})");
    REQUIRE_MESSAGE(asked.status == 200, asked.body);
    std::string serving;
    for (int tries = 0; serving.empty() && tries < 200; ++tries) {
      Answer view = cluster.CallNode(2, "GET", "/v1/agent/conversations/" + first.id, agents[0]);
      REQUIRE(view.status == 200);
      const auto& conv = view.json["conversation"];
      if (conv.HasMember("assignee") && conv["assignee"].IsString()) serving = conv["assignee"].GetString();
      if (serving.empty()) std::this_thread::sleep_for(50ms);
    }
    REQUIRE_MESSAGE(!serving.empty(), "nobody was assigned");
    const std::string& token = agents[std::stoi(serving.substr(5))];
    const auto sent = std::chrono::steady_clock::now();
    Answer reply = cluster.CallNode(2, "POST", "/v1/agent/conversations/" + first.id + "/reply", token,
                                    R"({"text":"Hello from node two"})");
    REQUIRE_MESSAGE(reply.status == 201, reply.body);
    REQUIRE(stream.WaitFor("Hello from node two", 10s));
    MESSAGE("a reply through node 2 reached node 1's stream in ",
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent).count(),
            " ms");
    cluster.CallNode(0, "POST", "/v1/agent/conversations/" + first.id + "/resolve", token, "{}");
  }

  // The load: customers and agents on random nodes while nodes die.
  constexpr int kCustomers = 8;
  std::vector<Customer> customers;
  for (int i = 0; i < kCustomers; ++i) customers.push_back(cluster.StartCustomer<Customer>(rng));
  std::vector<std::unique_ptr<StreamFollower>> streams;
  for (int i = 0; i < 3; ++i) streams.push_back(std::make_unique<StreamFollower>(
                                   cluster, "/v1/conversations/" + customers[i].id + "/events", customers[i].token, i));
  std::atomic<bool> stop{false};
  std::atomic<int> violations{0}, replies{0}, retried_twice{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kCustomers; ++i) {
    threads.emplace_back([&, i] { CustomerLoop(cluster, customers[i], stop, retried_twice, 100 + i); });
  }
  for (size_t i = 0; i < agents.size(); ++i) {
    threads.emplace_back([&, i] { AgentLoop(cluster, agents[i], stop, violations, replies, 200 + i); });
  }
  for (int kill = 0; kill < 3; ++kill) {
    std::this_thread::sleep_for(3s);
    const int node = kill % Cluster::kNodes;
    cluster.KillNode(node);
    std::this_thread::sleep_for(1s);
    cluster.StartNode(node);
  }
  std::this_thread::sleep_for(2s);
  stop = true;
  for (std::thread& t : threads) t.join();

  CHECK(violations == 0);
  CHECK(replies > 0);
  CHECK_MESSAGE(retried_twice == 0, "a node's death cost a customer more than one retried request");
  // Every acknowledged message exactly once, the same through every node, seqs without a gap.
  size_t total = 0;
  for (const Customer& c : customers) {
    std::vector<std::string> seen_by[Cluster::kNodes];
    for (int node = 0; node < Cluster::kNodes; ++node) {
      Answer h = cluster.CallNode(node, "GET", "/v1/conversations/" + c.id + "/messages?after=0&limit=1000", c.token);
      REQUIRE_MESSAGE(h.status == 200, h.body);
      uint64_t expected_seq = 1;
      for (const auto& m : h.json["messages"].GetArray()) {
        CHECK(m["seq"].GetUint64() == expected_seq);
        ++expected_seq;
        if (m.HasMember("client_msg_id")) seen_by[node].push_back(m["client_msg_id"].GetString());
      }
    }
    // Every request for a person was answered by one, or is still waiting or being served.
    Answer view = cluster.CallNode(0, "GET", "/v1/conversations/" + c.id, c.token);
    const std::string state = view.json["conversation"]["state"].GetString();
    Answer h = cluster.CallNode(0, "GET", "/v1/conversations/" + c.id + "/messages?after=0&limit=1000", c.token);
    // A request made while a person already serves the conversation asks for nothing new: that
    // person may resolve without another reply (the agent loop does, at random).
    uint64_t last_request = 0;
    bool answered = false, serving = false;
    std::string history;
    for (const auto& m : h.json["messages"].GetArray()) {
      const std::string kind = m["kind"].GetString(), text = m["text"].GetString();
      history += std::to_string(m["seq"].GetUint64()) + " " + kind + ": " + text + "\n";
      if (kind == "system" && text.find("has joined the conversation") != std::string::npos) serving = true;
      if (kind == "system" && text.find("has joined") == std::string::npos) serving = false;
      if (kind == "customer" && text == kHuman) {
        last_request = m["seq"].GetUint64();
        answered = serving;
      }
      if (kind == "agent" && last_request != 0) answered = true;
    }
    CHECK_MESSAGE((last_request == 0 || answered || state == "queued" || state == "agent"), c.id, " ", state, "\n",
                  history);
    CHECK(seen_by[0] == seen_by[1]);
    CHECK(seen_by[0] == seen_by[2]);
    const std::multiset<std::string> stored(seen_by[0].begin(), seen_by[0].end());
    for (const std::string& id : c.acknowledged) CHECK_MESSAGE(stored.count(id) == 1, c.id, " ", id);
    CHECK(stored.size() == c.acknowledged.size());
    total += c.acknowledged.size();
  }
  MESSAGE(total, " acknowledged messages, ", replies.load(), " agent replies, 3 nodes killed");
  // Streams that lost their node resumed on another: every message once, in order, no gap.
  for (size_t i = 0; i < streams.size(); ++i) {
    Answer h = cluster.CallNode(0, "GET", "/v1/conversations/" + customers[i].id + "/messages?after=0&limit=1000",
                                customers[i].token);
    const uint64_t last = h.json["messages"].GetArray().Size();
    REQUIRE(streams[i]->WaitForSeq(last, 15s));
    CHECK(streams[i]->ids() == SequenceTo(last));
    CHECK(streams[i]->reconnects() >= 1);
  }
}

TEST_CASE("the database restarted under load: 503 while it is away, nothing acknowledged lost") {
  PgCluster& pg = SharedPgCluster();
  auto uri = pg.CreateDatabase("restart");
  REQUIRE(uri.ok());
  Cluster cluster(*uri, ClusterOptions{});
  cluster.StartAll();
  std::mt19937 rng(11);
  std::vector<Customer> customers;
  for (int i = 0; i < 4; ++i) customers.push_back(cluster.StartCustomer<Customer>(rng));
  // An agent's console stays logged in while the database is away (its stream only reconnects).
  const std::string agent = cluster.LoginOnline(rng, "agent0");
  StreamFollower console(cluster, "/v1/agent/events", agent, 0);
  REQUIRE(console.WaitFor("event: ready", 10s));

  std::atomic<bool> stop{false};
  std::atomic<int> unavailable{0}, other{0};
  std::vector<std::thread> threads;
  for (Customer& c : customers) {
    threads.emplace_back([&, seed = rng()] {
      std::mt19937 r(seed);
      for (int n = 0; !stop; ++n) {
        const std::string id = "d-" + std::to_string(n);
        Answer a = cluster.Call(r, "POST", "/v1/conversations/" + c.id + "/messages", c.token,
                                R"({"text":"where is my parcel","client_msg_id":")" + id + R"("})");
        if (a.status == 200) {
          c.acknowledged.insert(id);
        } else if (a.status == 503) {
          ++unavailable;
          CHECK(a.body.find("\"unavailable\"") != std::string::npos);
        } else {
          ++other;
          MESSAGE("unexpected answer while the database restarts: ", a.status, " ", a.body);
        }
        std::this_thread::sleep_for(20ms);
      }
    });
  }
  std::this_thread::sleep_for(2s);
  REQUIRE(pg.Stop().ok());
  std::this_thread::sleep_for(2s);
  REQUIRE(pg.Restart().ok());
  std::this_thread::sleep_for(4s);
  stop = true;
  for (std::thread& t : threads) t.join();
  CHECK(unavailable > 0);
  CHECK(other == 0);
  for (const Customer& c : customers) {
    Answer h = cluster.CallNode(1, "GET", "/v1/conversations/" + c.id + "/messages?after=0&limit=1000", c.token);
    REQUIRE_MESSAGE(h.status == 200, h.body);
    std::multiset<std::string> stored;
    for (const auto& m : h.json["messages"].GetArray()) {
      if (m.HasMember("client_msg_id")) stored.insert(m["client_msg_id"].GetString());
    }
    for (const std::string& id : c.acknowledged) CHECK_MESSAGE(stored.count(id) == 1, id);
  }
  MESSAGE(unavailable.load(), " requests answered 503 while the database was away");
  CHECK_FALSE(console.Saw("event: logout"));
  CHECK(cluster.CallNode(0, "GET", "/v1/agent/conversations", agent).status == 200);
  // And the nodes serve again without a restart of their own.
  Answer after = cluster.CallNode(2, "POST", "/v1/conversations/" + customers[0].id + "/messages", customers[0].token,
                                  R"({"text":"hello again","client_msg_id":"after"})");
  CHECK_MESSAGE(after.status == 200, after.body);
}

TEST_CASE("WeCom: callbacks land on any node, one node pulls, another takes over when it dies") {
  PgCluster& pg = SharedPgCluster();
  auto uri = pg.CreateDatabase("wecom");
  REQUIRE(uri.ok());
  SystemClock clock;
  FakeWeCom fake(&clock);
  ClusterOptions options;
  options.wecom_base_url = fake.base_url();
  Cluster cluster(*uri, options);
  cluster.StartAll();
  auto crypto = WeComCrypto::Create(kWeComToken, kWeComAesKey, kWeComCorpId);
  REQUIRE(crypto.ok());

  auto holders = [&] {
    std::vector<int> out;
    for (int node = 0; node < Cluster::kNodes; ++node) {
      if (cluster.Stderr(node).find("this process is now the WeCom puller") != std::string::npos) out.push_back(node);
    }
    return out;
  };
  // Every customer text is answered once, whichever node WeCom calls back.
  auto say = [&](const std::string& user, const std::string& text, int node) {
    fake.AddText(user, text);
    auto r = FakeWeCom::PostCallback(cluster.port(node), "shop", *crypto, "TOKEN" + user, false,
                                     clock.NowMicros() / kMicrosPerSecond);
    REQUIRE(r);
    REQUIRE_MESSAGE(r->status == 200, r->body);
  };
  auto wait_sent = [&](size_t count) {
    for (int i = 0; i < 300 && fake.sent().size() < count; ++i) std::this_thread::sleep_for(50ms);
    return fake.sent().size();
  };
  // Each customer got the bot's answer, and nothing twice.
  auto answered_once = [&](const std::string& user) {
    std::multiset<std::string> texts;
    for (const FakeWeCom::Sent& s : fake.sent()) {
      if (s.touser == user) texts.insert(s.text);
    }
    for (const std::string& t : texts) {
      if (texts.count(t) != 1) return false;
    }
    return !texts.empty();
  };
  const std::vector<int> first = holders();
  REQUIRE(first.size() == 1);
  for (int node = 0; node < Cluster::kNodes; ++node) say("user" + std::to_string(node), "How do I place an order?", node);
  wait_sent(3);
  std::this_thread::sleep_for(1500ms);
  for (int node = 0; node < Cluster::kNodes; ++node) CHECK(answered_once("user" + std::to_string(node)));
  CHECK(holders() == first);

  cluster.KillNode(first[0]);
  const int other = (first[0] + 1) % Cluster::kNodes;
  const size_t before = fake.sent().size();
  say("user9", "How do I place an order?", other);
  CHECK(wait_sent(before + 1) > before);
  std::this_thread::sleep_for(1500ms);
  CHECK(answered_once("user9"));
  std::vector<int> now;
  for (int node : holders()) {
    if (node != first[0]) now.push_back(node);
  }
  CHECK(now.size() == 1);
}

TEST_CASE("timers fire once across nodes: a silent agent goes offline once, their customer is told once") {
  PgCluster& pg = SharedPgCluster();
  auto uri = pg.CreateDatabase("timers");
  REQUIRE(uri.ok());
  ClusterOptions options;
  options.agents = 1;
  options.heartbeat_timeout_seconds = 5;  // the smallest the config allows
  Cluster cluster(*uri, options);
  cluster.StartAll();
  std::mt19937 rng(3);
  const std::string agent = cluster.LoginOnline(rng, "agent0");
  Customer who = cluster.StartCustomer<Customer>(rng);
  Answer asked = cluster.Call(rng, "POST", "/v1/conversations/" + who.id + "/messages", who.token,
                              R"({"text":"I want to talk to a human","client_msg_id":"h"})");
  REQUIRE_MESSAGE(asked.status == 200, asked.body);
  Answer served = cluster.Call(rng, "GET", "/v1/conversations/" + who.id, who.token);
  REQUIRE(std::string(served.json["conversation"]["state"].GetString()) == "agent");
  // The agent falls silent; each node runs the timers every second, and the one that claims the
  // due heartbeat row sends the conversation back to the line.
  std::string state;
  for (int i = 0; i < 300 && state != "queued"; ++i) {
    std::this_thread::sleep_for(100ms);
    Answer view = cluster.Call(rng, "GET", "/v1/conversations/" + who.id, who.token);
    if (view.status == 200) state = view.json["conversation"]["state"].GetString();
  }
  REQUIRE(state == "queued");
  std::this_thread::sleep_for(3s);  // every node has ticked again since
  Answer history = cluster.CallNode(2, "GET", "/v1/conversations/" + who.id + "/messages?after=0", who.token);
  REQUIRE(history.status == 200);
  int told = 0;
  for (const auto& m : history.json["messages"].GetArray()) {
    told += std::string(m["text"].GetString()).find("got disconnected") != std::string::npos;
  }
  CHECK(told == 1);
}

TEST_CASE("a desk created through one node serves on every node within a tick; a change and a delete follow") {
  PgCluster& pg = SharedPgCluster();
  auto uri = pg.CreateDatabase("desks");
  REQUIRE(uri.ok());
  Cluster cluster(*uri, ClusterOptions());
  cluster.StartAll();
  // Each node reads the stored desks again when their generation moves (checked every timer tick).
  auto eventually = [](const std::function<bool()>& done) {
    for (int i = 0; i < 100; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  Answer created = cluster.CallNode(0, "POST", "/v1/admin/desks", kClusterAdminToken, R"({"id":"it","name":"IT"})");
  REQUIRE_MESSAGE(created.status == 201, created.body);
  for (int node : {1, 2}) {
    CHECK(eventually([&] { return cluster.CallNode(node, "POST", "/v1/desks/it/conversations", "", "{}").status == 201; }));
  }
  Answer patched = cluster.CallNode(1, "PATCH", "/v1/admin/desks/it", kClusterAdminToken, R"({"name":"IT service desk"})");
  REQUIRE_MESSAGE(patched.status == 200, patched.body);
  CHECK(eventually([&] {
    Answer a = cluster.CallNode(2, "GET", "/v1/admin/desks/it", kClusterAdminToken);
    return a.status == 200 && std::string(a.json["desk"]["name"].GetString()) == "IT service desk";
  }));
  Answer deleted = cluster.CallNode(2, "DELETE", "/v1/admin/desks/it?force=true", kClusterAdminToken);
  REQUIRE_MESSAGE(deleted.status == 200, deleted.body);
  for (int node : {0, 1}) {
    CHECK(eventually([&] { return cluster.CallNode(node, "POST", "/v1/desks/it/conversations", "", "{}").status == 404; }));
  }
}

TEST_CASE("the app webhook: each agent reply is posted once, whichever nodes serve") {
  PgCluster& pg = SharedPgCluster();
  auto uri = pg.CreateDatabase("webhook");
  REQUIRE(uri.ok());
  std::mutex mu;
  std::map<std::string, int> deliveries;  // X-Kefu-Delivery -> posts
  httplib::Server backend;
  backend.Post("/push", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    ++deliveries[req.get_header_value("X-Kefu-Delivery")];
    res.status = 204;
  });
  const int backend_port = backend.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { backend.listen_after_bind(); });
  ClusterOptions options;
  options.agents = 1;
  options.capacity = 5;
  options.app_webhook_url = "http://127.0.0.1:" + std::to_string(backend_port) + "/push";
  Cluster cluster(*uri, options);
  cluster.StartAll();
  std::mt19937 rng(5);
  const std::string agent = cluster.LoginOnline(rng, "agent0");
  std::vector<std::string> conversations;
  for (int i = 0; i < 3; ++i) {
    const std::string jwt = IdentityJwt(kClusterAppSecret, "user-" + std::to_string(i));
    Answer started = cluster.Call(rng, "POST", "/v1/desks/shop/conversations", "",
                                  R"({"channel":"app","customer":{"jwt":")" + jwt + R"("}})");
    REQUIRE_MESSAGE(started.status == 201, started.body);
    const std::string id = started.json["conversation_id"].GetString();
    Answer asked = cluster.Call(rng, "POST", "/v1/conversations/" + id + "/messages",
                                started.json["customer_token"].GetString(),
                                R"({"text":"I want to talk to a human","client_msg_id":"h","channel":"app"})");
    REQUIRE_MESSAGE(asked.status == 200, asked.body);
    conversations.push_back(id);
  }
  int replies = 0;
  for (int round = 0; round < 3; ++round) {
    for (const std::string& id : conversations) {
      Answer r = cluster.Call(rng, "POST", "/v1/agent/conversations/" + id + "/reply", agent, R"({"text":"Noted."})");
      REQUIRE_MESSAGE(r.status == 201, r.body);
      ++replies;
    }
  }
  auto posted = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return deliveries;
  };
  for (int i = 0; i < 200 && static_cast<int>(posted().size()) < replies; ++i) std::this_thread::sleep_for(50ms);
  std::this_thread::sleep_for(1500ms);  // a second node's copy would arrive by now
  const std::map<std::string, int> seen = posted();
  CHECK(static_cast<int>(seen.size()) >= replies);  // each reply (and each "has joined")
  for (const auto& [id, count] : seen) CHECK_MESSAGE(count == 1, id, " was posted ", count, " times");
  backend.stop();
  serving.join();
}

}  // namespace
}  // namespace kefu::testing
