// The protection vocabulary: how positions are described in logs and traces.
#include "slashing/types.h"

#include <gtest/gtest.h>

#include <string>

namespace slashing {
namespace {

struct DescribeCase {
  Domain domain;
  Position position;
  std::string expected;
};

TEST(DescribePositionTest, NamesThePositionInTheWordsOfItsDomain) {
  base::Hash256 candidate{};
  candidate[0] = 0xab;
  candidate[31] = 0x01;
  const std::string candidate_hex = "ab" + std::string(60, '0') + "01";
  const DescribeCase cases[] = {
      {Domain::kBabe, {5, 0, {}}, "slot=5"},
      {Domain::kGrandpaPrevote, {1, 2, {}}, "set_id=1 round=2"},
      {Domain::kGrandpaPrecommit,
       {3, 18446744073709551615u, {}},
       "set_id=3 round=18446744073709551615"},
      {Domain::kBeefy, {7, 1000, {}}, "set_id=7 block=1000"},
      {Domain::kDispute, {9, 0, candidate}, "session=9 candidate=" + candidate_hex},
  };
  for (const DescribeCase& test_case : cases) {
    EXPECT_EQ(DescribePosition(test_case.domain, test_case.position), test_case.expected)
        << DomainName(test_case.domain);
  }
  // A value outside the enum (a corrupt byte cast by a caller) is described as nothing.
  EXPECT_EQ(DescribePosition(static_cast<Domain>(0), {1, 2, {}}), "");
}

}  // namespace
}  // namespace slashing
