// `kefu config check`: a server configuration validated as `kefu serve` would, without serving.
#ifndef KEFU_TOOLS_CONFIG_COMMANDS_H_
#define KEFU_TOOLS_CONFIG_COMMANDS_H_

#include <string>

namespace kefu {

// Parses the config at `path` and loads every desk's knowledge bases, with the messages of
// `kefu serve` (file, line, desk and field; a KB's problems name its file, entry and field).
// Prints a summary of the desks. Returns 0 when valid, 1 otherwise.
int RunConfigCheck(const std::string& path);

}  // namespace kefu

#endif  // KEFU_TOOLS_CONFIG_COMMANDS_H_
