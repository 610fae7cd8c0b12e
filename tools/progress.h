// A progress bar for long CLI work: drawn on stderr when stderr is a terminal, silent otherwise.
#ifndef KEFU_TOOLS_PROGRESS_H_
#define KEFU_TOOLS_PROGRESS_H_

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace kefu {

class ProgressBar {
 public:
  // `enabled` false (or stderr not a terminal) makes every call a no-op.
  explicit ProgressBar(bool enabled = true);
  ~ProgressBar();

  // Shows `stage` at done/total with the percentage and the rate since the stage began (a new
  // `stage` text starts a new stage), at most every 50 ms. Nothing when `total` is 0.
  void Update(std::string_view stage, size_t done, size_t total);
  // As Update for work whose total is not known yet: `stage`, `done` and the rate.
  void Count(std::string_view stage, size_t done);
  // Clears the bar's line.
  void Finish();

 private:
  // False when the last draw is under 50 ms old (and `final` is false); restarts the stage clock
  // when `stage` changed.
  bool ShouldDraw(std::string_view stage, bool final);
  // Items per second since the stage began.
  double Rate(size_t done) const;

  bool enabled_;
  bool drawn_ = false;
  std::string stage_;
  std::chrono::steady_clock::time_point stage_start_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace kefu

#endif  // KEFU_TOOLS_PROGRESS_H_
