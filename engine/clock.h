// Time, injected. The engine never reads the system clock itself, so timeouts, SLAs and a whole
// day of a desk can be tested in a second with a ManualClock.
#ifndef KEFU_ENGINE_CLOCK_H_
#define KEFU_ENGINE_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace kefu {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch. Thread-safe.
  virtual int64_t NowMicros() const = 0;
};

// The real time of day.
class SystemClock : public Clock {
 public:
  int64_t NowMicros() const override;
};

// A clock that moves only when told. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t start_micros = 1'700'000'000'000'000) : now_(start_micros) {}
  int64_t NowMicros() const override { return now_.load(); }
  void Set(int64_t micros) { now_.store(micros); }
  void Advance(int64_t micros) { now_.fetch_add(micros); }

 private:
  std::atomic<int64_t> now_;
};

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;

}  // namespace kefu

#endif  // KEFU_ENGINE_CLOCK_H_
