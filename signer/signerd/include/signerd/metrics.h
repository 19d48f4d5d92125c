// signerd's Prometheus metric set, and the custody and audit decorators that feed it.
//
// Thread safety: everything here is thread-safe. Updating a metric is one or two atomic operations;
// the first use of a new label set takes a lock once. Render runs the scrape hooks and is
// serialised with itself.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "audit/audit_log.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "keymgr/custody.h"
#include "metrics/registry.h"
#include "signerd/replication.h"
#include "slashing/protector.h"
#include "threshold/threshold_custody.h"

namespace signer {

// CertificateExpiry is when the current server and CA certificates stop being valid.
struct CertificateExpiry {
  std::chrono::system_clock::time_point server_not_after;
  std::chrono::system_clock::time_point ca_not_after;
};

// SignerMetrics is signerd's metric set (docs/signerd.md lists every metric). It is the
// protector's DecisionObserver; the service, the custody and audit decorators below and the
// scrape-time sources feed the rest. Label values come only from bounded sets: RPC names and gRPC
// code names from our own code, domain and verdict names, custody operation names, and
// KeyTypeLabel.
class SignerMetrics final : public slashing::DecisionObserver {
 public:
  // Create registers every family. Fails only on a programming error in the names.
  [[nodiscard]] static base::Result<std::unique_ptr<SignerMetrics>> Create();

  MetricsRegistry& registry() { return registry_; }
  std::string Render() { return registry_.Render(); }

  // OnRequest counts one finished RPC by `method` and gRPC code name, and its latency from
  // admission to reply.
  void OnRequest(std::string_view method, std::string_view code, std::chrono::nanoseconds latency);
  // OnShed counts one RPC refused at admission (too many in flight); OnRequest is called too.
  void OnShed(std::string_view method);
  // OnDecision counts one protection decision by domain and verdict ("none" for an unprotected
  // request, "error" when the history failed) and its latency.
  void OnDecision(const slashing::DecisionEvent& event) override;
  // OnHsmError counts one custody call that failed with kUnavailable or kInternal.
  void OnHsmError(std::string_view operation);
  // OnAuditWriteFailure counts one audit line that could not be written.
  void OnAuditWriteFailure();
  // OnPolicyReload counts one SIGHUP policy reload by result ("ok" or "failed").
  void OnPolicyReload(bool ok);
  // SetKeysLoaded sets the keys-loaded gauge from a full custody listing.
  void SetKeysLoaded(std::span<const keymgr::KeyInfo> keys) EXCLUDES(keys_mutex_);
  // ObserveClaimRoundTrip records one own claim's time from produce to applied (Replication's
  // observer).
  void ObserveClaimRoundTrip(std::chrono::nanoseconds round_trip);

  // Scrape-time sources; each is called on the scraping thread and must outlive the registry's
  // last Render.
  void WatchInFlight(std::function<size_t()> in_flight);
  void WatchCertificates(std::function<CertificateExpiry()> expiry);
  void WatchReplication(std::function<ReplicationStats()> stats);
  // WatchThresholdAgents exposes a threshold coordinator's per-agent counts (shares received,
  // invalid shares, refusals, failures).
  void WatchThresholdAgents(std::function<std::vector<AgentStats>()> stats);

 private:
  SignerMetrics() = default;
  base::Status Register();

  MetricsRegistry registry_;
  Family<Counter>* requests_ = nullptr;
  Family<Histogram>* request_seconds_ = nullptr;
  Family<Counter>* shed_ = nullptr;
  Family<Gauge>* in_flight_ = nullptr;
  Family<Counter>* decisions_ = nullptr;
  Family<Histogram>* decision_seconds_ = nullptr;
  Family<Counter>* hsm_errors_ = nullptr;
  Family<Counter>* audit_failures_ = nullptr;
  Family<Counter>* policy_reloads_ = nullptr;
  Family<Gauge>* keys_loaded_ = nullptr;
  Family<Gauge>* certificate_expiry_ = nullptr;
  Family<Gauge>* replicated_ = nullptr;
  Family<Gauge>* consumer_lag_ = nullptr;
  Family<Counter>* claims_produced_ = nullptr;
  Family<Counter>* claim_outcomes_ = nullptr;
  Family<Counter>* records_applied_ = nullptr;
  Family<Counter>* audit_stream_ = nullptr;
  Family<Histogram>* claim_round_trip_seconds_ = nullptr;
  Family<Counter>* threshold_agent_events_ = nullptr;
  base::Mutex keys_mutex_;  // SetKeysLoaded resets types that disappeared
  std::vector<std::string> key_labels_ GUARDED_BY(keys_mutex_);
};

// KeysListingPause is how long the keys-loaded refresh waits, after a listing that took
// `listing_took`, before its next periodic listing: `interval`, or twenty times the listing when
// that is longer, so that on a large token (100,000 keys list in about 10 s on SoftHSM2) the gauge
// costs at most a twentieth of a core instead of a listing every interval.
std::chrono::milliseconds KeysListingPause(std::chrono::milliseconds interval,
                                           std::chrono::nanoseconds listing_took);

// MeteredCustody forwards every call to `inner` and counts its HSM errors (kUnavailable,
// kInternal) by operation. It also keeps the keys-loaded gauge, so that a scrape only reads memory
// and never competes with signing for an HSM session: StartRefreshingKeysLoaded lists the custody
// on a background thread after every successful Generate, Import or Delete made through this
// decorator, and periodically besides (KeysListingPause: every `interval` unless the token is
// large) for keys changed by other means (another process on the token), which therefore show
// within one pause. `inner` and `metrics` must outlive it. Thread-safe.
class MeteredCustody final : public keymgr::KeyCustody {
 public:
  MeteredCustody(keymgr::KeyCustody& inner, SignerMetrics& metrics);
  // The destructor stops the refresh thread, waiting for a listing in progress.
  ~MeteredCustody() override;
  MeteredCustody(const MeteredCustody&) = delete;
  MeteredCustody& operator=(const MeteredCustody&) = delete;

