// `kefu serve` as a child process for black-box tests: started on a free port (--listen
// 127.0.0.1:0, the port read from its first line), stopped with SIGKILL or SIGTERM. The binary is
// $KEFU_BIN (set by meson test). Not thread-safe: one thread starts and stops it.
#ifndef KEFU_TESTS_RELIABILITY_KEFU_PROCESS_H_
#define KEFU_TESTS_RELIABILITY_KEFU_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace kefu::testing {

inline std::string KefuBinary() {
  const char* bin = std::getenv("KEFU_BIN");
  if (bin == nullptr || *bin == '\0') throw std::runtime_error("KEFU_BIN is not set (run through meson test)");
  return bin;
}

class KefuProcess {
 public:
  // `data_dir`: --data; `log_dir`: where each start's stdout/stderr go (out-N.txt, err-N.txt).
  KefuProcess(std::string data_dir, std::string log_dir, std::vector<std::string> extra_args = {},
              std::vector<std::string> extra_env = {})
      : data_dir_(std::move(data_dir)), log_dir_(std::move(log_dir)), extra_args_(std::move(extra_args)),
        extra_env_(std::move(extra_env)) {}
  ~KefuProcess() { Kill(); }

  // Starts kefu serve and waits (up to `timeout`) for its "listening" line. Returns the port, or 0
  // when it exited or did not come up (the reason is in err-N.txt; see LastStderr()).
  int Start(std::chrono::seconds timeout = std::chrono::seconds(180)) {
    ++starts_;
    out_path_ = log_dir_ + "/out-" + std::to_string(starts_) + ".txt";
    err_path_ = log_dir_ + "/err-" + std::to_string(starts_) + ".txt";
    const std::string bin = KefuBinary();
    std::vector<std::string> args = {bin, "serve", "--listen", "127.0.0.1:0", "--data", data_dir_};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      const int out = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(out, 1);
      dup2(err, 2);
      for (const std::string& e : extra_env_) putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    const std::regex listening("kefu is listening on http://127\\.0\\.0\\.1:([0-9]+)");
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(out_path_);
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::smatch m;
      if (std::regex_search(text, m, listening)) {
        port_ = std::stoi(m[1]);
        return port_;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Kill();
    return 0;
  }

  // SIGKILL and reap. Nothing of the process survives but what it put on the disk.
  void Kill() { Signal(SIGKILL); }

  // SIGTERM and reap; the exit status (-1 when not running).
  int Terminate() { return Signal(SIGTERM); }

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  int starts() const { return starts_; }
  std::string LastStderr() const {
    std::ifstream in(err_path_);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

 private:
  int Signal(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    port_ = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  std::string data_dir_, log_dir_;
  std::vector<std::string> extra_args_, extra_env_;
  std::string out_path_, err_path_;
  pid_t pid_ = -1;
  int port_ = 0;
  int starts_ = 0;
};

}  // namespace kefu::testing

#endif  // KEFU_TESTS_RELIABILITY_KEFU_PROCESS_H_
