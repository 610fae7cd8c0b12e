#include <doctest/doctest.h>

#include <string>

#include "kb/normalize.h"
#include "kb/rules.h"

namespace kefu {
namespace {

const RuleSet& Builtin() {
  static const std::unique_ptr<RuleSet> rules = [] {
    auto r = RuleSet::Build();
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    return std::move(r).value();
  }();
  return *rules;
}

// Rules see normalised text, as the matcher gives them.
RuleKind Rule(std::string_view raw) { return Builtin().Match(NormalizeText(raw)); }

TEST_CASE("requests for a person are handoffs, in Chinese and English") {
  for (const char* text : {"转人工", "人工客服", "我要转人工", "人工", "找人工客服！", "talk to a human",
                           "Can I speak with a real person?", "agent please", "Agent", "I want a human",
                           "connect me to an agent", "I need to speak to a representative", "human please!"}) {
    CAPTURE(std::string(text));
    CHECK(Rule(text) == RuleKind::kHandoff);
  }
}

TEST_CASE("a handoff wins over a greeting or thanks in the same message") {
  CHECK(Rule("hi, agent please") == RuleKind::kHandoff);
  CHECK(Rule("你好，转人工") == RuleKind::kHandoff);
  CHECK(Rule("thanks, but I want to talk to a human") == RuleKind::kHandoff);
  // With a custom greeting that also matches the text, handoff still wins.
  auto rules = RuleSet::Build({{RuleKind::kGreeting, "agent"}});
  REQUIRE(rules.ok());
  CHECK((*rules)->Match("agent please") == RuleKind::kHandoff);
}

TEST_CASE("greetings alone are small talk") {
  for (const char* text : {"hi", "Hello!", "hey there", "Good morning", "你好", "您好！", "在吗", "在吗？", "你好呀"}) {
    CAPTURE(std::string(text));
    CHECK(Rule(text) == RuleKind::kGreeting);
  }
}

TEST_CASE("thanks alone are small talk") {
  for (const char* text : {"thanks!", "thank you so much", "Thank you", "ok thanks", "thx", "谢谢", "谢谢你！", "好的谢谢"}) {
    CAPTURE(std::string(text));
    CHECK(Rule(text) == RuleKind::kThanks);
  }
}

TEST_CASE("a greeting or thanks inside a longer question is not small talk") {
  for (const char* text : {"hi, how do I reset my password", "hello, where is my order?", "thanks, and how do I apply for leave",
                           "你好，年假怎么请？", "谢谢，报销要多久", "history of this thing", "which hotel", "thanksgiving holiday pay"}) {
    CAPTURE(std::string(text));
    CHECK(Rule(text) == RuleKind::kNone);
  }
}

TEST_CASE("words that merely contain handoff words are not handoffs") {
  for (const char* text : {"人工智能", "人工智能课程报销吗", "human resources contact", "what does a travel agent cost",
                           "personal days", "agents of change", "how do I apply for annual leave"}) {
    CAPTURE(std::string(text));
    CHECK(Rule(text) == RuleKind::kNone);
  }
}

TEST_CASE("an empty text matches nothing") {
  CHECK(Builtin().Match("") == RuleKind::kNone);
}

TEST_CASE("extra patterns are added with their kind") {
  auto rules = RuleSet::Build({{RuleKind::kHandoff, "^(complaint|投诉)$"}, {RuleKind::kThanks, "^merci$"}});
  REQUIRE_MESSAGE(rules.ok(), rules.status().ToString());
  CHECK((*rules)->Match("complaint") == RuleKind::kHandoff);
  CHECK((*rules)->Match("投诉") == RuleKind::kHandoff);
  CHECK((*rules)->Match("merci") == RuleKind::kThanks);
  CHECK((*rules)->Match("hello") == RuleKind::kGreeting);  // the built-in rules stay
}

TEST_CASE("an extra pattern that does not compile is refused, naming it") {
  auto rules = RuleSet::Build({{RuleKind::kGreeting, "^ok$"}, {RuleKind::kHandoff, "(unclosed"}});
  REQUIRE_FALSE(rules.ok());
  CHECK(rules.status().code() == Status::Code::kInvalidArgument);
  CHECK(rules.status().message().find("(unclosed") != std::string::npos);
}

TEST_CASE("a too-long extra pattern is refused") {
  RuleSet::Options options;
  options.max_pattern_bytes = 20;
  const std::string long_pattern(21, 'a');
  auto rules = RuleSet::Build({{RuleKind::kThanks, long_pattern}}, options);
  REQUIRE_FALSE(rules.ok());
  CHECK(rules.status().code() == Status::Code::kInvalidArgument);
  CHECK(rules.status().message().find("longer than 20 bytes") != std::string::npos);
  // The default limit is 500 bytes.
  auto default_limit = RuleSet::Build({{RuleKind::kThanks, std::string(501, 'b')}});
  CHECK_FALSE(default_limit.ok());
  CHECK(RuleSet::Build({{RuleKind::kThanks, std::string(500, 'b')}}).ok());
}

TEST_CASE("too many extra patterns are refused") {
  RuleSet::Options options;
  options.max_patterns = 2;
  auto rules = RuleSet::Build({{RuleKind::kThanks, "a"}, {RuleKind::kThanks, "b"}, {RuleKind::kThanks, "c"}}, options);
  REQUIRE_FALSE(rules.ok());
  CHECK(rules.status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("RuleKindName and RuleReply") {
  CHECK(RuleKindName(RuleKind::kNone) == "none");
  CHECK(RuleKindName(RuleKind::kHandoff) == "handoff");
  CHECK(RuleKindName(RuleKind::kGreeting) == "greeting");
  CHECK(RuleKindName(RuleKind::kThanks) == "thanks");
  CHECK(RuleReply(RuleKind::kGreeting, "zh") == "您好！请直接输入您的问题，我来帮您解答。");
  CHECK(RuleReply(RuleKind::kThanks, "zh-CN").find("不客气") != std::string::npos);
  CHECK(RuleReply(RuleKind::kHandoff, "en").find("person") != std::string::npos);
  CHECK(RuleReply(RuleKind::kGreeting, "").find("Hello") != std::string::npos);
  CHECK(RuleReply(RuleKind::kNone, "en").empty());
}

}  // namespace
}  // namespace kefu
