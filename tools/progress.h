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

  // Shows `stage` at done/total, at most every 50 ms.
  void Update(std::string_view stage, size_t done, size_t total);
  // Clears the bar's line.
  void Finish();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace kefu

#endif  // KEFU_TOOLS_PROGRESS_H_
