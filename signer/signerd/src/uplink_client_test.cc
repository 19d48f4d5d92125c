// UplinkClient against a scripted gateway: calls run for the gateway certificate's identity, bad
// frames get errors or end the stream (and the client dials again), a wrong gateway is never
// served.
#include "signerd/uplink_client.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "signer_uplink.grpc.pb.h"
#include "support/in_memory_custody.h"
#include "support/loopback.h"
#include "support/memory_protection.h"
#include "support/temp_dir.h"
#include "tls/dev_pki.h"
#include "tls/grpc_credentials.h"

namespace signer {
namespace {

namespace pb = parity::polkadot::signer;
using Stream = grpc::ServerReaderWriter<pb::UplinkToSigner, pb::UplinkFromSigner>;

constexpr char kKeys[] = "/parity.polkadot.signer.RemoteKeystore/Ed25519PublicKeys";

class IdentityAudit final : public AuditSink {
 public:
  base::Status Append(const AuditRecord& record) override {
    std::lock_guard lock(mutex);
    identities.push_back(record.identity);
    return base::Status::Ok();
  }
  std::mutex mutex;
  std::vector<std::string> identities;
};

// ScriptedGateway serves SignerUplink.Attach by running the test's script on each stream, one
// after another (the client holds one stream at a time).
class ScriptedGateway final : public pb::SignerUplink::Service {
 public:
  using Script = std::function<void(grpc::ServerContext*, Stream*)>;
  void Push(Script script) {
    std::lock_guard lock(mutex_);
    scripts_.push_back(std::move(script));
  }
  grpc::Status Attach(grpc::ServerContext* context, Stream* stream) override {
    Script script;
    {
      std::lock_guard lock(mutex_);
      ++attaches_;
      if (scripts_.empty()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no script");
      script = std::move(scripts_.front());
      scripts_.erase(scripts_.begin());
    }
    script(context, stream);
    return grpc::Status::OK;
  }
  int attaches() {
    std::lock_guard lock(mutex_);
    return attaches_;
  }

 private:
  std::mutex mutex_;
  std::vector<Script> scripts_;
  int attaches_ = 0;
};

pb::UplinkToSigner CallFrame(uint64_t id, const std::string& method, const std::string& request) {
  pb::UplinkToSigner frame;
  frame.mutable_call()->set_call_id(id);
  frame.mutable_call()->set_method(method);
  frame.mutable_call()->set_request(request);
  frame.mutable_call()->set_timeout_ms(10'000);
  return frame;
}

std::string KeysRequest() {
  pb::Ed25519PublicKeysRequest request;
  request.set_key_type("gran");
  return request.SerializeAsString();
}

class UplinkClientTest : public testing::Test {
 protected:
  void SetUp() override {
    tls::DevPkiOptions options;
    options.directory = dir_.path();
    options.client_identities = {"signer-1"};
    options.server_names = {"gateway"};
    ASSERT_TRUE(tls::CreateDevPki(options).ok());
    auto credentials = tls::ReloadableServerCredentials::Create(tls::ServerCredentialFiles{
        dir_.path() / "server.crt", dir_.path() / "server.key", dir_.path() / "ca.crt"});
    ASSERT_TRUE(credentials.ok()) << credentials.status().message();
    server_credentials_ = std::move(*credentials);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", server_credentials_->GrpcCredentials(), &port_);
    builder.RegisterService(&gateway_);
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_ && port_ > 0);
    auto policy =
        Policy::Parse("identities:\n  gateway:\n    - {key_types: [gran], operations: [list]}\n");
    ASSERT_TRUE(policy.ok()) << policy.status().message();
    policy_ = std::make_unique<Policy>(std::move(*policy));
    pipeline_ = std::make_unique<Pipeline>(
        PipelineDeps{custody_, protection_.protector, *policy_, audit_, protection_.clock});
    auto metrics = SignerMetrics::Create();
    ASSERT_TRUE(metrics.ok());
    metrics_ = std::move(*metrics);
    service_ =
        std::make_unique<KeystoreService>(*pipeline_, pool_, ServiceLimits{}, metrics_.get());
  }

  void TearDown() override {
    client_.reset();
    server_->Shutdown(std::chrono::system_clock::now());
  }

  void StartClient(const std::string& server_name = "gateway",
                   UplinkClient::Describe describe = nullptr) {
    auto credentials = tls::ClientChannelCredentials(tls::ClientCredentialFiles{
        dir_.path() / "ca.crt", dir_.path() / "signer-1.crt", dir_.path() / "signer-1.key"});
    ASSERT_TRUE(credentials.ok());
    UplinkOptions options;
    options.gateway = "127.0.0.1:" + std::to_string(port_);
    options.server_name = server_name;
    options.credentials = *credentials;
    options.min_backoff = std::chrono::milliseconds(10);
    options.max_backoff = std::chrono::milliseconds(50);
    options.status_interval = std::chrono::milliseconds(20);
    if (!describe) {
      describe = [] {
        pb::DescribeReply reply;
        reply.set_signer_id("signer-1");
        reply.set_history_kind("standalone");
        reply.set_history_id("history-1");
        return base::Result<pb::DescribeReply>(reply);
      };
    }
    client_ = std::make_unique<UplinkClient>(std::move(options), *service_, std::move(describe));
  }

  // WaitFor polls `condition` for up to 20 s (the client dials on its own thread).
  static bool WaitFor(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  support::TempDir dir_{"uplink-client"};
  ScriptedGateway gateway_;
  std::unique_ptr<tls::ReloadableServerCredentials> server_credentials_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  keymgr::InMemoryCustody custody_;
  support::MemoryProtection protection_;
  std::unique_ptr<Policy> policy_;
  IdentityAudit audit_;
  std::unique_ptr<Pipeline> pipeline_;
  WorkerPool pool_{1};
  std::unique_ptr<SignerMetrics> metrics_;
  std::unique_ptr<KeystoreService> service_;
  std::unique_ptr<UplinkClient> client_;
};

TEST_F(UplinkClientTest, ServesCallsForTheGatewayCertificateAndRefusesBadFrames) {
  std::promise<void> first_done;
  std::promise<void> second_started;
  gateway_.Push([&](grpc::ServerContext*, Stream* stream) {
    pb::UplinkFromSigner in;
    ASSERT_TRUE(stream->Read(&in));
    ASSERT_TRUE(in.has_status()) << "the signer speaks first, with its status";
    EXPECT_EQ(in.status().signer().history_id(), "history-1");
    pb::UplinkToSigner welcome;
    welcome.mutable_welcome()->set_upstream("signer-1");
    ASSERT_TRUE(stream->Write(welcome));

    // A good call, a method that is not RemoteKeystore's, and bytes that are no request.
    ASSERT_TRUE(stream->Write(CallFrame(1, kKeys, KeysRequest())));
    ASSERT_TRUE(stream->Write(CallFrame(2, "/grpc.health.v1.Health/Check", "")));
    ASSERT_TRUE(
        stream->Write(CallFrame(3, "/parity.polkadot.signer.RemoteKeystore/SignWith", "\xff\xff")));
    std::map<uint64_t, pb::UplinkReply> replies;
    while (replies.size() < 3 && stream->Read(&in)) {
      if (in.has_reply()) replies[in.reply().call_id()] = in.reply();
    }
    ASSERT_EQ(replies.size(), 3u);
    EXPECT_EQ(replies[1].code(), 0) << replies[1].message();
    pb::Ed25519PublicKeysReply keys;
    EXPECT_TRUE(keys.ParseFromString(replies[1].response()));
    EXPECT_EQ(replies[2].code(), static_cast<int>(grpc::StatusCode::UNIMPLEMENTED));
    EXPECT_EQ(replies[3].code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));

    // The same call id twice while the first is still queued: the second is refused, not run.
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    pool_.Submit([released] { released.wait(); });
    ASSERT_TRUE(stream->Write(CallFrame(7, kKeys, KeysRequest())));
    ASSERT_TRUE(stream->Write(CallFrame(7, kKeys, KeysRequest())));
    ASSERT_TRUE(stream->Read(&in));
    ASSERT_TRUE(in.has_reply());
    EXPECT_EQ(in.reply().call_id(), 7u);
    EXPECT_EQ(in.reply().code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    EXPECT_NE(in.reply().message().find("already in flight"), std::string::npos);
    release.set_value();
    ASSERT_TRUE(stream->Read(&in));
    EXPECT_EQ(in.reply().call_id(), 7u);
    EXPECT_EQ(in.reply().code(), 0);
    pb::Ed25519PublicKeysRequest babe;
    babe.set_key_type("babe");
    ASSERT_TRUE(stream->Write(CallFrame(8, kKeys, babe.SerializeAsString())));
    ASSERT_TRUE(stream->Read(&in));
    EXPECT_EQ(in.reply().call_id(), 8u);
    EXPECT_EQ(in.reply().code(), static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));

    // A frame of no known kind ends the stream from the signer's side.
    ASSERT_TRUE(stream->Write(pb::UplinkToSigner()));
    while (stream->Read(&in)) {
    }
    first_done.set_value();
  });
  gateway_.Push([&](grpc::ServerContext*, Stream* stream) {
    pb::UplinkFromSigner in;
    ASSERT_TRUE(stream->Read(&in));
    pb::UplinkToSigner welcome;
    welcome.mutable_welcome();
    ASSERT_TRUE(stream->Write(welcome));
    second_started.set_value();
    // A frame larger than any request: the signer's transport refuses it and the stream ends.
    stream->Write(CallFrame(1, kKeys, std::string(3 << 20, 'x')));
    while (stream->Read(&in)) {
    }
  });
  gateway_.Push([&](grpc::ServerContext* context, Stream* stream) {
    pb::UplinkFromSigner in;
    ASSERT_TRUE(stream->Read(&in));
    pb::UplinkToSigner welcome;
    welcome.mutable_welcome();
    ASSERT_TRUE(stream->Write(welcome));
    while (!context->IsCancelled() && stream->Read(&in)) {
    }
  });
  ASSERT_NO_FATAL_FAILURE(StartClient());
  ASSERT_EQ(first_done.get_future().wait_for(std::chrono::seconds(20)), std::future_status::ready);
  ASSERT_EQ(second_started.get_future().wait_for(std::chrono::seconds(20)),
            std::future_status::ready);
  EXPECT_TRUE(WaitFor([&] { return client_->connects() == 3 && client_->connected(); }))
      << "the client dials again after each stream ends; connects " << client_->connects();

  // Calls 1 and 7 ran, once each, and were granted: the policy grants only "gateway", the
  // identity of the gateway's certificate. Call 8 ran for that identity too, and was denied a
  // key type the policy does not grant it.
  const std::string page = metrics_->Render();
  EXPECT_EQ(support::PrometheusSample(
                page, "signer_requests_total{method=\"Ed25519PublicKeys\",code=\"OK\"}"),
            2)
      << page;
  EXPECT_EQ(
      support::PrometheusSample(
          page, "signer_requests_total{method=\"Ed25519PublicKeys\",code=\"PERMISSION_DENIED\"}"),
      1)
      << page;
  std::lock_guard lock(audit_.mutex);
  ASSERT_EQ(audit_.identities.size(), 1u) << "the denial is audited";
  EXPECT_EQ(audit_.identities[0], "gateway");
}

TEST_F(UplinkClientTest, AGatewayWithoutTheConfiguredNameIsNeverServed) {
  // The certificate is valid (same CA) but names "gateway", not the configured "other-gateway":
  // the handshake fails, no stream reaches the gateway, and the signer keeps trying.
  ASSERT_NO_FATAL_FAILURE(StartClient("other-gateway"));
  EXPECT_TRUE(WaitFor([&] { return client_->dials() >= 3; }));
  EXPECT_EQ(gateway_.attaches(), 0);
  EXPECT_EQ(client_->connects(), 0u);
}

TEST_F(UplinkClientTest, AStatusItCouldNotReadAtFirstIsSentOnceItCan) {
  // A replicated signer whose brokers are away cannot say which history it uses: it says it is
  // not serving, and says more as soon as it can, without redialing.
  std::atomic<bool> brokers_up{false};
  std::promise<pb::UplinkStatus> first, later;
  gateway_.Push([&](grpc::ServerContext* context, Stream* stream) {
    pb::UplinkFromSigner in;
    ASSERT_TRUE(stream->Read(&in));
    first.set_value(in.status());
    pb::UplinkToSigner welcome;
    welcome.mutable_welcome();
    ASSERT_TRUE(stream->Write(welcome));
    brokers_up = true;
    ASSERT_TRUE(stream->Read(&in));
    later.set_value(in.status());
    while (!context->IsCancelled() && stream->Read(&in)) {
    }
  });
  ASSERT_NO_FATAL_FAILURE(StartClient("gateway", [&]() -> base::Result<pb::DescribeReply> {
    if (!brokers_up) return base::Status::Unavailable("brokers unreachable");
    pb::DescribeReply reply;
    reply.set_history_kind("replicated");
    reply.set_history_id("kafka:cluster/claims");
    return reply;
  }));
  client_->SetServing(true);
  auto first_status = first.get_future();
  ASSERT_EQ(first_status.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_FALSE(first_status.get().serving());
  auto later_status = later.get_future();
  ASSERT_EQ(later_status.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  const pb::UplinkStatus status = later_status.get();
  EXPECT_TRUE(status.serving());
  EXPECT_EQ(status.signer().history_id(), "kafka:cluster/claims");
  // The status thread can send before the client's own thread has counted the welcomed stream.
  const auto counted_by = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (client_->connects() == 0 && std::chrono::steady_clock::now() < counted_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(client_->connects(), 1u);
}

}  // namespace
}  // namespace signer
