// Helpers shared by the engine's tests: a scratch directory and the path of the helper binary.
#ifndef KEFU_TESTS_ENGINE_TEST_UTIL_H_
#define KEFU_TESTS_ENGINE_TEST_UTIL_H_

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace kefu::testing {

// A fresh directory under $TMPDIR (default /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/kefu-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The store_crash_writer helper: $KEFU_STORE_CRASH_WRITER (set by meson test), else the file of
// that name beside the running test executable (both are built into tests/engine/).
inline std::string CrashWriterPath() {
  if (const char* env = std::getenv("KEFU_STORE_CRASH_WRITER"); env != nullptr && *env != '\0') {
    return env;
  }
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (self.parent_path() / "store_crash_writer").string();
}

}  // namespace kefu::testing

#endif  // KEFU_TESTS_ENGINE_TEST_UTIL_H_
