// The server's configuration file (kefu.json): any input is a config or problems naming fields.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/desk_config.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = kefu::ParseConfig(text, "fuzz.json", "/nonexistent");
  if (!config.ok()) kefu::fuzz::Expect(!config.status().message().empty());
  return 0;
}
