// Three `kefu serve` processes on one PostgreSQL database, for black-box tests: a desk config
// written to a temporary directory, the nodes started and killed by index, HTTP calls to a given
// node or to a random live one (as a load balancer would), and SSE followers that reconnect to
// another node when theirs dies. Not thread-safe to start and kill nodes from several threads;
// calls and followers may run on any thread.
#ifndef KEFU_TESTS_PG_MULTI_NODE_H_
#define KEFU_TESTS_PG_MULTI_NODE_H_

#include <doctest/doctest.h>
#include <httplib.h>
#include <rapidjson/document.h>
#include <stdlib.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/reliability/kefu_process.h"

namespace kefu::testing {

constexpr char kClusterAdminToken[] = "multi-node-admin-token-0123456789abcdef";

struct ClusterOptions {
  int agents = 2;    // agent0 .. agentN-1, password "pw-<name>-long-enough"
  int capacity = 2;  // each agent's
  int heartbeat_timeout_seconds = 120;  // the desk's: an agent silent this long goes offline
  // The desk's "wecom" block when set: the fake platform's API.
  std::string wecom_base_url;
  // The desk's "app_webhook" url when set (secret "hook-secret"); the desk's app_secret is
  // kClusterAppSecret either way.
  std::string app_webhook_url;
};

constexpr char kClusterAppSecret[] = "multi-node-app-secret";

// An HTTP answer: status 0 when the node could not be reached or the connection broke.
struct Answer {
  int status = 0;
  std::string body;
  rapidjson::Document json;
};

inline std::vector<uint64_t> SequenceTo(uint64_t n) {
  std::vector<uint64_t> out;
  for (uint64_t i = 1; i <= n; ++i) out.push_back(i);
  return out;
}

class Cluster {
 public:
  static constexpr int kNodes = 3;

  Cluster(const std::string& store_uri, const ClusterOptions& options) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kefu-multi-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    dir_ = tmpl;
    WriteConfig(options);
    for (int i = 0; i < kNodes; ++i) {
      const std::string node_dir = dir_ + "/node" + std::to_string(i);
      std::filesystem::create_directories(node_dir + "/logs");
      nodes_[i] = std::make_unique<KefuProcess>(
          node_dir + "/data", node_dir + "/logs",
          std::vector<std::string>{"--store", store_uri, "--config", dir_ + "/kefu.json", "--no-ip-limits", "--quiet"},
          std::vector<std::string>{std::string("KEFU_ADMIN_TOKEN=") + kClusterAdminToken});
      ports_[i] = 0;
    }
  }
  ~Cluster() {
    for (auto& n : nodes_) n->Kill();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void StartAll() {
    for (int i = 0; i < kNodes; ++i) StartNode(i);
  }
  void StartNode(int i) {
    const int port = nodes_[i]->Start();
    REQUIRE_MESSAGE(port > 0, "node ", i, " did not start: ", nodes_[i]->LastStderr());
    ports_[i] = port;
  }
  // SIGKILL: the node is taken out of the rotation first, as a load balancer's health check would.
  void KillNode(int i) {
    ports_[i] = 0;
    nodes_[i]->Kill();
  }
  int port(int i) const { return ports_[i]; }
  std::string Stderr(int i) const { return nodes_[i]->LastStderr(); }

  Answer CallNode(int node, const std::string& method, const std::string& path, const std::string& token = "",
                  const std::string& body = "") const {
    return CallPort(ports_[node], method, path, token, body);
  }
  // Through a random live node.
  Answer Call(std::mt19937& rng, const std::string& method, const std::string& path, const std::string& token = "",
              const std::string& body = "") const {
    return CallPort(ports_[LiveNode(rng)], method, path, token, body);
  }
  int LiveNode(std::mt19937& rng) const {
    for (;;) {
      const int node = static_cast<int>(rng() % kNodes);
      if (ports_[node] != 0) return node;
    }
  }

  // A new web conversation on the desk "shop" through a random node.
  template <typename C>
  C StartCustomer(std::mt19937& rng) {
    for (;;) {
      Answer a = Call(rng, "POST", "/v1/desks/shop/conversations", "", R"({"locale":"en"})");
      if (a.status == 0) continue;
      REQUIRE_MESSAGE(a.status == 201, a.body);
      C c;
      c.id = a.json["conversation_id"].GetString();
      c.token = a.json["customer_token"].GetString();
      return c;
    }
  }
  // Logs `username` in through one random node and sets them online through another.
  std::string LoginOnline(std::mt19937& rng, const std::string& username) {
    Answer login = Call(rng, "POST", "/v1/agent/login", "",
                        R"({"desk":"shop","username":")" + username + R"(","password":"pw-)" + username +
                            R"(-long-enough"})");
    REQUIRE_MESSAGE(login.status == 200, login.body);
    const std::string token = login.json["token"].GetString();
    Answer online = Call(rng, "PUT", "/v1/agent/presence", token, R"({"status":"online"})");
    REQUIRE_MESSAGE(online.status == 200, online.body);
    return token;
  }

 private:
  static Answer CallPort(int port, const std::string& method, const std::string& path, const std::string& token,
                         const std::string& body) {
    Answer out;
    if (port == 0) return out;
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(2);
    client.set_read_timeout(30);
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    httplib::Result r = method == "GET"      ? client.Get(path, headers)
                        : method == "PUT"    ? client.Put(path, headers, body, "application/json")
                        : method == "PATCH"  ? client.Patch(path, headers, body, "application/json")
                        : method == "DELETE" ? client.Delete(path, headers)
                                             : client.Post(path, headers, body, "application/json");
    if (!r) return out;
    out.status = r->status;
    out.body = r->body;
    out.json.Parse(out.body.c_str());
    if (out.json.HasParseError()) out.json.SetObject();
    return out;
  }

  void WriteConfig(const ClusterOptions& options) {
    std::string agents;
    for (int i = 0; i < options.agents; ++i) {
      const std::string name = "agent" + std::to_string(i);
      if (i > 0) agents += ",";
      agents += R"({"username":")" + name + R"(","password":"pw-)" + name + R"(-long-enough","capacity":)" +
                std::to_string(options.capacity) + "}";
    }
    std::string wecom;
    if (!options.wecom_base_url.empty()) {
      wecom = R"(,"wecom":{"corp_id":"wx5823bf96d3bd56c7","secret":"fake-kf-secret","token":"QDG6eK",)"
              R"("encoding_aes_key":"jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C","base_url":")" +
              options.wecom_base_url + "\"}";
    }
    std::string webhook;
    if (!options.app_webhook_url.empty()) {
      webhook = R"(,"app_webhook":{"url":")" + options.app_webhook_url + R"(","secret":"hook-secret"})";
    }
    std::ofstream out(dir_ + "/kefu.json");
    out << R"({"desks":[{"id":"shop","name":"Shop","ticket_prefix":"SHOP","knowledge_bases":[")" KEFU_SOURCE_DIR
           R"(/kb/samples/shop-en.json"],"default_team":"general","settings":{"max_queue":500,)"
           R"("heartbeat_timeout_seconds":)"
        << options.heartbeat_timeout_seconds << R"(},"agents":[)" << agents << R"(],"app_secret":")" << kClusterAppSecret << "\"" << wecom << webhook << "}]}";
  }

  std::string dir_;
  std::array<std::unique_ptr<KefuProcess>, kNodes> nodes_;
  std::array<std::atomic<int>, kNodes> ports_;
};

