// Tests for ControllerSet: which controllers a daemon's heartbeats go to as clones report aliases.
#include "rpc_pool/controller_set.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rpc_pool {
namespace {

using Addresses = std::vector<std::string>;

TEST(ControllerAddressTest, Table) {
  const struct {
    const char* address;
    bool valid;
  } cases[] = {
      {"lb.example.net:7600", true},
      {"10.0.0.1:1", true},
      {"[2001:db8::1]:65535", true},
      {"lb_2.example-net:443", true},
      {"lb.example.net", false},         // no port
      {":7600", false},                  // no host
      {"lb.example.net:0", false},       // port 0
      {"lb.example.net:65536", false},   // port out of range
      {"lb.example.net:76x", false},     // not a number
      {"lb example.net:7600", false},    // whitespace
      {"lb.example.net\n:7600", false},  // a control character (log injection)
      {"unix:/run/x.sock:1", false},     // a scheme or path, not a host
      {"[2001:db8::1:7600", false},      // unclosed bracket
      {"[]:7600", false},                // empty IPv6
      {"[lb.example.net]:7600", false},  // a name in brackets
  };
  for (const auto& c : cases) {
    EXPECT_EQ(IsValidControllerAddress(c.address), c.valid) << c.address;
  }
  EXPECT_FALSE(IsValidControllerAddress(std::string(254, 'a') + ":1"));
  EXPECT_TRUE(IsValidControllerAddress(std::string(253, 'a') + ":1"));
}

TEST(ControllerSetTest, WithoutAliasesOnlyTheConfiguredControllers) {
  ControllerSet set({"a:1", "b:1"}, 16);
  EXPECT_EQ(set.Addresses(), (Addresses{"a:1", "b:1"}));
}

TEST(ControllerSetTest, AliasesReportedByTheHomeControllerAreAdded) {
  ControllerSet set({"a:1"}, 16);
  EXPECT_TRUE(set.OnAliases("a:1", {"a:1", "b:1", "c:1"}).empty());
  EXPECT_EQ(set.Addresses(), (Addresses{"a:1", "b:1", "c:1"}));
  // The clones answer with the same list: nothing to warn about, nothing new.
  EXPECT_TRUE(set.OnAliases("b:1", {"c:1", "a:1", "b:1"}).empty());
  EXPECT_EQ(set.Addresses(), (Addresses{"a:1", "b:1", "c:1"}));
}

TEST(ControllerSetTest, DifferentListsAreReported) {
  ControllerSet set({"a:1"}, 16);
  ASSERT_TRUE(set.OnAliases("a:1", {"a:1", "b:1"}).empty());
  const std::vector<std::string> warnings = set.OnAliases("b:1", {"a:1", "b:1", "c:1"});
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("different aliases"), std::string::npos) << warnings[0];
  // What b lists is still dialed: a clone it knows may be one the others have not heard of yet.
  EXPECT_EQ(set.Addresses(), (Addresses{"a:1", "b:1", "c:1"}));
}

TEST(ControllerSetTest, AnInvalidAliasIsNeverDialed) {
  ControllerSet set({"a:1"}, 16);
  const std::vector<std::string> warnings = set.OnAliases("a:1", {"a:1", "evil host:1", "b:1"});
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("not HOST:PORT"), std::string::npos) << warnings[0];
  EXPECT_EQ(set.Addresses(), (Addresses{"a:1", "b:1"}));
}

TEST(ControllerSetTest, ACloneDroppedByTheOthersLeavesEvenIfItStillListsItself) {
  ControllerSet set({"a:1"}, 16);
  ASSERT_TRUE(set.OnAliases("a:1", {"a:1", "b:1", "c:1"}).empty());
  ASSERT_TRUE(set.OnAliases("c:1", {"a:1", "b:1", "c:1"}).empty());
  set.OnAliases("a:1", {"a:1", "b:1"});  // the operator removed c from a's list
  EXPECT_EQ(set.Addresses(), (Addresses{"a:1", "b:1"}));
}

TEST(ControllerSetTest, TheLimitKeepsConfiguredControllersFirst) {
  ControllerSet set({"a:1", "b:1"}, 3);
  const std::vector<std::string> warnings = set.OnAliases("a:1", {"c:1", "d:1", "e:1"});
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("more than 3"), std::string::npos) << warnings[0];
  EXPECT_EQ(set.Addresses(), (Addresses{"a:1", "b:1", "c:1"}));
}

TEST(ControllerSetTest, ForgetDropsAControllersReport) {
  ControllerSet set({"a:1"}, 16);
  ASSERT_TRUE(set.OnAliases("a:1", {"a:1", "b:1"}).empty());
  set.Forget("a:1");
  EXPECT_EQ(set.Addresses(), (Addresses{"a:1"}));
}

}  // namespace
}  // namespace rpc_pool
