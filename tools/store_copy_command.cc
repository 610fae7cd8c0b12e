#include "tools/store_copy_command.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>
#include <utility>

#include "engine/pg/pg_connection.h"
#include "engine/pg/pg_schema.h"
#include "engine/pg/pg_store.h"
#include "tools/progress.h"
#include "tools/serve_command.h"

namespace kefu {

void RowDigest::Add(std::string_view key, std::string_view value) {
  // Each step is a bijection of the state for given inputs, so one differing row always changes the
  // result (when std::hash tells the two apart).
  constexpr uint64_t kPrime = 0x100000001b3ULL;
  const std::hash<std::string_view> hash;
  hash_ = (hash_ ^ hash(key)) * kPrime;
  hash_ = (hash_ ^ hash(value)) * kPrime;
  ++rows_;
  bytes_ += key.size() + value.size();
}

Result<RowDigest> DigestStore(Store& store, const RowProgressFn& progress) {
  constexpr uint64_t kProgressEvery = 4096;
  RowDigest digest;
  Status s = store.Scan("", "", [&](std::string_view key, std::string_view value) {
    digest.Add(key, value);
    if (digest.rows() % kProgressEvery == 0) progress(digest);
    return true;
  });
  if (!s.ok()) return s;
  progress(digest);
  return digest;
}

Result<RowDigest> CopyRows(Store& from, Store& to, const CopyRowsOptions& options, const RowProgressFn& progress) {
  RowDigest digest;
  StoreBatch batch;
  Status written;
  auto flush = [&] {
    written = to.Write(batch).WithContext("writing to the destination");
    batch = StoreBatch();
    progress(digest);
    return written.ok();
  };
  Status read = from.Scan("", "", [&](std::string_view key, std::string_view value) {
    digest.Add(key, value);
    batch.Put(key, value);
    if (batch.size() < options.batch_rows && batch.ApproximateBytes() < options.batch_bytes) return true;
    return flush();
  });
  KEFU_RETURN_IF_ERROR(written);
  KEFU_RETURN_IF_ERROR(read.WithContext("reading the source"));
  if (!batch.empty() && !flush()) return written;
  return digest;
}

namespace {

// Every connection of the copy carries this application_name, so that the check for live kefu
// processes can tell them from a serving node's ("kefu", "kefu listener", "kefu lease").
constexpr char kAppName[] = "kefu-store-copy";
// Held on a PostgreSQL end for the whole copy: two copies never run on one database.
constexpr char kCopyLease[] = "kefu store copy";

const PgStatement kOtherKefuSessions = {
    "",
    "SELECT count(*), coalesce(string_agg(DISTINCT application_name, ', '), '') FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE 'kefu%' "
    "AND application_name <> $1::text"};

enum class Role { kSource, kDestination };

// One end of the copy, open.
struct Endpoint {
  std::string location;  // as given
  std::string shown;     // for messages: a URI's password redacted
  bool postgres = false;
  std::unique_ptr<Store> store;
  std::unique_ptr<Store::Lease> lease;  // PostgreSQL only; declared last: released first
};

std::string WithAppName(const std::string& uri) {
  // The URI's own parameters win over PgConnection's defaults; the last of a repeated one wins.
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + "application_name=" + kAppName;
}

// OK when no kefu process but this copy is connected to the database (Conflict naming them
// otherwise) and, for a source, when it holds kefu's tables (NotFound otherwise).
Status CheckDatabase(const std::string& uri, Role role) {
  Result<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(WithAppName(uri), 10);
  if (!conn.ok()) return conn.status();
  if (role == Role::kSource) {
    Result<int> version = ReadPgSchemaVersion(**conn);
    if (!version.ok()) return version.status();
    if (*version == 0) return Status::NotFound("no kefu data here (the database has no kefu tables)");
  }
  // A node that has just stopped leaves pg_stat_activity a moment after its process: ask again for
  // up to 2 s before refusing.
  int64_t sessions = 0;
  std::string names;
  for (int attempt = 0; attempt < 9; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    Result<PgResultPtr> r = (*conn)->Exec(std::move(PgCommand(kOtherKefuSessions).Bytes(kAppName)));
    if (!r.ok()) return r.status();
    sessions = PgInt64(r->get(), 0, 0);
    if (sessions == 0) return Status::OK();
    names = PgBytes(r->get(), 0, 1);
  }
  return Status::Conflict("it is in use: " + std::to_string(sessions) + " connection(s) of other kefu processes (" +
                          names +
                          "); stop every kefu serve on this database first (a "
                          "copy of a live store is not a copy)");
}

Status OpenDatabase(Role role, Endpoint* e) {
  KEFU_RETURN_IF_ERROR(CheckDatabase(e->location, role));
  PgStoreOptions options;
  options.migrate = role == Role::kDestination;  // the source is only read
  options.scan_page_rows = 1000;
  Result<std::unique_ptr<Store>> store = OpenPostgresStore(WithAppName(e->location), options);
  if (!store.ok()) return store.status();
  e->store = std::move(store.value());
  Result<std::unique_ptr<Store::Lease>> lease = e->store->TryLease(kCopyLease);
  if (!lease.ok()) return lease.status();
  if (*lease == nullptr) return Status::Conflict("another kefu store copy is running on it");
  e->lease = std::move(lease.value());
  return Status::OK();
}

Status OpenDirectory(Role role, Endpoint* e) {
  namespace fs = std::filesystem;
  const std::string& dir = e->location;
  std::error_code ec;
  if (role == Role::kSource && !fs::exists(fs::path(dir) / "store" / "CURRENT", ec)) {
    const bool is_store = fs::exists(fs::path(dir) / "CURRENT", ec);
    return Status::NotFound(std::string("no kefu data here (no store/ in it): "
                                        "give the directory that kefu serve "
                                        "--data used") +
                            (is_store ? ", the parent of this one" : ""));
  }
  Result<std::unique_ptr<Store>> store = OpenDataDir(dir);
  if (store.status().code() == Status::Code::kUnavailable) {
    return Status::Unavailable(
        "it is in use by another process: is kefu serve "
        "running on it? stop it first (" +
        store.status().message() + ")");
  }
  if (!store.ok()) return store.status();
  e->store = std::move(store.value());
  return Status::OK();
}

std::string RoleName(Role role) { return role == Role::kSource ? "the source" : "the destination"; }

Result<Endpoint> OpenEndpoint(const std::string& location, Role role) {
  Endpoint e;
  e.location = location;
  e.postgres = IsPostgresUri(location);
  e.shown = e.postgres ? RedactPostgresUri(location) : location;
  Status s = e.postgres ? OpenDatabase(role, &e) : OpenDirectory(role, &e);
  if (!s.ok()) return s.WithContext(RoleName(role) + " " + e.shown);
  return e;
}

// A key for a message: printable ASCII, at most 60 characters.
std::string Printable(std::string_view key) {
  std::string out;
  for (char c : key.substr(0, 60)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return key.size() > 60 ? out + "..." : out;
}

Status RefuseNonEmpty(Endpoint& to) {
  std::string first;
  Status s = to.store->Scan("", "", [&](std::string_view key, std::string_view) {
    first = Printable(key);
    return false;
  });
  if (!s.ok()) return s.WithContext("the destination " + to.shown);
  if (first.empty()) return Status::OK();
  return Status::Conflict("the destination " + to.shown + " already holds records (the first: " + first +
                          "); a copy goes only into an empty store and never "
                          "merges two deployments: "
                          "give a new directory or an empty database");
}

// `dir` absolute, without "." or ".." or symlinks or a trailing '/' ("" when that fails).
std::string CanonicalDir(const std::string& dir) {
  std::error_code ec;
  std::string path = std::filesystem::weakly_canonical(dir, ec).lexically_normal().string();
  if (ec) return "";
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// Usage errors (exit 2): a location missing, or both naming the same store.
Status CheckLocations(const StoreCopyArgs& args) {
  if (args.from.empty() || args.to.empty()) return Status::InvalidArgument("--from and --to are both required");
  if (IsPostgresUri(args.from) != IsPostgresUri(args.to)) return Status::OK();
  bool same = args.from == args.to;
  if (!IsPostgresUri(args.from))
    same = same || (!CanonicalDir(args.from).empty() && CanonicalDir(args.from) == CanonicalDir(args.to));
  if (same) return Status::InvalidArgument("--from and --to name the same store");
  return Status::OK();
}

// The source read twice (counting, copying) and the destination once; the digests must agree.
// Errors other than the stores' are Conflict (the source changed) or Corruption (the copy differs).
Result<RowDigest> CopyAndVerify(Endpoint& from, Endpoint& to) {
  ProgressBar bar;
  Result<RowDigest> counted = DigestStore(*from.store, [&](const RowDigest& d) { bar.Count("counting", d.rows()); });
  if (!counted.ok()) return counted.status().WithContext("reading the source");
  const uint64_t total = counted->rows();
  Result<RowDigest> copied = CopyRows(*from.store, *to.store, CopyRowsOptions(),
                                      [&](const RowDigest& d) { bar.Update("copying", d.rows(), total); });
  if (!copied.ok()) return copied.status();
  if (!(*copied == *counted)) {
    return Status::Conflict("the source changed while it was copied (" + std::to_string(total) + " rows, then " +
                            std::to_string(copied->rows()) + "): something is writing to it; stop it first");
  }
  for (auto [e, role] : {std::pair{&from, Role::kSource}, std::pair{&to, Role::kDestination}}) {
    if (e->postgres) KEFU_RETURN_IF_ERROR(CheckDatabase(e->location, role).WithContext("after copying, " + e->shown));
  }
  Result<RowDigest> verified =
      DigestStore(*to.store, [&](const RowDigest& d) { bar.Update("verifying", d.rows(), total); });
  if (!verified.ok()) return verified.status().WithContext("reading the destination back");
  if (!(*verified == *copied)) {
    return Status::Corruption("the destination does not read back as the source: " + std::to_string(verified->rows()) +
                              " rows of " + std::to_string(total) + ", or a different checksum");
  }
  return copied;
}

// The admin token is not in the store: carried between data directories, named otherwise.
void CarryAdminToken(const Endpoint& from, const Endpoint& to) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path source_token = fs::path(from.location) / "admin_token";
  const bool has_token = !from.postgres && fs::exists(source_token, ec);
  if (!from.postgres && !to.postgres) {
    if (has_token && !fs::exists(fs::path(to.location) / "admin_token", ec)) {
      fs::copy_file(source_token, fs::path(to.location) / "admin_token",
                    ec);  // permissions too (0600)
      if (ec) std::fprintf(stderr, "kefu store copy: note: admin_token not copied: %s\n", ec.message().c_str());
    }
  } else if (to.postgres && has_token) {
    std::fprintf(stderr,
                 "kefu store copy: note: kefu serve --store needs "
                 "KEFU_ADMIN_TOKEN on every node; to keep the "
                 "admin token, set it to the content of %s\n",
                 source_token.c_str());
  } else if (!to.postgres) {
    std::fprintf(stderr,
                 "kefu store copy: note: kefu serve --data %s uses "
                 "KEFU_ADMIN_TOKEN when set, else makes a new "
                 "admin token in %s/admin_token\n",
                 to.shown.c_str(), to.shown.c_str());
  }
}

// "812 kB", "94.7 MB", "3.2 GB".
std::string HumanBytes(uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  char text[32];
  if (b < 1e6) {
    std::snprintf(text, sizeof(text), "%.0f kB", b / 1e3);
  } else if (b < 1e9) {
    std::snprintf(text, sizeof(text), "%.1f MB", b / 1e6);
  } else {
    std::snprintf(text, sizeof(text), "%.1f GB", b / 1e9);
  }
  return text;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "kefu store copy: %s\n", s.message().c_str());
  return 1;
}

}  // namespace

int RunStoreCopy(const StoreCopyArgs& args) {
  if (Status s = CheckLocations(args); !s.ok()) {
    std::fprintf(stderr, "kefu store copy: %s\n", s.message().c_str());
    return 2;
  }
  Result<Endpoint> from = OpenEndpoint(args.from, Role::kSource);
  if (!from.ok()) return Fail(from.status());
  Result<Endpoint> to = OpenEndpoint(args.to, Role::kDestination);
  if (!to.ok()) return Fail(to.status());
  if (Status s = RefuseNonEmpty(*to); !s.ok()) return Fail(s);

  const auto start = std::chrono::steady_clock::now();
  Result<RowDigest> copied = CopyAndVerify(*from, *to);
  if (!copied.ok()) {
    Fail(copied.status());
    std::fprintf(stderr,
                 "kefu store copy: %s may now hold part of the copy: empty it "
                 "(a new directory, or a new "
                 "database) before copying again\n",
                 to->shown.c_str());
    return 1;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CarryAdminToken(*from, *to);
  std::printf(
      "copied %llu records (%s) from %s to %s in %.1f s, verified "
      "(checksum %016llx)\n",
      static_cast<unsigned long long>(copied->rows()), HumanBytes(copied->bytes()).c_str(), from->shown.c_str(),
      to->shown.c_str(), seconds, static_cast<unsigned long long>(copied->hash()));
  return 0;
}

}  // namespace kefu
