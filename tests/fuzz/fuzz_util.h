// Helpers for kefu's libFuzzer targets: split one input into the parts a target needs.
#ifndef KEFU_TESTS_FUZZ_FUZZ_UTIL_H_
#define KEFU_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace kefu::fuzz {

// Reads an input front to back: single bytes, and strings up to a separator byte.
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

  // The next byte (0 when the input is used up).
  uint8_t Byte() {
    if (rest_.empty()) return 0;
    const uint8_t b = static_cast<uint8_t>(rest_[0]);
    rest_.remove_prefix(1);
    return b;
  }
  // Everything up to the next `separator` (dropped), or the rest.
  std::string_view Until(char separator) {
    const size_t at = rest_.find(separator);
    std::string_view out = rest_.substr(0, at);
    rest_.remove_prefix(at == std::string_view::npos ? rest_.size() : at + 1);
    return out;
  }
  std::string_view Rest() {
    std::string_view out = rest_;
    rest_ = {};
    return out;
  }

 private:
  std::string_view rest_;
};

// A property the code under test promises does not hold: crash so that libFuzzer keeps the input.
inline void Expect(bool condition) {
  if (!condition) std::abort();
}

}  // namespace kefu::fuzz

#endif  // KEFU_TESTS_FUZZ_FUZZ_UTIL_H_
