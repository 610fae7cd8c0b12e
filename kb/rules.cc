#include "kb/rules.h"

namespace kefu {
namespace {

// Patterns see normalised text: lower case, punctuation turned into single spaces.
const std::pair<RuleKind, const char*> kBuiltinRules[] = {
    {RuleKind::kHandoff,
     R"((^| )(talk|speak|chat|connect me|put me through|transfer me)( to| with)?( a| an| some| the)? ?)"
     R"((human|person|agent|representative|operator|somebody real|someone real|real person|real human|live agent|people|staff|customer service)( |$))"},
    {RuleKind::kHandoff, R"((^| )(agent|human|representative|operator) please( |$))"},
    {RuleKind::kHandoff, R"(^(agent|human|representative|real person|live agent|live chat|operator)$)"},
    {RuleKind::kHandoff, R"((^| )(i want|i need|i would like|i d like|can i get|get me|give me) (a|an|to talk to a|to speak to a|to speak with a|to talk with a)? ?(human|real person|agent|representative|live agent)( |$))"},
    {RuleKind::kHandoff, R"(转人工|人工客服|人工服务|找人工|要人工|接人工|转接人工|人工坐席|真人客服|客服人员|^人工$|^真人$)"},
    {RuleKind::kGreeting,
     R"(^(hi|hello|hey|hiya|howdy|yo|good (morning|afternoon|evening)|greetings)( there| all| team| kefu| bot)?$)"},
    {RuleKind::kGreeting, R"(^(你好|您好|哈喽|嗨|在吗|在不在|有人吗|早上好|下午好|晚上好|早|hi|hello)(呀|啊|哇)?$)"},
    {RuleKind::kThanks,
     R"(^(ok |okay |great |perfect |cool )?(thanks?|thank you|thank u|thx|ty|cheers|many thanks|much appreciated)( (so|very) much| a lot| again)?( bye)?$)"},
    {RuleKind::kThanks, R"(^(好的|好|嗯|ok)?(谢谢|多谢|感谢|谢啦|谢了)(你|您)?(啦|了|哈)?$)"},
};

}  // namespace

std::string_view RuleKindName(RuleKind kind) {
  switch (kind) {
    case RuleKind::kHandoff: return "handoff";
    case RuleKind::kGreeting: return "greeting";
    case RuleKind::kThanks: return "thanks";
    case RuleKind::kNone: break;
  }
  return "none";
}

Result<std::unique_ptr<RuleSet>> RuleSet::Build(const std::vector<std::pair<RuleKind, std::string>>& extra,
                                                const Options& options) {
  std::unique_ptr<RuleSet> rules(new RuleSet());
  if (extra.size() > options.max_patterns) {
    return Status::InvalidArgument("more than " + std::to_string(options.max_patterns) + " rule patterns");
  }
  auto add = [&](RuleKind kind, std::string_view pattern) -> Status {
    if (pattern.size() > options.max_pattern_bytes) {
      return Status::InvalidArgument("rule pattern longer than " + std::to_string(options.max_pattern_bytes) +
                                     " bytes: " + std::string(pattern.substr(0, 40)) + "...");
    }
    std::string error;
    if (rules->set_.Add(pattern, &error) < 0) {
      return Status::InvalidArgument("rule pattern '" + std::string(pattern) + "': " + error);
    }
    rules->kinds_.push_back(kind);
    return Status::OK();
  };
  for (const auto& [kind, pattern] : kBuiltinRules) KEFU_RETURN_IF_ERROR(add(kind, pattern));
  for (const auto& [kind, pattern] : extra) KEFU_RETURN_IF_ERROR(add(kind, pattern));
  if (!rules->set_.Compile()) return Status::ResourceExhausted("rule patterns too large to compile");
  return rules;
}

RuleKind RuleSet::Match(std::string_view normalized) const {
  std::vector<int> hits;
  if (!set_.Match(normalized, &hits)) return RuleKind::kNone;
  RuleKind best = RuleKind::kNone;
  for (int i : hits) {
    const RuleKind kind = kinds_[i];
    if (kind == RuleKind::kHandoff) return kind;
    if (best == RuleKind::kNone) best = kind;
  }
  return best;
}

std::string RuleReply(RuleKind kind, std::string_view language) {
  const bool zh = language.rfind("zh", 0) == 0;
  switch (kind) {
    case RuleKind::kGreeting:
      return zh ? "您好！请直接输入您的问题，我来帮您解答。" : "Hello! Ask me anything and I will do my best to help.";
    case RuleKind::kThanks:
      return zh ? "不客气！还有其他问题随时问我。" : "You're welcome! Anything else I can help with?";
    case RuleKind::kHandoff:
      return zh ? "好的，正在为您转接人工客服。" : "Sure, I'm connecting you with a person.";
    case RuleKind::kNone: break;
  }
  return "";
}

}  // namespace kefu
