// Rules that run before the model (RE2): asking for a person always escalates; a message that
// is only a greeting or thanks gets a short reply instead of a KB answer.
#ifndef KEFU_KB_RULES_H_
#define KEFU_KB_RULES_H_

#include <re2/set.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kefu {

enum class RuleKind { kNone = 0, kHandoff, kGreeting, kThanks };

// "handoff", "greeting", "thanks" or "none".
std::string_view RuleKindName(RuleKind kind);

// A compiled set of rules over normalised text (see NormalizeText). Immutable once built, so
// Match is thread-safe.
class RuleSet {
 public:
  struct Options {
    // Longest pattern accepted, in bytes. Default 500.
    size_t max_pattern_bytes = 500;
    // Most patterns accepted. Default 200.
    size_t max_patterns = 200;
  };

  // The built-in English and Chinese rules plus `extra` (kind, RE2 pattern) pairs. Returns
  // InvalidArgument naming the pattern that does not compile or breaks a limit.
  static Result<std::unique_ptr<RuleSet>> Build(const std::vector<std::pair<RuleKind, std::string>>& extra,
                                                const Options& options);
  static Result<std::unique_ptr<RuleSet>> Build(const std::vector<std::pair<RuleKind, std::string>>& extra = {}) {
    return Build(extra, Options());
  }

  // The rule kind that `normalized` matches; handoff wins over the others. kNone when nothing
  // matches.
  RuleKind Match(std::string_view normalized) const;

 private:
  RuleSet() : set_(RE2::Options(), RE2::UNANCHORED) {}
  RE2::Set set_;
  std::vector<RuleKind> kinds_;
};

// The bot's reply to a greeting or thanks, in `language` ("zh" gives Chinese, anything else
// English).
std::string RuleReply(RuleKind kind, std::string_view language);

}  // namespace kefu

#endif  // KEFU_KB_RULES_H_
