// `kefu store copy` (tools/store_copy_command.h): a LevelDB deployment moved to PostgreSQL and back
// serves the same conversations, customer tokens, agent sessions, seqs and ticket numbers; a live
// source and a destination that holds records are refused. The copy's core (batches, digests) is
// tried on in-memory stores first. Runs `kefu serve` and `kefu store copy` as processes ($KEFU_BIN)
// against a throwaway PostgreSQL (tests/pg/pg_cluster.h).
#include <doctest/doctest.h>
#include <httplib.h>
#include <rapidjson/document.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/pg/pg_cluster.h"
#include "tests/reliability/kefu_process.h"
#include "tools/store_copy_command.h"

namespace kefu {
namespace {

using namespace std::chrono_literals;
using testing::KefuProcess;

constexpr const char* kAdminToken = "store-copy-test-admin-token-0123456789";

// ---- The core, on in-memory stores ----

std::unique_ptr<Store> MemoryStore() {
  Result<std::unique_ptr<Store>> store = OpenMemoryStore();
  REQUIRE(store.ok());
  return std::move(store.value());
}

void Fill(Store& store, int rows) {
  StoreBatch batch;
  for (int i = 0; i < rows; ++i) batch.Put("k/" + std::to_string(1000 + i), std::string(i % 50, 'v'));
  REQUIRE(store.Write(batch).ok());
}

Result<RowDigest> Digest(Store& store) {
  return DigestStore(store, [](const RowDigest&) {});
}

TEST_CASE("CopyRows copies every row across batch boundaries and the digests agree") {
  auto from = MemoryStore();
  auto to = MemoryStore();
  Fill(*from, 1001);
  CopyRowsOptions options;
  options.batch_rows = 100;
  int batches = 0;
  Result<RowDigest> copied = CopyRows(*from, *to, options, [&](const RowDigest&) { ++batches; });
  REQUIRE(copied.ok());
  CHECK(copied->rows() == 1001);
  CHECK(batches == 11);  // ten full batches and the last row
  Result<RowDigest> source = Digest(*from);
  Result<RowDigest> destination = Digest(*to);
  REQUIRE(source.ok());
  REQUIRE(destination.ok());
  CHECK(*source == *copied);
  CHECK(*destination == *copied);
}

TEST_CASE("a batch is also cut by bytes") {
  auto from = MemoryStore();
  auto to = MemoryStore();
  Fill(*from, 200);
  CopyRowsOptions options;
  options.batch_bytes = 1000;
  int batches = 0;
  REQUIRE(CopyRows(*from, *to, options, [&](const RowDigest&) { ++batches; }).ok());
  CHECK(batches > 5);
  CHECK(Digest(*to)->rows() == 200);
}

TEST_CASE(
    "the digest tells apart one changed value, one missing row and the "
    "same rows in another split") {
  auto a = MemoryStore();
  Fill(*a, 50);
  const RowDigest before = *Digest(*a);
  StoreBatch change;
  change.Put("k/1010", "other");
  REQUIRE(a->Write(change).ok());
  CHECK(!(*Digest(*a) == before));
  StoreBatch remove;
  remove.Delete("k/1010");
  REQUIRE(a->Write(remove).ok());
  CHECK(Digest(*a)->rows() == 49);
  RowDigest split1, split2;
  split1.Add("ab", "c");
  split2.Add("a", "bc");
  CHECK(!(split1 == split2));
}

// ---- The command, against kefu serve and PostgreSQL ----

struct Run {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Run Kefu(const std::string& args) {
  const std::string command = testing::KefuBinary() + " " + args + " 2>&1";
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  Run run;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) run.output.append(buf, n);
  const int status = ::pclose(p);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

Run StoreCopy(const std::string& from, const std::string& to) {
  return Kefu("store copy --from '" + from + "' --to '" + to + "'");
}

std::string TempDir() {
  char pattern[] = "/tmp/kefu-store-copy-XXXXXX";
  REQUIRE(::mkdtemp(pattern) != nullptr);
  return pattern;
}

// A directory of its own for each server's logs: KefuProcess reads its "listening" line from
// out-1.txt, which must not be an earlier server's.
std::string LogDir(const std::string& dir, const std::string& name) {
  const std::string logs = dir + "/logs-" + name;
  std::filesystem::create_directories(logs);
  return logs;
}

rapidjson::Document Json(const httplib::Result& r, int status) {
  REQUIRE(r);
  REQUIRE_MESSAGE(r->status == status, r->body);
  rapidjson::Document d;
  d.Parse(r->body.c_str());
  REQUIRE(!d.HasParseError());
  return d;
}

httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// A kefu serve and a client to it, stopped cleanly (SIGTERM) when destroyed.
class Server {
 public:
  Server(const std::string& data_dir, const std::string& log_dir, const std::string& store = "")
      : process_(data_dir, log_dir, Args(store), {std::string("KEFU_ADMIN_TOKEN=") + kAdminToken}) {
    const int port = process_.Start();
    REQUIRE_MESSAGE(port > 0, process_.LastStderr());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port);
    client_->set_read_timeout(20, 0);
  }
  ~Server() { CHECK(process_.Terminate() == 0); }
  httplib::Client& http() { return *client_; }

