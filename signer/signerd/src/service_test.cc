// KeystoreService tests: overload is shed with RESOURCE_EXHAUSTED, expired requests never run, and
// every call is counted in the request metrics.
#include "signerd/service_grpc.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "support/in_memory_custody.h"
#include "support/memory_protection.h"

namespace signer {
namespace {

namespace pb = parity::polkadot::signer;

class CountingAudit final : public AuditSink {
 public:
  base::Status Append(const AuditRecord& record) override {
    std::lock_guard<std::mutex> lock(mutex);
    verdicts.push_back(record.verdict);
    return base::Status::Ok();
  }
  std::mutex mutex;
  std::vector<std::string> verdicts;
};

TEST(KeystoreServiceTest, ShedsOverloadAndSkipsExpiredRequests) {
  keymgr::InMemoryCustody custody;
  support::MemoryProtection protection;
  auto policy = Policy::Parse("identities: {}");
  ASSERT_TRUE(policy.ok());
  CountingAudit audit;
  Pipeline pipeline(PipelineDeps{custody, protection.protector, *policy, audit, protection.clock});
  WorkerPool pool(1);
  auto metrics = SignerMetrics::Create();
  ASSERT_TRUE(metrics.ok());
  KeystoreService service(pipeline, pool, ServiceLimits{2, std::chrono::milliseconds(10'000)},
                          metrics->get());

  // Plaintext is fine here: without a certificate the caller has no identity, so every call that
  // runs is denied, which is exactly what tells a call that ran from one that was shed or skipped.
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_TRUE(server && port > 0);
  auto stub = pb::RemoteKeystore::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));

  // Occupy the only worker so admitted calls stay queued.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  pool.Submit([released] { released.wait(); });

  pb::SignWithRequest request;
  request.set_key_type("gran");
  request.set_crypto_type("ed25519");
  request.set_public_key(std::string(32, '\x01'));
  request.set_message("m");

  grpc::ClientContext patient_context;
  pb::SignWithReply patient_reply;
  std::promise<grpc::Status> patient_done;
  stub->async()->SignWith(&patient_context, &request, &patient_reply,
                          [&](grpc::Status status) { patient_done.set_value(status); });

  grpc::ClientContext hasty_context;
  hasty_context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  pb::SignWithReply hasty_reply;
  std::promise<grpc::Status> hasty_done;
  stub->async()->SignWith(&hasty_context, &request, &hasty_reply,
                          [&](grpc::Status status) { hasty_done.set_value(status); });

  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (service.in_flight() < 2 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(service.in_flight(), 2u);

  {
    grpc::ClientContext context;
    pb::SignWithReply reply;
    EXPECT_EQ(stub->SignWith(&context, request, &reply).error_code(),
              grpc::StatusCode::RESOURCE_EXHAUSTED);
  }

  // Let the hasty call's deadline pass while it is still queued, then free the worker.
  auto hasty_status = hasty_done.get_future().get();
  EXPECT_EQ(hasty_status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server's copy of the deadline starts when the request arrives, a little after the client's,
  // and the client's cancellation reaches it asynchronously: give both time to land.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  release.set_value();
  EXPECT_EQ(patient_done.get_future().get().error_code(), grpc::StatusCode::PERMISSION_DENIED);

  while (service.in_flight() > 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(service.in_flight(), 0u);
  // Only the patient call reached the pipeline: the shed and the expired ones left no audit line.
  std::lock_guard<std::mutex> lock(audit.mutex);
  EXPECT_EQ(audit.verdicts, std::vector<std::string>{"denied"});
  // Each of the three calls is counted once by its code; the shed one also as shed.
  const std::string text = (*metrics)->Render();
  for (const char* code : {"RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED", "PERMISSION_DENIED"}) {
    const std::string series =
        std::string("signer_requests_total{method=\"SignWith\",code=\"") + code + "\"} 1\n";
    EXPECT_NE(text.find(series), std::string::npos) << code << "\n" << text;
  }
  EXPECT_NE(text.find("signer_requests_shed_total{method=\"SignWith\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("signer_request_duration_seconds_count{method=\"SignWith\"} 3\n"),
            std::string::npos);
  EXPECT_EQ(text.find("code=\"OK\""), std::string::npos);
  server->Shutdown();
}

// SecretFieldProbe is a server interceptor that keeps the received request and, when the status
// is about to go out (the handler is done with the request, which gRPC still owns), reads the
// field `field_name` of it: what a later reader of that memory would find.
class SecretFieldProbe final : public grpc::experimental::Interceptor {
 public:
  SecretFieldProbe(std::string field_name, std::mutex& mutex, std::vector<std::string>& seen)
      : field_name_(std::move(field_name)), mutex_(mutex), seen_(seen) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using Hook = grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_MESSAGE)) {
      request_ = static_cast<const google::protobuf::Message*>(methods->GetRecvMessage());
    }
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS) && request_ != nullptr) {
      const google::protobuf::FieldDescriptor* field =
          request_->GetDescriptor()->FindFieldByName(field_name_);
      if (field != nullptr) {
        std::lock_guard lock(mutex_);
        seen_.push_back(request_->GetReflection()->GetString(*request_, field));
      }
    }
    methods->Proceed();
  }

