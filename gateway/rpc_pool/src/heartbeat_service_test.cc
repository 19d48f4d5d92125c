// The heartbeat service over real mutual TLS on loopback: the node ID is the certificate's, a
// refusal is a verdict, and calls without a certificate or with an oversized body are refused.
#include "rpc_pool/heartbeat_service.h"

#include <gtest/gtest.h>

#include <optional>

#include "support/dev_pki.h"
#include "support/fake_clock.h"
#include "support/files.h"
#include "support/memory_history_store.h"
#include "support/temp_dir.h"
#include "tls/grpc_credentials.h"

namespace rpc_pool {
namespace {

const std::string kPoolHash(64, 'e');

class HeartbeatServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(support::MakeDevPki(dir_.path(), {"node-a", "node-b"}).ok());
    auto history = PoolHistory::Open(store_);
    ASSERT_TRUE(history.ok());
    history_ = std::move(history).value();
    PoolRules rules;
    rules.settings_hash = kPoolHash;
    // Heartbeats never reach HAProxy; Tick (not called here) would.
    controller_.emplace(rules, ControllerOptions{}, clock_, *history_, haproxy_);
    service_.emplace(*controller_);
    auto credentials =
        tls::ReloadableServerCredentials::Create(support::DevPkiServerFiles(dir_.path()));
    ASSERT_TRUE(credentials.ok()) << credentials.status().message();
    credentials_ = std::move(credentials).value();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", credentials_->GrpcCredentials(), &port_);
    builder.SetMaxReceiveMessageSize(kMaxHeartbeatBytes);
    builder.RegisterService(&*service_);
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_ != nullptr);
    ASSERT_NE(port_, 0);
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  std::unique_ptr<v1::PoolController::Stub> StubFor(const std::string& identity) {
    auto credentials = support::DevPkiClientCredentials(dir_.path(), identity);
    EXPECT_TRUE(credentials.ok()) << credentials.status().message();
    return v1::PoolController::NewStub(Channel(*credentials));
  }

  // Channel dials 127.0.0.1 and checks the server's certificate for "localhost": a name to resolve
  // would go through c-ares, which leaks a resolver buffer that LeakSanitizer reports.
  std::shared_ptr<grpc::Channel> Channel(
      const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
    grpc::ChannelArguments arguments;
    arguments.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port_), credentials, arguments);
  }

  static v1::HeartbeatRequest Request(const std::string& hash = kPoolHash) {
    v1::HeartbeatRequest request;
    request.set_settings_hash(hash);
    request.set_best_block(500);
    request.set_finalized_block(498);
    request.set_rpc_endpoint("192.0.2.10:9944");  // never dialled here
    request.set_peers(9);
    return request;
  }

  grpc::Status Send(v1::PoolController::Stub& stub, const v1::HeartbeatRequest& request,
                    v1::HeartbeatResponse& response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return stub.Heartbeat(&context, request, &response);
  }

  support::TempDir dir_{"rpc-pool-heartbeat"};
  slashing::FakeClock clock_{support::kTestClockStartMs};
  slashing::MemoryHistoryStore store_;
  std::unique_ptr<PoolHistory> history_;
  HaproxyRuntime haproxy_{dir_.Path("no-haproxy.sock")};
  std::optional<PoolController> controller_;
  std::optional<HeartbeatService> service_;
  std::unique_ptr<tls::ReloadableServerCredentials> credentials_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(HeartbeatServiceTest, TheNodeIdIsTheCertificates) {
  auto stub = StubFor("node-a");
  v1::HeartbeatResponse response;
  const grpc::Status status = Send(*stub, Request(), response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.verdict(), v1::HeartbeatResponse::ACCEPTED);
  EXPECT_EQ(response.state(), "in_service");
  const std::vector<NodeView> nodes = controller_->Nodes();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].node_id, "node-a");
  EXPECT_EQ(nodes[0].last.best_block, 500u);
  EXPECT_EQ(nodes[0].last.peers, 9u);
}

TEST_F(HeartbeatServiceTest, RefusalsAreVerdicts) {
  auto stub = StubFor("node-b");
  v1::HeartbeatResponse response;
  grpc::Status status = Send(*stub, Request(std::string(64, 'f')), response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.verdict(), v1::HeartbeatResponse::WRONG_SETTINGS_HASH);
  EXPECT_EQ(response.state(), "");

  v1::HeartbeatRequest lying = Request();
  lying.set_finalized_block(501);  // above best
  status = Send(*stub, lying, response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.verdict(), v1::HeartbeatResponse::MALFORMED);
  EXPECT_EQ(response.reason(), "finalized_above_best");
  EXPECT_TRUE(controller_->Nodes().empty());

  // An endpoint on the LB's own host: malformed, and the daemon is told why.
  v1::HeartbeatRequest local = Request();
  local.set_rpc_endpoint("127.0.0.1:9944");
  status = Send(*stub, local, response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.verdict(), v1::HeartbeatResponse::MALFORMED);
  EXPECT_EQ(response.reason(), "loopback_endpoint");
  EXPECT_TRUE(controller_->Nodes().empty());
}

TEST_F(HeartbeatServiceTest, AnOversizedHeartbeatIsRefused) {
  auto stub = StubFor("node-a");
  v1::HeartbeatRequest request = Request();
  request.set_rpc_endpoint(std::string(kMaxHeartbeatBytes, 'x'));
  v1::HeartbeatResponse response;
  const grpc::Status status = Send(*stub, request, response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(controller_->Nodes().empty());
}

TEST_F(HeartbeatServiceTest, ACallWithoutACertificateNeverArrives) {
  // The server's CA is trusted, but the client presents no certificate of its own.
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = support::ReadFile(support::DevPkiServerFiles(dir_.path()).client_ca);
  auto stub = v1::PoolController::NewStub(Channel(grpc::SslCredentials(options)));
  v1::HeartbeatResponse response;
  const grpc::Status status = Send(*stub, Request(), response);
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(controller_->Nodes().empty());
}

TEST_F(HeartbeatServiceTest, AHistoryFailureIsUnavailableAndNothingIsAcknowledged) {
  store_.SetFailWrites(true);
  auto stub = StubFor("node-a");
  v1::HeartbeatResponse response;
  const grpc::Status status = Send(*stub, Request(), response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace rpc_pool
