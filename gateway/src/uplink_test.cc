// The gateway's uplink listener with a scripted signer: calls and replies by id, deadlines, a
// signer that vanishes mid-call, and streams that are refused.
#include "gateway/uplink.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "support/temp_dir.h"
#include "tls/dev_pki.h"
#include "tls/grpc_credentials.h"

namespace gateway {
namespace {

namespace pb = parity::polkadot::signer;

constexpr char kKeys[] = "/parity.polkadot.signer.RemoteKeystore/Ed25519PublicKeys";

// Answer is what a DialIn call ended with.
struct Answer {
  grpc::Status status;
  std::string reply;
};

class UplinkServiceTest : public testing::Test {
 protected:
  void SetUp() override {
    tls::DevPkiOptions options;
    options.directory = dir_.path();
    options.client_identities = {"signer-1", "stranger"};
    options.server_names = {"gateway"};
    ASSERT_TRUE(tls::CreateDevPki(options).ok());
    auto credentials = tls::ReloadableServerCredentials::Create(tls::ServerCredentialFiles{
        dir_.path() / "server.crt", dir_.path() / "server.key", dir_.path() / "ca.crt"});
    ASSERT_TRUE(credentials.ok());
    credentials_ = std::move(*credentials);
    service_ = std::make_unique<UplinkService>(UplinkServiceOptions{
        [this](const std::string& identity) { return identity == "signer-1" ? dial_in_ : nullptr; },
        [this] { ++changes_; }});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", credentials_->GrpcCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_ && port_ > 0);
  }

  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now()); }

