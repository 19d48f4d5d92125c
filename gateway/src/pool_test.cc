// The pool's list under reload: what is kept, added and removed, and that removed signers leave.
#include "gateway/pool.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gateway {
namespace {

UpstreamConfig Dialed(const std::string& name, const std::string& address) {
  UpstreamConfig upstream;
  upstream.name = name;
  upstream.address = address;
  return upstream;
}

UpstreamConfig DialingIn(const std::string& name, const std::string& identity) {
  UpstreamConfig upstream;
  upstream.name = name;
  upstream.dial_in = true;
  upstream.identity = identity;
  return upstream;
}

std::vector<std::string> Names(UpstreamPool& pool) {
  std::vector<std::string> names;
  for (const auto& [name, state] : pool.States()) names.push_back(name);
  return names;
}

TEST(UpstreamPoolTest, ReloadKeepsUnchangedSignersAndAddsAndRemovesTheRest) {
  GatewayConfig config;
  config.history_id = "kafka:cluster/claims";
  config.upstreams = {Dialed("a", "127.0.0.1:1"), Dialed("b", "127.0.0.1:2"),
                      DialingIn("nat", "signer-nat")};
  auto pool = UpstreamPool::Create(config, grpc::InsecureChannelCredentials());
  ASSERT_TRUE(pool.ok());
  const std::shared_ptr<DialIn> nat = (*pool)->FindDialIn("signer-nat");
  ASSERT_NE(nat, nullptr);
  EXPECT_EQ((*pool)->FindDialIn("someone-else"), nullptr);

  // b moves to another address (so it is a new signer), a stays, nat leaves, c arrives.
  const std::string summary = (*pool)->Reload(
      {Dialed("a", "127.0.0.1:1"), Dialed("b", "127.0.0.1:3"), Dialed("c", "127.0.0.1:4")});
  EXPECT_EQ(summary, "added b, added c, removed b, removed nat, 1 kept");
  EXPECT_EQ(Names(**pool), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ((*pool)->FindDialIn("signer-nat"), nullptr) << "a removed signer cannot dial in";
  EXPECT_FALSE(nat->Status().connected);
  for (const auto& [name, state] : (*pool)->States()) {
    EXPECT_FALSE(state.eligible) << name << ": nothing is eligible before its check";
  }
  EXPECT_EQ((*pool)->PoolHistory(), "kafka:cluster/claims") << "a reload never moves the history";
}

}  // namespace
}  // namespace gateway