 private:
  const std::string field_name_;
  std::mutex& mutex_;
  std::vector<std::string>& seen_;
  const google::protobuf::Message* request_ = nullptr;
};

class SecretFieldProbeFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const std::string method = info->method();
    const bool generate = method.ends_with("GenerateNew");
    if (!generate && !method.ends_with("/Insert")) return nullptr;
    return new SecretFieldProbe(generate ? "seed" : "suri", mutex, seen);
  }
  std::mutex mutex;
  std::vector<std::string> seen;
};

TEST(KeystoreServiceTest, SeedsAndSurisAreWipedFromTheRequestOnceUsed) {
  keymgr::InMemoryCustody custody;
  support::MemoryProtection protection;
  // A caller without a certificate is denied everything: the secret must be wiped all the same.
  auto policy = Policy::Parse("identities: {}");
  ASSERT_TRUE(policy.ok());
  CountingAudit audit;
  WorkerPool pool(1);
  auto probes = std::make_unique<SecretFieldProbeFactory>();
  SecretFieldProbeFactory* probe = probes.get();
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(std::move(probes));
  Pipeline pipeline(PipelineDeps{custody, protection.protector, *policy, audit, protection.clock});
  KeystoreService service(pipeline, pool, ServiceLimits{4, std::chrono::milliseconds(10'000)});
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  builder.experimental().SetInterceptorCreators(std::move(creators));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_TRUE(server && port > 0);
  auto stub = pb::RemoteKeystore::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));

  const std::string seed = "//Alice//stash";
  {
    pb::Ed25519GenerateNewRequest request;
    request.set_key_type("acco");
    request.set_seed(seed);
    pb::Ed25519GenerateNewReply reply;
    grpc::ClientContext context;
    (void)stub->Ed25519GenerateNew(&context, request, &reply);
  }
  {
    pb::Sr25519GenerateNewRequest request;
    request.set_key_type("acco");
    request.set_seed(seed);
    pb::Sr25519GenerateNewReply reply;
    grpc::ClientContext context;
    (void)stub->Sr25519GenerateNew(&context, request, &reply);
  }
  {
    pb::InsertRequest request;
    request.set_key_type("acco");
    request.set_suri(seed);
    request.set_public_key(std::string(32, '\x01'));
    pb::InsertReply reply;
    grpc::ClientContext context;
    (void)stub->Insert(&context, request, &reply);
  }
  server->Shutdown();
  std::lock_guard lock(probe->mutex);
  ASSERT_EQ(probe->seen.size(), 3u);
  for (const std::string& left : probe->seen) {
    EXPECT_EQ(left, std::string(seed.size(), '\0'));
  }
}

TEST(KeystoreServiceTest, GrpcCodeNamesAreTheCanonicalOnes) {
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::FAILED_PRECONDITION), "FAILED_PRECONDITION");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
}

TEST(KeystoreServiceTest, StatusMappingIsTheDocumentedOne) {
  EXPECT_TRUE(ToGrpcStatus(ReplyCode::kOk, "").ok());
  EXPECT_TRUE(ToGrpcStatus(ReplyCode::kPairNotFound, "").ok());
  EXPECT_EQ(ToGrpcStatus(ReplyCode::kRefused, "x").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ToGrpcStatus(ReplyCode::kInvalidArgument, "x").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ToGrpcStatus(ReplyCode::kPermissionDenied, "x").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ToGrpcStatus(ReplyCode::kResourceExhausted, "x").error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ToGrpcStatus(ReplyCode::kUnavailable, "x").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ToGrpcStatus(ReplyCode::kInternal, "x").error_code(), grpc::StatusCode::INTERNAL);
}

}  // namespace
}  // namespace signer