// Follows an SSE stream (`path`: a conversation's /events from its first message, or an agent's
// /v1/agent/events): when it ends (its node died) it reconnects to a random live node with
// Last-Event-ID, as a browser's EventSource does.
class StreamFollower {
 public:
  StreamFollower(const Cluster& cluster, std::string path, std::string token, int node)
      : cluster_(cluster), path_(std::move(path)), token_(std::move(token)) {
    thread_ = std::thread([this, node] { Run(node); });
  }
  ~StreamFollower() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      if (client_ != nullptr) client_->stop();
    }
    thread_.join();
  }

  // Waits until an event's name or data contains `text`.
  bool WaitFor(const std::string& text, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return data_.find(text) != std::string::npos; });
  }
  bool WaitForSeq(uint64_t seq, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return !ids_.empty() && ids_.back() >= seq; });
  }
  bool Saw(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu_);
    return data_.find(text) != std::string::npos;
  }
  std::vector<uint64_t> ids() {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_;
  }
  int reconnects() {
    std::lock_guard<std::mutex> lock(mu_);
    return reconnects_;
  }

 private:
  void Run(int node) {
    std::mt19937 rng(std::hash<std::string>()(path_));
    for (bool first = true;; first = false) {
      int port = 0;
      httplib::Headers headers{{"Authorization", "Bearer " + token_}};
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
        port = first ? cluster_.port(node) : cluster_.port(cluster_.LiveNode(rng));
        if (!first) ++reconnects_;
        if (!ids_.empty()) headers.emplace("Last-Event-ID", std::to_string(ids_.back()));
        client_ = std::make_unique<httplib::Client>("127.0.0.1", port);
        client_->set_read_timeout(40);
      }
      const std::string path = path_ + (first && path_.find("/conversations/") != std::string::npos ? "?after=0" : "");
      std::string pending;
      client_->Get(path, headers, [&](const char* data, size_t size) {
        pending.append(data, size);
        for (size_t end; (end = pending.find('\n')) != std::string::npos; pending.erase(0, end + 1)) {
          const std::string line = pending.substr(0, end);
          std::lock_guard<std::mutex> lock(mu_);
          if (line.rfind("id: ", 0) == 0) ids_.push_back(std::stoull(line.substr(4)));
          if (line.rfind("data: ", 0) == 0 || line.rfind("event: ", 0) == 0) data_ += line + "\n";
          cv_.notify_all();
        }
        std::lock_guard<std::mutex> lock(mu_);
        return !stop_;
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // EventSource's retry, shortened
    }
  }

  const Cluster& cluster_;
  const std::string path_, token_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                        // GUARDED_BY(mu_)
  std::unique_ptr<httplib::Client> client_;  // GUARDED_BY(mu_) (replaced only by the thread)
  std::vector<uint64_t> ids_;                // GUARDED_BY(mu_)
  std::string data_;                         // GUARDED_BY(mu_)
  int reconnects_ = 0;                       // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace kefu::testing

#endif  // KEFU_TESTS_PG_MULTI_NODE_H_
