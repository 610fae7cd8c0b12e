// The records store_crash_writer appends and store_crash_test checks. Each commit is one batch of
// two puts: rec/<seq> -> "<gen> <thread> <n>" and idx/<gen>/<thread>/<n> -> <seq>, where seq is
// global (assigned under one lock, in submission order) and n counts the commits of one writer
// thread of one child generation.
#ifndef KEFU_TESTS_ENGINE_CRASH_RECORDS_H_
#define KEFU_TESTS_ENGINE_CRASH_RECORDS_H_

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace kefu::testing {

inline constexpr std::string_view kRecordPrefix = "rec/";
inline constexpr std::string_view kIndexPrefix = "idx/";

struct CrashRecord {
  uint64_t seq = 0;
  unsigned gen = 0;
  unsigned thread = 0;
  uint64_t n = 0;
};

inline std::string RecordKey(uint64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "rec/%020" PRIu64, seq);
  return buf;
}

inline std::string RecordValue(const CrashRecord& r) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%u %u %" PRIu64, r.gen, r.thread, r.n);
  return buf;
}

inline std::string IndexKey(const CrashRecord& r) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "idx/%06u/%u/%012" PRIu64, r.gen, r.thread, r.n);
  return buf;
}

inline std::string IndexValue(uint64_t seq) { return std::to_string(seq); }

// The line a writer prints once a commit is acknowledged: "<seq> <gen> <thread> <n>\n".
inline std::string AckLine(const CrashRecord& r) {
  return std::to_string(r.seq) + " " + RecordValue(r) + "\n";
}

// Parses a record (key and value); false when malformed.
inline bool ParseRecord(std::string_view key, std::string_view value, CrashRecord* r) {
  if (key.size() != kRecordPrefix.size() + 20 ||
      key.substr(0, kRecordPrefix.size()) != kRecordPrefix) {
    return false;
  }
  const std::string k(key.substr(kRecordPrefix.size()));
  const std::string v(value);
  int used = 0;
  if (std::sscanf(k.c_str(), "%" SCNu64 "%n", &r->seq, &used) != 1 || used != 20) return false;
  used = 0;
  if (std::sscanf(v.c_str(), "%u %u %" SCNu64 "%n", &r->gen, &r->thread, &r->n, &used) != 3)
    return false;
  return used == static_cast<int>(v.size());
}

// Parses an ack line without its newline; false when malformed.
inline bool ParseAck(const std::string& line, CrashRecord* r) {
  int used = 0;
  if (std::sscanf(line.c_str(), "%" SCNu64 " %u %u %" SCNu64 "%n", &r->seq, &r->gen, &r->thread,
                  &r->n, &used) != 4) {
    return false;
  }
  return used == static_cast<int>(line.size());
}

}  // namespace kefu::testing

#endif  // KEFU_TESTS_ENGINE_CRASH_RECORDS_H_
