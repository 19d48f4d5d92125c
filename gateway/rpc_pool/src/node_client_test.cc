// The LB daemon's node client against a fake node on loopback that lags, stalls, errs and dies.
#include "rpc_pool/node_client.h"

#include <gtest/gtest.h>

#include "testing/fake_node.h"

namespace rpc_pool {
namespace {

using base::StatusCode;
using testing::FakeNode;

NodeRpcClient ClientFor(int port, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  NodeClientOptions options;
  options.port = static_cast<uint16_t>(port);
  options.timeout = timeout;
  return NodeRpcClient(options);
}

TEST(NodeClientTest, PollsWhatTheNodeReports) {
  auto node = FakeNode::Start();
  ASSERT_TRUE(node.ok()) << node.status().message();
  (*node)->SetBlocks(5000, 4997);
  (*node)->SetPeers(17);
  const NodeRpcClient client = ClientFor((*node)->port());
  auto status = client.Poll();
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(status->best_block, 5000u);
  EXPECT_EQ(status->finalized_block, 4997u);
  EXPECT_EQ(status->health.peers, 17u);
  EXPECT_EQ(status->version, "1.9.0-fake");
  EXPECT_EQ((*node)->requests(), 5u);

  // The node moves on; the next poll sees it.
  (*node)->SetBlocks(5011, 5009);
  status = client.Poll();
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(status->best_block, 5011u);
  EXPECT_EQ(status->finalized_block, 5009u);
}

TEST(NodeClientTest, AnErrorAnswerIsUnavailable) {
  auto node = FakeNode::Start();
  ASSERT_TRUE(node.ok());
  (*node)->SetAnswerErrors(true);
  EXPECT_EQ(ClientFor((*node)->port()).Poll().status().code(), StatusCode::kUnavailable);
}

TEST(NodeClientTest, FinalizedAboveBestIsRefused) {
  auto node = FakeNode::Start();
  ASSERT_TRUE(node.ok());
  (*node)->SetBlocks(10, 12);
  EXPECT_EQ(ClientFor((*node)->port()).Poll().status().code(), StatusCode::kInvalidArgument);
}

TEST(NodeClientTest, AStalledNodeTimesOut) {
  auto node = FakeNode::Start();
  ASSERT_TRUE(node.ok());
  (*node)->SetStalled(true);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(ClientFor((*node)->port(), std::chrono::milliseconds(300)).Poll().status().code(),
            StatusCode::kUnavailable);
  // The deadline bounds the whole call (a generous upper bound: this proves it is not unbounded).
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  // It recovers.
  (*node)->SetStalled(false);
  EXPECT_TRUE(ClientFor((*node)->port()).Poll().ok());
}

TEST(NodeClientTest, ADeadNodeIsUnavailable) {
  int port = 0;
  {
    auto node = FakeNode::Start();
    ASSERT_TRUE(node.ok());
    port = (*node)->port();
  }  // stopped: nothing listens on its port any more
  EXPECT_EQ(ClientFor(port).Poll().status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace rpc_pool
