// Small file helpers for the CLI and loaders.
#ifndef KEFU_BASE_FILE_H_
#define KEFU_BASE_FILE_H_

#include <string>
#include <string_view>

#include "base/status.h"

namespace kefu {

// Returns the whole content of `path`. NotFound when it does not exist, IOError when it cannot
// be read, ResourceExhausted when it is larger than `max_bytes` (default 256 MiB).
Result<std::string> ReadFileToString(const std::string& path, size_t max_bytes = size_t{256} << 20);

// Writes `content` to `path` atomically: a temporary file in the same directory, fsync, rename.
Status WriteFileAtomically(const std::string& path, std::string_view content);

}  // namespace kefu

#endif  // KEFU_BASE_FILE_H_
