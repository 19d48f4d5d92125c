// The node's side of the gateway: every RemoteKeystore call, forwarded to the pool or answered
// from the key cache, with failover only where it is safe.
#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/support/byte_buffer.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/thread_annotations.h"
#include "gateway/pool.h"
#include "metrics/registry.h"

namespace gateway {

// KeyCache answers the node's key look-ups (the *PublicKeys methods, Keys, HasKeys) without a
// round trip: replies are kept per (method, request bytes) for `ttl` and dropped whenever a key
// may have changed (a successful Insert or *GenerateNew through this gateway), so a look-up is at
// most `ttl` stale about keys changed elsewhere (by signerctl on a signer). At most `max_entries`
// requests and `max_bytes` of keys and replies are kept; the oldest goes first, and an entry
// larger than kMaxEntryBytes is never kept (a node's look-ups are a few hundred bytes; a caller
// padding its requests must not fill the gateway's memory). ttl 0 turns it off. Thread-safe.
class KeyCache {
 public:
  static constexpr size_t kMaxEntryBytes = 64 << 10;

  KeyCache(std::chrono::milliseconds ttl, size_t max_entries, size_t max_bytes = 16 << 20)
      : ttl_(ttl), max_(max_entries), max_bytes_(max_bytes) {}

  static bool Caches(std::string_view method);
  static bool ChangesKeys(std::string_view method);

  bool Lookup(const std::string& method, const std::string& request, std::string& reply);
  // Generation changes at every Clear. A look-up's reply is stored with the generation read
  // before the look-up was sent: a reply that left a signer before a key change, and arrived
  // after the change cleared the cache, is then not stored.
  uint64_t Generation();
  void Store(const std::string& method, const std::string& request, std::string reply,
             uint64_t generation);
  void Clear();

 private:
  struct Entry {
    std::string reply;
    std::chrono::steady_clock::time_point stored;
  };
  using Entries = std::map<std::string, Entry>;
  void Erase(Entries::iterator entry) REQUIRES(mutex_);

  const std::chrono::milliseconds ttl_;
  const size_t max_;
  const size_t max_bytes_;
  base::Mutex mutex_;
  Entries entries_ GUARDED_BY(mutex_);
  size_t bytes_ GUARDED_BY(mutex_) = 0;
  uint64_t generation_ GUARDED_BY(mutex_) = 0;
};

// GatewayMetrics is the gateway's metric set (docs/gateway.md lists it).
struct GatewayMetrics {
  static base::Result<std::unique_ptr<GatewayMetrics>> Create(UpstreamPool& pool);

  signer::MetricsRegistry registry;
  signer::Family<signer::Counter>* requests = nullptr;            // {method, code}
  signer::Family<signer::Histogram>* request_seconds = nullptr;   // {method}
  signer::Family<signer::Histogram>* upstream_seconds = nullptr;  // {upstream}
  signer::Family<signer::Counter>* failovers = nullptr;           // {upstream}
  signer::Family<signer::Counter>* hedges = nullptr;              // {outcome}
  signer::Family<signer::Counter>* cache = nullptr;               // {result}
  signer::Family<signer::Gauge>* eligible = nullptr;              // {upstream}
  signer::Gauge* in_flight = nullptr;                             // node calls not answered yet
};

// HedgeOptions: when a signing call is also sent to a second signer (see Forwarder), and how
// often at most.
struct HedgeOptions {
  std::chrono::milliseconds delay{0};  // 0: never hedge
  int budget_percent = 10;             // of signing calls
};

// HedgeBudget lets at most `percent` of signing calls be hedged: each call earns percent/100 of a
// hedge, a hedge spends one, and at most 10 can be saved up (a burst after a quiet spell).
// Thread-safe.
class HedgeBudget {
 public:
  explicit HedgeBudget(int percent) : per_call_(percent / 100.0) {}
  void Earn();
  bool Spend();

 private:
  const double per_call_;
  base::Mutex mutex_;
  double saved_ GUARDED_BY(mutex_) = 0;
};

// Forwarder is a generic gRPC service: it passes each RemoteKeystore call's bytes to a signer of
// the pool untouched and returns the signer's reply and status. A call moves to the next eligible
// signer only when the current one is unreachable or answers UNAVAILABLE (nothing was signed
// then, and every signer of the pool shares one history, so a second try is judged by the same
// rule); every other answer, FAILED_PRECONDITION (a refusal) above all, goes back to the node as
// it is. With hedging on, a signing call still unanswered after the hedge delay is also sent to
// the next eligible signer and the first answer that is not UNAVAILABLE is the node's (the other
// call is cancelled). This is safe for the same reason failover is: one history judges both, so
// the second is a re-sign of the same statement or the same refusal. Methods outside
// RemoteKeystore are UNIMPLEMENTED. Thread-safe.
class Forwarder final : public grpc::CallbackGenericService {
 public:
  // `callers`: the client identities admitted (their certificates' identity); empty admits every
  // caller the listener's transport admits (a Unix socket's permissions, or any certificate of the
  // TCP listener's client CA).
  Forwarder(UpstreamPool& pool, KeyCache& cache, GatewayMetrics& metrics,
            std::chrono::milliseconds upstream_timeout, HedgeOptions hedge = {},
            std::vector<std::string> callers = {})
      : pool_(pool),
        cache_(cache),
        metrics_(metrics),
        upstream_timeout_(upstream_timeout),
        hedge_(hedge),
        hedge_budget_(hedge.budget_percent),
        callers_(callers.begin(), callers.end()) {}

  // Admits says whether a call with this auth context may be forwarded.
  bool Admits(const grpc::AuthContext& context) const;

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override;

  // Done receives a call's final status and reply bytes.
  using Done = std::function<void(grpc::Status, std::string)>;
  // Handle answers one call (the reactor's work; public for tests that have no transport).
  void Handle(const std::string& method, std::string request,
              std::chrono::system_clock::time_point deadline, Done done);

 private:
  struct Attempt;
  struct Leg;
  // StartLeg sends the call to the next candidate; false when none is left or it is answered.
  bool StartLeg(const std::shared_ptr<Attempt>& attempt, bool hedge);
  void OnLegDone(const std::shared_ptr<Attempt>& attempt, Leg* leg, const grpc::Status& status);
  void ArmHedge(const std::shared_ptr<Attempt>& attempt);

  UpstreamPool& pool_;
  KeyCache& cache_;
  GatewayMetrics& metrics_;
  const std::chrono::milliseconds upstream_timeout_;
  const HedgeOptions hedge_;
  HedgeBudget hedge_budget_;
  const std::set<std::string> callers_;
};

// Hedges is true for the methods whose calls may be hedged: the ones that sign (and the VRF
// pre-output), never key generation or import.
bool Hedges(std::string_view method);

// MethodLabel is the method's short name when it is a RemoteKeystore method, "other" otherwise
// (a client can send any path; labels stay bounded).
std::string_view MethodLabel(std::string_view method);

}  // namespace gateway
