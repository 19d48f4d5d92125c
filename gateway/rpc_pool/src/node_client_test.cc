// The LB daemon's node client against a fake node on loopback that lags, stalls, errs and dies.
#include "rpc_pool/node_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "base/file_descriptor.h"
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

// CannedAnswer listens on 127.0.0.1 and answers its first connection with `response` (raw HTTP),
// then closes it: for answers the fake node never gives.
class CannedAnswer {
 public:
  explicit CannedAnswer(std::string response) {
    listener_.Reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), length), 0);
    EXPECT_EQ(::listen(listener_.get(), 1), 0);
    EXPECT_EQ(::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this, response = std::move(response)] {
      const base::FileDescriptor connection(
          ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (connection.get() < 0) return;
      char request[4096];
      (void)::recv(connection.get(), request, sizeof request, 0);
      size_t sent = 0;
      while (sent < response.size()) {
        const ssize_t n =
            ::send(connection.get(), response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return;  // the client hung up (an answer it refused part-way)
        sent += static_cast<size_t>(n);
      }
    });
  }
  ~CannedAnswer() { thread_.join(); }
  CannedAnswer(const CannedAnswer&) = delete;
  CannedAnswer& operator=(const CannedAnswer&) = delete;
  int port() const { return port_; }

 private:
  base::FileDescriptor listener_;
  int port_ = 0;
  std::thread thread_;
};

std::string HttpAnswer(const std::string& status_line, const std::string& body) {
  return status_line +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

TEST(NodeClientTest, AnHttpErrorIsRefused) {
  CannedAnswer server(HttpAnswer("HTTP/1.1 500 Internal Server Error", "{}"));
  const auto answer = ClientFor(server.port()).Call(1, "system_health", "[]");
  EXPECT_EQ(answer.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(answer.status().message().find("HTTP 500"), std::string::npos)
      << answer.status().message();
}

TEST(NodeClientTest, AnAnswerOverTheLimitIsRefused) {
  CannedAnswer server(HttpAnswer("HTTP/1.1 200 OK", std::string(kMaxNodeAnswerBytes + 1, ' ')));
  EXPECT_EQ(ClientFor(server.port()).Call(1, "system_health", "[]").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(NodeClientTest, AChunkedAnswerOverTheLimitIsRefused) {
  // No Content-Length to check up front: the limit holds while the body arrives.
  std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  const std::string chunk(size_t{64} * 1024, 'x');
  for (size_t sent = 0; sent <= kMaxNodeAnswerBytes; sent += chunk.size()) {
    chunked += "10000\r\n" + chunk + "\r\n";
  }
  chunked += "0\r\n\r\n";
  CannedAnswer server(chunked);
  EXPECT_EQ(ClientFor(server.port()).Call(1, "system_health", "[]").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(NodeClientTest, AChunkedAnswerIsRead) {
  const std::string first = R"({"jsonrpc":"2.0",)";
  const std::string second = R"("id":1,"result":"fake"})";
  const auto hex = [](size_t n) {
    char text[17];
    std::snprintf(text, sizeof text, "%zx", n);
    return std::string(text);
  };
  CannedAnswer server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                      hex(first.size()) + "\r\n" + first + "\r\n" + hex(second.size()) + "\r\n" +
                      second + "\r\n0\r\n\r\n");
  const auto answer = ClientFor(server.port()).Call(1, "system_version", "[]");
  ASSERT_TRUE(answer.ok()) << answer.status().message();
  EXPECT_EQ(*answer, first + second);
}

TEST(NodeClientTest, AProxyInTheEnvironmentIsNotUsed) {
  // The node is on the daemon's own host: a proxy set for other programs must not see its calls.
  auto node = FakeNode::Start();
  ASSERT_TRUE(node.ok());
  ::setenv("http_proxy", "http://127.0.0.1:1", 1);
  const auto status = ClientFor((*node)->port()).Poll();
  ::unsetenv("http_proxy");
  EXPECT_TRUE(status.ok()) << status.status().message();
}

}  // namespace
}  // namespace rpc_pool
