#include "tools/progress.h"

#include <unistd.h>

#include <cstdio>

namespace kefu {

ProgressBar::ProgressBar(bool enabled) : enabled_(enabled && ::isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() { Finish(); }

bool ProgressBar::ShouldDraw(std::string_view stage, bool final) {
  const auto now = std::chrono::steady_clock::now();
  if (stage != stage_) {
    stage_ = stage;
    stage_start_ = now;
  } else if (drawn_ && !final && now - last_ < std::chrono::milliseconds(50)) {
    return false;
  }
  last_ = now;
  return true;
}

double ProgressBar::Rate(size_t done) const {
  const double seconds = std::chrono::duration<double>(last_ - stage_start_).count();
  return seconds > 0 ? static_cast<double>(done) / seconds : 0;
}

void ProgressBar::Update(std::string_view stage, size_t done, size_t total) {
  if (!enabled_ || total == 0) return;
  if (!ShouldDraw(stage, done >= total)) return;
  constexpr int kWidth = 30;
  const size_t shown = done < total ? done : total;
  const int filled = static_cast<int>(kWidth * shown / total);
  std::string bar(filled, '#');
  bar.append(kWidth - filled, '.');
  std::fprintf(stderr, "\r%-18.*s [%s] %3d%% %zu/%zu %.0f/s\033[K", static_cast<int>(stage.size()), stage.data(),
               bar.c_str(), static_cast<int>(100 * shown / total), done, total, Rate(done));
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::Count(std::string_view stage, size_t done) {
  if (!enabled_ || !ShouldDraw(stage, false)) return;
  std::fprintf(stderr, "\r%-18.*s %zu %.0f/s\033[K", static_cast<int>(stage.size()), stage.data(), done, Rate(done));
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace kefu