 private:
  static std::vector<std::string> Args(const std::string& store) {
    std::vector<std::string> args = {"--quiet", "--no-ip-limits"};
    if (!store.empty()) args.insert(args.end(), {"--store", store});
    return args;
  }
  KefuProcess process_;
  std::unique_ptr<httplib::Client> client_;
};

// What the first deployment made, to be found again after each copy.
struct Made {
  std::string conversation, customer_token, agent_token;
  int64_t ticket_number = 0;
  std::vector<std::string> history;  // the customer's view: "seq kind text"
};

std::vector<std::string> History(httplib::Client& http, const Made& made) {
  auto d =
      Json(http.Get("/v1/conversations/" + made.conversation + "/messages?after=0", Bearer(made.customer_token)), 200);
  std::vector<std::string> out;
  for (const auto& m : d["messages"].GetArray()) {
    const char* text = m.HasMember("text") && m["text"].IsString() ? m["text"].GetString() : "";
    out.push_back(std::to_string(m["seq"].GetInt64()) + " " + m["kind"].GetString() + " " + text);
  }
  return out;
}

int64_t NextSeq(const Made& made) { return static_cast<int64_t>(made.history.size()) + 1; }

std::string ConversationState(httplib::Client& http, const Made& made) {
  auto d = Json(http.Get("/v1/conversations/" + made.conversation, Bearer(made.customer_token)), 200);
  return d["conversation"]["state"].GetString();
}

// The agent replies and opens a ticket: the reply takes the next seq, the ticket the next number.
void AgentWorks(httplib::Client& http, Made* made, const std::string& text) {
  auto reply = Json(http.Post("/v1/agent/conversations/" + made->conversation + "/reply", Bearer(made->agent_token),
                              "{\"text\":\"" + text + "\"}", "application/json"),
                    201);
  CHECK(reply["message"]["seq"].GetInt64() == NextSeq(*made));
  auto ticket = Json(http.Post("/v1/agent/conversations/" + made->conversation + "/tickets", Bearer(made->agent_token),
                               "{\"subject\":\"" + text + "\"}", "application/json"),
                     201);
  const int64_t number = ticket["ticket"]["number"].GetInt64();
  if (made->ticket_number != 0) CHECK(number == made->ticket_number + 1);
  made->ticket_number = number;
  made->history = History(http, *made);
}

// A shop customer asks for a person, the agent alex takes the conversation, replies, opens a
// ticket.
Made MakeDeployment(httplib::Client& http) {
  Made made;
  auto login = Json(http.Post("/v1/agent/login",
                              "{\"desk\":\"shop\",\"username\":\"alex\","
                              "\"password\":\"demo-alex-8080\"}",
                              "application/json"),
                    200);
  made.agent_token = login["token"].GetString();
  Json(http.Put("/v1/agent/presence", Bearer(made.agent_token), "{\"status\":\"online\"}", "application/json"), 200);
  auto start = Json(http.Post("/v1/desks/shop/conversations", "{\"locale\":\"en\"}", "application/json"), 201);
  made.conversation = start["conversation_id"].GetString();
  made.customer_token = start["customer_token"].GetString();
  for (const char* text : {"How do I place an order?", "talk to a human"}) {
    Json(http.Post("/v1/conversations/" + made.conversation + "/messages", Bearer(made.customer_token),
                   std::string("{\"text\":\"") + text + "\"}", "application/json"),
         200);
  }
  for (int i = 0; i < 100 && ConversationState(http, made) != "agent"; ++i) std::this_thread::sleep_for(50ms);
  if (ConversationState(http, made) != "agent") {
    Json(http.Post("/v1/agent/conversations/" + made.conversation + "/claim", Bearer(made.agent_token), "{}",
                   "application/json"),
         200);
  }
  made.history = History(http, made);
  AgentWorks(http, &made, "first reply");
  return made;
}

// The copied deployment: the customer's token reads the same history, the agent's session still
// works, and the next message and ticket continue the numbering.
void ServesTheSame(httplib::Client& http, Made* made, const std::string& text) {
  CHECK(History(http, *made) == made->history);
  auto mine = Json(http.Get("/v1/agent/conversations", Bearer(made->agent_token)), 200);
  bool found = false;
  for (const auto& c : mine["conversations"].GetArray())
    found |= c["conversation_id"].GetString() == made->conversation;
  CHECK(found);
  AgentWorks(http, made, text);
  auto said = Json(http.Post("/v1/conversations/" + made->conversation + "/messages", Bearer(made->customer_token),
                             "{\"text\":\"thanks, " + text + "\"}", "application/json"),
                   200);
  CHECK(said["messages"][0]["seq"].GetInt64() == NextSeq(*made));
  made->history = History(http, *made);
}

TEST_CASE(
    "a LevelDB deployment copied to PostgreSQL and back serves the same "
    "records; live sources refused") {
  if (std::getenv("KEFU_BIN") == nullptr) {
    MESSAGE("KEFU_BIN not set: skipped");
    return;
  }
  const std::string dir = TempDir();
  const std::string uri = *SharedPgCluster().CreateDatabase("copy");
  Made made;
  {
    Server leveldb(dir + "/data", LogDir(dir, "first"));
    made = MakeDeployment(leveldb.http());

    Run live = StoreCopy(dir + "/data", uri);
    CHECK(live.exit_code == 1);
    CHECK_MESSAGE(live.output.find("is kefu serve running on it? stop it first") != std::string::npos, live.output);
  }
  Run usage = StoreCopy(dir + "/data", dir + "/data/");
  CHECK(usage.exit_code == 2);
  CHECK_MESSAGE(usage.output.find("the same store") != std::string::npos, usage.output);

  Run to_pg = StoreCopy(dir + "/data", uri);
  REQUIRE_MESSAGE(to_pg.exit_code == 0, to_pg.output);
  MESSAGE(to_pg.output);
  CHECK_MESSAGE(to_pg.output.find("copied ") != std::string::npos, to_pg.output);

  Run again = StoreCopy(dir + "/data", uri);
  CHECK(again.exit_code == 1);
  CHECK_MESSAGE(again.output.find("already holds records") != std::string::npos, again.output);
  {
    Server pg(dir + "/pg-node", LogDir(dir, "pg"), uri);
    ServesTheSame(pg.http(), &made, "from postgresql");

    Run live = StoreCopy(uri, dir + "/back-live");
    CHECK(live.exit_code == 1);
    CHECK_MESSAGE(live.output.find("in use") != std::string::npos, live.output);
  }
  Run back = StoreCopy(uri, dir + "/back");
  REQUIRE_MESSAGE(back.exit_code == 0, back.output);
  MESSAGE(back.output);
  {
    Server leveldb(dir + "/back", LogDir(dir, "back"));
    ServesTheSame(leveldb.http(), &made, "back on leveldb");
  }
  Run dir_to_dir = StoreCopy(dir + "/back", dir + "/copy");
  CHECK_MESSAGE(dir_to_dir.exit_code == 0, dir_to_dir.output);
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "a source that holds no kefu data is named: a directory, an empty "
    "database") {
  if (std::getenv("KEFU_BIN") == nullptr) return;
  const std::string dir = TempDir();
  Run run = StoreCopy(dir + "/nothing", dir + "/to");
  CHECK(run.exit_code == 1);
  CHECK_MESSAGE(run.output.find("no kefu data") != std::string::npos, run.output);
  Run empty_database = StoreCopy(*SharedPgCluster().CreateDatabase("empty"), dir + "/to");
  CHECK(empty_database.exit_code == 1);
  CHECK_MESSAGE(empty_database.output.find("no kefu data") != std::string::npos, empty_database.output);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kefu
