// Gap reports: unanswered questions grouped by similarity, ranked by customers.
#include "kb/gaps.h"

#include <doctest/doctest.h>

namespace kefu {
namespace {

TEST_CASE("paraphrases of one missing topic form one gap, ranked by distinct customers") {
  std::vector<GapQuestion> q = {
      {"can I bring my dog to the office", "c1", 10},
      {"is it ok to bring a dog to work", "c2", 20},
      {"dogs allowed in the office?", "c3", 30},
      {"how do I book a parking space", "c4", 40},
      {"parking space booking", "c4", 50},
      {"can I bring my dog to the office", "c5", 60},
  };
  std::vector<Gap> gaps = FindGaps(q);
  REQUIRE(gaps.size() == 2);
  CHECK(gaps[0].customers == 4);
  CHECK(gaps[0].questions == 4);
  CHECK(gaps[0].examples.front() == "can I bring my dog to the office");  // asked twice: first
  CHECK(gaps[0].first_seen == 10);
  CHECK(gaps[0].last_seen == 60);
  CHECK(gaps[1].customers == 1);
  CHECK(gaps[1].questions == 2);
}

TEST_CASE("Chinese questions group by their characters, common words weighed down by the KB's examples") {
  std::vector<GapQuestion> q = {
      {"公司有没有健身房", "a", 1}, {"健身房在哪里", "b", 2}, {"食堂几点开门", "c", 3}, {"食堂开门时间", "d", 4}};
  const std::vector<std::string> kb_examples = {"年假在哪里申请", "公司有没有班车", "工资几点到账", "报销需要什么时间",
                                                "有没有体检", "社保在哪里查", "公司有没有食补"};
  std::vector<Gap> gaps = FindGaps(q, GapOptions(), kb_examples);
  REQUIRE(gaps.size() == 2);
  CHECK(gaps[0].questions == 2);
  CHECK(gaps[1].questions == 2);
}

TEST_CASE("limits: examples per gap and number of gaps") {
  std::vector<GapQuestion> q;
  for (int i = 0; i < 20; ++i) q.push_back({"question about topic number " + std::to_string(i) + " zz" + std::to_string(i * 7919), "c", i});
  GapOptions o;
  o.max_gaps = 3;
  o.similarity = 0.99;
  CHECK(FindGaps(q, o).size() == 3);
  CHECK(FindGaps({}).empty());
  CHECK(FindGaps({{"???", "c", 1}}).empty());  // no words, nothing to group
}

}  // namespace
}  // namespace kefu
