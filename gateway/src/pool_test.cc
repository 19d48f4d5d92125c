// The pool's rules: the list under reload, and one signer for a standalone history, for good.
#include "gateway/pool.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "remote_keystore.grpc.pb.h"
#include "support/temp_dir.h"

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

namespace pb = parity::polkadot::signer;

// FakeSigner is a healthy signer on loopback that describes a history of its choosing; it can be
// stopped (a signer down) and started again on the same port.
class FakeSigner final : public pb::SignerInfo::Service {
 public:
  FakeSigner(std::string signer_id, std::string history_kind, std::string history_id)
      : signer_id_(std::move(signer_id)),
        history_kind_(std::move(history_kind)),
        history_id_(std::move(history_id)) {
    Start("127.0.0.1:0");
  }
  ~FakeSigner() override { Stop(); }

  grpc::Status Describe(grpc::ServerContext*, const pb::DescribeRequest*,
                        pb::DescribeReply* reply) override {
    reply->set_signer_id(signer_id_);
    reply->set_history_kind(history_kind_);
    reply->set_history_id(history_id_);
    return grpc::Status::OK;
  }
  void Stop() {
    if (server_) server_->Shutdown();
    server_.reset();
  }
  void Restart() { Start(address()); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void Start(const std::string& listen) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_ && port_ > 0);
  }

  const std::string signer_id_, history_kind_, history_id_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

std::vector<bool> Eligible(UpstreamPool& pool) {
  std::vector<bool> eligible;
  for (const auto& [name, state] : pool.States()) eligible.push_back(state.eligible);
  return eligible;
}

// Two signers on copies of one standalone store report the same history. Only the first may
// ever serve: failing over to the copy while the first is down would sign against a history that
// has not seen what the first signed. A cloned machine reports the same signer id as well, so
// the signers' own ids settle nothing; and a restarted gateway must remember who it was.
TEST(UpstreamPoolTest, AStandaloneHistoryIsServedByItsFirstSignerOnlyForGood) {
  for (const std::string copy_id : {"signer-b", "signer-a"}) {
    SCOPED_TRACE("the copy's signer id: " + copy_id);
    support::TempDir state("gateway-pool");
    FakeSigner first("signer-a", "standalone", "store-1");
    FakeSigner copy(copy_id, "standalone", "store-1");
    GatewayConfig config;
    config.state_dir = state.path().string();
    config.upstreams = {Dialed("a", first.address()), Dialed("b", copy.address())};
    auto pool = UpstreamPool::Create(config, grpc::InsecureChannelCredentials());
    ASSERT_TRUE(pool.ok()) << pool.status().message();
    (*pool)->CheckAll();
    EXPECT_EQ(Eligible(**pool), (std::vector<bool>{true, false}));

    first.Stop();
    (*pool)->CheckAll();
    (*pool)->CheckAll();
    EXPECT_EQ(Eligible(**pool), (std::vector<bool>{false, false}))
        << "the copy must not serve while the first is down";

    // A gateway restarted while the first is still down remembers it.
    pool->reset();
    auto restarted = UpstreamPool::Create(config, grpc::InsecureChannelCredentials());
    ASSERT_TRUE(restarted.ok()) << restarted.status().message();
    (*restarted)->CheckAll();
    EXPECT_EQ(Eligible(**restarted), (std::vector<bool>{false, false}));
    first.Restart();
    // The pool's channel redials on its own backoff (at most 1 s): wait for the first to be
    // checked healthy again, the copy staying out all along.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    do {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      (*restarted)->CheckAll();
      EXPECT_FALSE(Eligible(**restarted)[1]);
    } while (!Eligible(**restarted)[0] && std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(Eligible(**restarted), (std::vector<bool>{true, false}));
  }
}

// Replicated signers share one history through the claims topic: all of them serve.
TEST(UpstreamPoolTest, ReplicatedSignersAllServe) {
  FakeSigner one("signer-1", "replicated", "kafka:c/claims");
  FakeSigner two("signer-2", "replicated", "kafka:c/claims");
  GatewayConfig config;
  config.history_id = "kafka:c/claims";
  config.upstreams = {Dialed("one", one.address()), Dialed("two", two.address())};
  auto pool = UpstreamPool::Create(config, grpc::InsecureChannelCredentials());
  ASSERT_TRUE(pool.ok()) << pool.status().message();
  (*pool)->CheckAll();
  EXPECT_EQ(Eligible(**pool), (std::vector<bool>{true, true}));
}

}  // namespace
}  // namespace gateway
