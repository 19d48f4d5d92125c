// The gRPC face of signerd: RemoteKeystore over the callback API, admission control and a worker
// pool.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
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
  // Dispatch admits the call, runs `work` on the pool with the caller's CallContext and finishes
  // the call with the status `work` returns.
  grpc::ServerUnaryReactor* Dispatch(Ctx* context, const char* method,
                                     std::function<grpc::Status(const CallContext&)> work);

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

 private:
  const std::function<base::Result<parity::polkadot::signer::DescribeReply>()> describe_;
};

}  // namespace signer
