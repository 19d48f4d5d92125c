// The gRPC face of signerd: RemoteKeystore over the callback API, admission control and a worker
// pool.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/status.h"
#include "base/thread_annotations.h"
#include "remote_keystore.grpc.pb.h"
#include "signerd/metrics.h"
#include "signerd/pipeline_core.h"

namespace signer {

// WorkerPool runs jobs on a fixed number of threads, so crypto, HSM and history calls never run on
// gRPC's own threads. The queue needs no bound of its own: admission (max in flight) bounds it.
// Thread-safe. The destructor runs every job still queued (each finishes an admitted call), then
// joins the threads.
class WorkerPool {
 public:
  explicit WorkerPool(size_t threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Submit(std::function<void()> job) EXCLUDES(mutex_);

 private:
  void Loop() EXCLUDES(mutex_);

  base::Mutex mutex_;
  base::CondVar wake_;
  std::deque<std::function<void()>> jobs_ GUARDED_BY(mutex_);
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

// ServiceLimits are the overload and deadline rules of docs/signerd.md.
struct ServiceLimits {
  size_t max_in_flight = 256;
  std::chrono::milliseconds max_deadline{10'000};
};

// ToGrpcStatus is the one place a ReplyCode becomes a grpc::Status (docs/api.md). kPairNotFound
// maps to OK: the reply's error field carries it.
grpc::Status ToGrpcStatus(ReplyCode code, const std::string& message);

// SerializedCall is one RemoteKeystore call as bytes, arriving other than through this server's
// listener: a signer's uplink stream to its gateway (signerd/uplink_client.h).
struct SerializedCall {
  std::string method;   // full gRPC name, "/parity.polkadot.signer.RemoteKeystore/SignWith"
  std::string request;  // the serialized request message
  // The caller as its TLS connection authenticated it (the gateway's certificate on an uplink);
  // never read from the call's bytes or metadata. Empty is denied by the policy.
  std::string identity;
  std::chrono::system_clock::time_point deadline;
  std::function<bool()> cancelled;  // asked once before the call starts; may be empty
};
// SerializedDone receives a serialized call's status and, when OK, its serialized reply.
using SerializedDone = std::function<void(const grpc::Status& status, std::string reply)>;

// KeystoreService implements RemoteKeystore. Each call: the identity comes from the verified client
// certificate (none means an empty identity, which the policy denies); above max_in_flight the call
// is shed with RESOURCE_EXHAUSTED; otherwise it runs on the pool, and a call whose deadline passed
// while queued ends with DEADLINE_EXCEEDED without touching any key. Every call, shed ones
// included, is counted in `metrics` (when given) by method and code with its latency. Thread-safe;
// `pipeline`, `pool` and `metrics` must outlive the server.
class KeystoreService final : public parity::polkadot::signer::RemoteKeystore::CallbackService {
 public:
  KeystoreService(Pipeline& pipeline, WorkerPool& pool, ServiceLimits limits,
                  SignerMetrics* metrics = nullptr);

  size_t in_flight() const { return in_flight_.load(); }

  // CallSerialized runs `call` through the same admission, worker pool, metrics and method bodies
  // as a call on the listener, so a call over an uplink takes the one pipeline (authorize, decode,
  // decide, sign, audit) with `call.identity`. `done` runs once: inline for a method outside
  // RemoteKeystore (UNIMPLEMENTED), a request that does not parse (INVALID_ARGUMENT) or a shed call
  // (RESOURCE_EXHAUSTED), otherwise on a worker thread.
  void CallSerialized(SerializedCall call, SerializedDone done);

  using Ctx = grpc::CallbackServerContext;
  grpc::ServerUnaryReactor* Sr25519PublicKeys(
      Ctx* context, const parity::polkadot::signer::Sr25519PublicKeysRequest* request,
      parity::polkadot::signer::Sr25519PublicKeysReply* reply) override;
  grpc::ServerUnaryReactor* Sr25519GenerateNew(
      Ctx* context, const parity::polkadot::signer::Sr25519GenerateNewRequest* request,
      parity::polkadot::signer::Sr25519GenerateNewReply* reply) override;
  grpc::ServerUnaryReactor* Sr25519VrfSign(
      Ctx* context, const parity::polkadot::signer::Sr25519VrfSignRequest* request,
      parity::polkadot::signer::Sr25519VrfSignReply* reply) override;
  grpc::ServerUnaryReactor* Ed25519PublicKeys(
      Ctx* context, const parity::polkadot::signer::Ed25519PublicKeysRequest* request,
      parity::polkadot::signer::Ed25519PublicKeysReply* reply) override;
  grpc::ServerUnaryReactor* Ed25519GenerateNew(
      Ctx* context, const parity::polkadot::signer::Ed25519GenerateNewRequest* request,
      parity::polkadot::signer::Ed25519GenerateNewReply* reply) override;
  grpc::ServerUnaryReactor* EcdsaPublicKeys(
      Ctx* context, const parity::polkadot::signer::EcdsaPublicKeysRequest* request,
      parity::polkadot::signer::EcdsaPublicKeysReply* reply) override;
  grpc::ServerUnaryReactor* EcdsaGenerateNew(
      Ctx* context, const parity::polkadot::signer::EcdsaGenerateNewRequest* request,
      parity::polkadot::signer::EcdsaGenerateNewReply* reply) override;
  grpc::ServerUnaryReactor* SignWithAny(Ctx* context,
                                        const parity::polkadot::signer::SignWithAnyRequest* request,
                                        parity::polkadot::signer::SignWithAnyReply* reply) override;
  grpc::ServerUnaryReactor* SignWith(Ctx* context,
                                     const parity::polkadot::signer::SignWithRequest* request,
                                     parity::polkadot::signer::SignWithReply* reply) override;
  grpc::ServerUnaryReactor* SignWithAll(Ctx* context,
                                        const parity::polkadot::signer::SignWithAllRequest* request,
                                        parity::polkadot::signer::SignWithAllReply* reply) override;
  grpc::ServerUnaryReactor* Sr25519VrfPreOutput(
      Ctx* context, const parity::polkadot::signer::Sr25519VrfPreOutputRequest* request,
      parity::polkadot::signer::Sr25519VrfPreOutputReply* reply) override;
  grpc::ServerUnaryReactor* EcdsaSignPrehashed(
      Ctx* context, const parity::polkadot::signer::EcdsaSignPrehashedRequest* request,
      parity::polkadot::signer::EcdsaSignPrehashedReply* reply) override;
  grpc::ServerUnaryReactor* Insert(Ctx* context,
                                   const parity::polkadot::signer::InsertRequest* request,
                                   parity::polkadot::signer::InsertReply* reply) override;
  grpc::ServerUnaryReactor* Keys(Ctx* context, const parity::polkadot::signer::KeysRequest* request,
                                 parity::polkadot::signer::KeysReply* reply) override;
  grpc::ServerUnaryReactor* HasKeys(Ctx* context,
                                    const parity::polkadot::signer::HasKeysRequest* request,
                                    parity::polkadot::signer::HasKeysReply* reply) override;

 private:
  using Work = std::function<grpc::Status(const CallContext&)>;
  using Finish = std::function<void(const grpc::Status&)>;
  template <typename Request, typename Reply>
  using MethodBody = grpc::Status (KeystoreService::*)(const CallContext&, const Request*, Reply*);

  // Admit sheds the call above max_in_flight, or runs `work` on the pool with `call` unless it is
  // cancelled or its deadline (capped at max_deadline) passed while queued, and gives the status
  // to `finish`. Every call is counted in the metrics by method and code.
  void Admit(const char* method, CallContext call, std::chrono::system_clock::time_point deadline,
             std::function<bool()> cancelled, Work work, Finish finish);
  // Dispatch admits a call of the listener with the identity of its verified client certificate.
  grpc::ServerUnaryReactor* Dispatch(Ctx* context, const char* method, Work work);
  template <typename Request, typename Reply>
  void AdmitSerialized(const char* method, MethodBody<Request, Reply> body, SerializedCall call,
                       SerializedDone done);

  // The method bodies, one per RemoteKeystore method, shared by the listener and CallSerialized.
  grpc::Status RunSr25519PublicKeys(
      const CallContext& call, const parity::polkadot::signer::Sr25519PublicKeysRequest* request,
      parity::polkadot::signer::Sr25519PublicKeysReply* reply);
  grpc::Status RunEd25519PublicKeys(
      const CallContext& call, const parity::polkadot::signer::Ed25519PublicKeysRequest* request,
      parity::polkadot::signer::Ed25519PublicKeysReply* reply);
  grpc::Status RunEcdsaPublicKeys(const CallContext& call,
                                  const parity::polkadot::signer::EcdsaPublicKeysRequest* request,
                                  parity::polkadot::signer::EcdsaPublicKeysReply* reply);
  grpc::Status RunKeys(const CallContext& call,
                       const parity::polkadot::signer::KeysRequest* request,
                       parity::polkadot::signer::KeysReply* reply);
  grpc::Status RunSr25519GenerateNew(
      const CallContext& call, const parity::polkadot::signer::Sr25519GenerateNewRequest* request,
      parity::polkadot::signer::Sr25519GenerateNewReply* reply);
  grpc::Status RunEd25519GenerateNew(
      const CallContext& call, const parity::polkadot::signer::Ed25519GenerateNewRequest* request,
      parity::polkadot::signer::Ed25519GenerateNewReply* reply);
  grpc::Status RunEcdsaGenerateNew(const CallContext& call,
                                   const parity::polkadot::signer::EcdsaGenerateNewRequest* request,
                                   parity::polkadot::signer::EcdsaGenerateNewReply* reply);
  grpc::Status RunSr25519VrfSign(const CallContext& call,
                                 const parity::polkadot::signer::Sr25519VrfSignRequest* request,
                                 parity::polkadot::signer::Sr25519VrfSignReply* reply);
  grpc::Status RunSr25519VrfPreOutput(
      const CallContext& call, const parity::polkadot::signer::Sr25519VrfPreOutputRequest* request,
      parity::polkadot::signer::Sr25519VrfPreOutputReply* reply);
  grpc::Status RunSignWith(const CallContext& call,
                           const parity::polkadot::signer::SignWithRequest* request,
                           parity::polkadot::signer::SignWithReply* reply);
  grpc::Status RunSignWithAny(const CallContext& call,
                              const parity::polkadot::signer::SignWithAnyRequest* request,
                              parity::polkadot::signer::SignWithAnyReply* reply);
  grpc::Status RunSignWithAll(const CallContext& call,
                              const parity::polkadot::signer::SignWithAllRequest* request,
                              parity::polkadot::signer::SignWithAllReply* reply);
  grpc::Status RunEcdsaSignPrehashed(
      const CallContext& call, const parity::polkadot::signer::EcdsaSignPrehashedRequest* request,
      parity::polkadot::signer::EcdsaSignPrehashedReply* reply);
  grpc::Status RunInsert(const CallContext& call,
                         const parity::polkadot::signer::InsertRequest* request,
                         parity::polkadot::signer::InsertReply* reply);
  grpc::Status RunHasKeys(const CallContext& call,
                          const parity::polkadot::signer::HasKeysRequest* request,
                          parity::polkadot::signer::HasKeysReply* reply);

  Pipeline& pipeline_;
  WorkerPool& pool_;
  const ServiceLimits limits_;
  SignerMetrics* const metrics_;
  std::atomic<size_t> in_flight_{0};
};

// SignerInfoService answers SignerInfo.Describe with what `describe` returns (the daemon builds it
// from its config and its replication's history identity); an error becomes UNAVAILABLE, so a
// gateway leaves the signer out of its pool until it can say which history it uses. Read-only and
// cheap, so it runs on gRPC's thread. Thread-safe if `describe` is.
class SignerInfoService final : public parity::polkadot::signer::SignerInfo::CallbackService {
 public:
  explicit SignerInfoService(
      std::function<base::Result<parity::polkadot::signer::DescribeReply>()> describe)
      : describe_(std::move(describe)) {}

  grpc::ServerUnaryReactor* Describe(grpc::CallbackServerContext* context,
                                     const parity::polkadot::signer::DescribeRequest* request,
                                     parity::polkadot::signer::DescribeReply* reply) override;
  // DescribeNow is Describe's answer without a call (a signer's uplink status frame).
  base::Result<parity::polkadot::signer::DescribeReply> DescribeNow() const { return describe_(); }

 private:
  const std::function<base::Result<parity::polkadot::signer::DescribeReply>()> describe_;
};

}  // namespace signer