  // Signer is the test's side of one Attach stream.
  struct Signer {
    std::unique_ptr<pb::SignerUplink::Stub> stub;
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReaderWriter<pb::UplinkFromSigner, pb::UplinkToSigner>> stream;
  };
  std::unique_ptr<Signer> Attach(const std::string& identity) {
    auto credentials = tls::ClientChannelCredentials(
        tls::ClientCredentialFiles{dir_.path() / "ca.crt", dir_.path() / (identity + ".crt"),
                                   dir_.path() / (identity + ".key")});
    EXPECT_TRUE(credentials.ok());
    grpc::ChannelArguments arguments;
    arguments.SetSslTargetNameOverride("gateway");
    auto signer = std::make_unique<Signer>();
    signer->stub = pb::SignerUplink::NewStub(
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port_), *credentials, arguments));
    signer->stream = signer->stub->Attach(&signer->context);
    return signer;
  }
  static pb::UplinkFromSigner Status(bool serving) {
    pb::UplinkFromSigner frame;
    frame.mutable_status()->set_serving(serving);
    frame.mutable_status()->mutable_signer()->set_history_kind("standalone");
    frame.mutable_status()->mutable_signer()->set_history_id("history-1");
    return frame;
  }
  std::future<Answer> Call(std::chrono::milliseconds timeout, std::string request = "q") {
    auto promise = std::make_shared<std::promise<Answer>>();
    dial_in_->Call(kKeys, std::move(request), std::chrono::system_clock::now() + timeout, nullptr,
                   [promise](const grpc::Status& status, std::string reply) {
                     promise->set_value(Answer{status, std::move(reply)});
                   });
    return promise->get_future();
  }

  support::TempDir dir_{"uplink-service"};
  std::shared_ptr<DialIn> dial_in_ = std::make_shared<DialIn>("signer-1", "signer-1");
  std::atomic<int> changes_{0};
  std::unique_ptr<tls::ReloadableServerCredentials> credentials_;
  std::unique_ptr<UplinkService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(UplinkServiceTest, CallsGoOutAsFramesAndRepliesComeBackById) {
  Answer before = Call(std::chrono::seconds(5)).get();
  EXPECT_EQ(before.status.error_code(), grpc::StatusCode::UNAVAILABLE) << "nothing dialed in";

  std::unique_ptr<Signer> signer = Attach("signer-1");
  ASSERT_TRUE(signer->stream->Write(Status(true)));
  pb::UplinkToSigner in;
  ASSERT_TRUE(signer->stream->Read(&in));
  ASSERT_TRUE(in.has_welcome());
  EXPECT_EQ(in.welcome().upstream(), "signer-1");
  EXPECT_TRUE(dial_in_->Status().connected);
  EXPECT_TRUE(dial_in_->Status().serving);
  EXPECT_EQ(dial_in_->Status().signer.history_id(), "history-1");

  std::future<Answer> answered = Call(std::chrono::seconds(10), "request-bytes");
  ASSERT_TRUE(signer->stream->Read(&in));
  ASSERT_TRUE(in.has_call());
  EXPECT_EQ(in.call().method(), kKeys);
  EXPECT_EQ(in.call().request(), "request-bytes");
  EXPECT_GT(in.call().timeout_ms(), 5'000u);
  // A reply for a call that is not in flight is dropped; the real one answers.
  pb::UplinkFromSigner reply;
  reply.mutable_reply()->set_call_id(in.call().call_id() + 100);
  reply.mutable_reply()->set_response("forged");
  ASSERT_TRUE(signer->stream->Write(reply));
  reply.mutable_reply()->set_call_id(in.call().call_id());
  reply.mutable_reply()->set_response("reply-bytes");
  ASSERT_TRUE(signer->stream->Write(reply));
  Answer answer = answered.get();
  EXPECT_TRUE(answer.status.ok()) << answer.status.error_message();
  EXPECT_EQ(answer.reply, "reply-bytes");

  // A refusal keeps its code, and an error never carries a reply.
  std::future<Answer> refused = Call(std::chrono::seconds(10));
  ASSERT_TRUE(signer->stream->Read(&in));
  reply.mutable_reply()->set_call_id(in.call().call_id());
  reply.mutable_reply()->set_code(static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  reply.mutable_reply()->set_message("refused_grandpa_equivocation");
  ASSERT_TRUE(signer->stream->Write(reply));
  answer = refused.get();
  EXPECT_EQ(answer.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(answer.reply, "");

  // A code outside gRPC's range is the signer's fault: INTERNAL, never OK.
  std::future<Answer> bogus = Call(std::chrono::seconds(10));
  ASSERT_TRUE(signer->stream->Read(&in));
  reply.mutable_reply()->set_call_id(in.call().call_id());
  reply.mutable_reply()->set_code(99);
  ASSERT_TRUE(signer->stream->Write(reply));
  EXPECT_EQ(bogus.get().status.error_code(), grpc::StatusCode::INTERNAL);

  // No answer before the deadline: the node's call ends and the signer is told to drop it.
  std::future<Answer> late = Call(std::chrono::milliseconds(200));
  ASSERT_TRUE(signer->stream->Read(&in));
  const uint64_t late_id = in.call().call_id();
  EXPECT_EQ(late.get().status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(signer->stream->Read(&in));
  ASSERT_TRUE(in.has_cancel());
  EXPECT_EQ(in.cancel().call_id(), late_id);

  // The signer vanishes mid-call: the call ends UNAVAILABLE (the forwarder's cue to fail over).
  std::future<Answer> orphan = Call(std::chrono::seconds(30));
  ASSERT_TRUE(signer->stream->Read(&in));
  signer->context.TryCancel();
  EXPECT_EQ(orphan.get().status.error_code(), grpc::StatusCode::UNAVAILABLE);
  for (int i = 0; i < 2000 && dial_in_->Status().connected; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_FALSE(dial_in_->Status().connected);
}

TEST_F(UplinkServiceTest, RefusesStrangersAndStreamsThatDoNotStartWithAStatus) {
  std::unique_ptr<Signer> stranger = Attach("stranger");
  stranger->stream->Write(Status(true));
  pb::UplinkToSigner in;
  EXPECT_FALSE(stranger->stream->Read(&in));
  EXPECT_EQ(stranger->stream->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_FALSE(dial_in_->Status().connected);

  std::unique_ptr<Signer> rude = Attach("signer-1");
  pb::UplinkFromSigner reply;
  reply.mutable_reply()->set_call_id(1);
  rude->stream->Write(reply);
  EXPECT_FALSE(rude->stream->Read(&in)) << "no welcome without a status first";
  rude->stream->Finish();
  EXPECT_FALSE(dial_in_->Status().connected);

  // A second stream of the same signer replaces the first, whose calls fail over.
  std::unique_ptr<Signer> first = Attach("signer-1");
  ASSERT_TRUE(first->stream->Write(Status(true)));
  ASSERT_TRUE(first->stream->Read(&in));
  std::future<Answer> pending = Call(std::chrono::seconds(30));
  ASSERT_TRUE(first->stream->Read(&in));
  std::unique_ptr<Signer> second = Attach("signer-1");
  ASSERT_TRUE(second->stream->Write(Status(false)));
  ASSERT_TRUE(second->stream->Read(&in));
  EXPECT_TRUE(in.has_welcome());
  EXPECT_EQ(pending.get().status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_FALSE(first->stream->Read(&in)) << "the replaced stream ends";
  EXPECT_TRUE(dial_in_->Status().connected);
  EXPECT_FALSE(dial_in_->Status().serving) << "the newer stream's status counts";
  second->context.TryCancel();
}

}  // namespace
}  // namespace gateway
