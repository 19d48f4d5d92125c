// The pool of signers behind the gateway: health, history identity, and which signers may serve.
#pragma once

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "base/thread_annotations.h"
#include "gateway/config.h"
#include "gateway/uplink.h"

namespace gateway {

// Upstream is one signer: the channel the gateway dials, or (`dial_in`) the stream the signer
// dialed in on. Exactly one of `stub` and `dial_in` is set.
struct Upstream {
  UpstreamConfig config;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  std::shared_ptr<DialIn> dial_in;
};

// UpstreamState is what the pool knows about one signer after its last check.
struct UpstreamState {
  bool eligible = false;
  std::string reason;  // why not eligible ("" when eligible)
  std::string signer_id;
  std::string history_kind;
  std::string history_id;
};

// UpstreamPool decides which signers may serve the node. A signer is eligible when its gRPC health
// is SERVING (a replicated signer still catching up is not) and it reports the pool's history
// (SignerInfo.Describe). The pool's history is pinned by configuration or adopted once, then
// remembered (GatewayConfig::history_id / state_dir): requests never go to a signer of another
// history, because that signer has never seen what the pool signed and would sign a conflicting
// message (docs/gateway.md). A standalone history has exactly one signer, so among signers that
// report the same standalone history only the first is eligible (a copied store is two histories
// that merely share an id). Thread-safe.
class UpstreamPool {
 public:
  // Create opens a channel per upstream with `credentials`. Fails with kFailedPrecondition when
  // the remembered history cannot be read.
  static base::Result<std::unique_ptr<UpstreamPool>> Create(
      const GatewayConfig& config, const std::shared_ptr<grpc::ChannelCredentials>& credentials);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // CheckAll asks every signer for health and history once (each call bounded by about a
  // second) and updates who is eligible; changes are written to stderr.
  void CheckAll();
  // StartChecking runs CheckAll every health interval on a thread of its own until destruction.
  void StartChecking();

  // Candidates returns the eligible signers, the one that served last first (a node's requests
  // stay on one signer while it works), then the others in configuration order.
  // Each candidate stays valid while held, even if a reload removes it from the pool.
  std::vector<std::shared_ptr<const Upstream>> Candidates();
  // ReportFailure moves the preference away from `upstream` after UNAVAILABLE and marks it not
  // eligible until its next check passes.
  void ReportFailure(const Upstream* upstream, const std::string& why);
  // ReportSuccess keeps `upstream` first.
  void ReportSuccess(const Upstream* upstream);

  // Describe summarises why nothing is eligible, for the node's UNAVAILABLE message.
  std::string Summary();
  // States returns each upstream's name and state, in configuration order (metrics, tests).
  std::vector<std::pair<std::string, UpstreamState>> States();
  // PoolHistory is the pool's history id, "" before one is adopted.
  std::string PoolHistory();
  // FindDialIn is the dial-in signer whose certificate identity is `identity`, nullptr if none.
  std::shared_ptr<DialIn> FindDialIn(const std::string& identity);
  // Reload replaces the list of signers with `upstreams` (a configuration re-read on SIGHUP):
  // entries unchanged in every field keep their channel or stream and their state; new ones start
  // not eligible until their first check (which runs at once); removed ones leave the pool, while
  // calls already sent to them finish (their attempts hold them); a removed dial-in signer's stream
  // is ended. The pool's history is unchanged. Returns what changed, for the log.
  std::string Reload(const std::vector<UpstreamConfig>& upstreams);
  // CheckSoon wakes the checker thread for a round now (a dial-in signer came, went or changed).
  void CheckSoon() EXCLUDES(stop_mutex_);

 private:
  // WaitForNextCheck sleeps until `interval` has passed, CheckSoon was called or the pool is being
  // destroyed; true for the last, when the checker must end.
  bool WaitForNextCheck(std::chrono::milliseconds interval) EXCLUDES(stop_mutex_);
  UpstreamPool(const GatewayConfig& config, std::shared_ptr<grpc::ChannelCredentials> credentials,
               std::vector<std::shared_ptr<Upstream>> upstreams, std::string history,
               std::string standalone_owner);
  static std::shared_ptr<Upstream> MakeUpstream(
      const UpstreamConfig& upstream_config,
      const std::shared_ptr<grpc::ChannelCredentials>& credentials);
  UpstreamState Check(const Upstream& upstream);
  base::Status AdoptHistory(const std::string& history_id) REQUIRES(mutex_);
  base::Status AdoptStandaloneOwner(const std::string& upstream_name) REQUIRES(mutex_);

  const GatewayConfig config_;  // as at start; a reload changes only the upstream list
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  base::Mutex mutex_;
  std::vector<std::shared_ptr<Upstream>> upstreams_ GUARDED_BY(mutex_);
  std::string history_ GUARDED_BY(mutex_);
  // The one upstream (by name) that may serve a standalone pool history, for good: a second
  // signer reporting the same standalone id is a copied store, and must never be failed over to,
  // not even while the first is down (docs/gateway.md).
  std::string standalone_owner_ GUARDED_BY(mutex_);
  std::vector<UpstreamState> states_ GUARDED_BY(mutex_);
  size_t preferred_ GUARDED_BY(mutex_) = 0;
  // The checker thread's sleep and what ends it early.
  base::Mutex stop_mutex_;
  bool stopping_ GUARDED_BY(stop_mutex_) = false;
  bool check_soon_ GUARDED_BY(stop_mutex_) = false;
  base::CondVar wake_;
  std::thread checker_;
};

}  // namespace gateway