  // StartRefreshingKeysLoaded starts the background refresh described above; the first listing
  // runs at once. A failed listing is counted as an HSM error (operation "list"), leaves the gauge
  // as it was and is retried at the next change or interval. Calls after the first do nothing.
  void StartRefreshingKeysLoaded(std::chrono::milliseconds interval) EXCLUDES(refresh_mutex_);
  // keys_loaded_refreshes is how many listings have updated the gauge so far (tests wait on it).
  uint64_t keys_loaded_refreshes() const {
    return keys_loaded_refreshes_.load(std::memory_order_acquire);
  }
  // keys_listing_pause is the pause the refresh thread chose after its latest listing (0 before
  // the first; tests read it).
  std::chrono::milliseconds keys_listing_pause() const {
    return std::chrono::milliseconds(keys_listing_pause_ms_.load());
  }

  // RefreshKeysLoaded re-lists the custody now, on the calling thread, if its keys may have
  // changed through this decorator since the last listing. For tools without the refresh thread;
  // never call it from a scrape.
  void RefreshKeysLoaded();

  base::Result<std::vector<keymgr::KeyInfo>> List() override;
  base::Result<keymgr::KeyInfo> Generate(const base::KeyTypeId& key_type,
                                         base::Scheme scheme) override;
  base::Result<keymgr::KeyInfo> Import(const base::KeyTypeId& key_type,
                                       const keymgr::Keypair& pair) override;
  base::Status Delete(const keymgr::KeyId& id) override;
  base::Result<bool> Holds(const keymgr::KeyId& id) override;
  base::Result<std::vector<uint8_t>> Sign(const keymgr::KeyId& id, base::Scheme scheme,
                                          std::span<const uint8_t> message) override;
  base::Result<std::vector<uint8_t>> SignBound(
      const keymgr::KeyId& id, base::Scheme scheme, std::span<const uint8_t> message,
      std::optional<std::span<const uint8_t>> preimage) override;
  base::Result<keymgr::EcdsaSignature> EcdsaSignPrehashed(const keymgr::KeyId& id,
                                                          std::span<const uint8_t> digest) override;
  base::Result<keymgr::Sr25519VrfSignature> VrfSign(
      const keymgr::KeyId& id, const keymgr::VrfTranscriptData& input,
      const std::optional<keymgr::VrfTranscriptData>& extra) override;
  base::Result<keymgr::Sr25519VrfPreOutput> VrfPreOutput(
      const keymgr::KeyId& id, const keymgr::VrfTranscriptData& input) override;

 private:
  void Count(std::string_view operation, const base::Status& status);
  // KeysChanged marks the gauge stale and wakes the refresh thread.
  void KeysChanged() EXCLUDES(refresh_mutex_);
  // ListKeysLoaded lists the custody and sets the gauge; false if the listing failed.
  bool ListKeysLoaded();
  void RefreshLoop(std::chrono::milliseconds interval) EXCLUDES(refresh_mutex_);

  keymgr::KeyCustody& inner_;
  SignerMetrics& metrics_;
  std::atomic<bool> keys_changed_{true};
  std::atomic<uint64_t> keys_loaded_refreshes_{0};
  std::atomic<int64_t> keys_listing_pause_ms_{0};
  base::Mutex refresh_mutex_;
  base::CondVar refresh_wake_;
  bool refresh_requested_ GUARDED_BY(refresh_mutex_) = false;
  bool refresh_stop_ GUARDED_BY(refresh_mutex_) = false;
  // Started by StartRefreshingKeysLoaded under refresh_mutex_; joined by the destructor without it
  // (the thread takes the lock), so it is not GUARDED_BY.
  std::thread refresh_thread_;
};

// MeteredAuditSink forwards to `inner` and counts the appends that fail. Both must outlive it.
class MeteredAuditSink final : public AuditSink {
 public:
  MeteredAuditSink(AuditSink& inner, SignerMetrics& metrics) : inner_(inner), metrics_(metrics) {}
  base::Status Append(const AuditRecord& record) override;

 private:
  AuditSink& inner_;
  SignerMetrics& metrics_;
};

}  // namespace signer
