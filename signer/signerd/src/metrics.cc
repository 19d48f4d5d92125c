// signerd's metric set and the custody and audit decorators that feed it.
#include "signerd/metrics.h"

#include <algorithm>
#include <array>
#include <utility>

namespace signer {
namespace {

using base::Result;
using base::Status;

// Bucket bounds, in seconds. A sign request costs two fsyncs (history, audit) and an HSM call,
// so milliseconds dominate; the tail reaches the default 10 s deadline.
constexpr std::array<double, 14> kRequestBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,    0.25,  0.5,    1,     2.5,  5,     10};
// A decision is a history lookup plus, when new, one group-committed fsync.
constexpr std::array<double, 12> kDecisionBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                    0.01,   0.025,   0.05,   0.1,   0.25,   1};
// A claim round trip is produce, broker replication and our own consumer applying it.
constexpr std::array<double, 13> kClaimBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                 0.25,  0.5,    1,     2.5,  5,     10};

// Custody operations as hsm_errors labels; created up front so the series exist at 0.
constexpr std::array<std::string_view, 9> kCustodyOperations = {
    "list",     "generate",      "import", "delete", "holds", "sign", "ecdsa_sign_prehashed",
    "vrf_sign", "vrf_pre_output"};

double Seconds(std::chrono::nanoseconds duration) {
  return std::chrono::duration<double>(duration).count();
}

}  // namespace

// --- SignerMetrics ---

Result<std::unique_ptr<SignerMetrics>> SignerMetrics::Create() {
  std::unique_ptr<SignerMetrics> metrics(new SignerMetrics());
  SIGNER_RETURN_IF_ERROR(metrics->Register());
  return metrics;
}

Status SignerMetrics::Register() {
  const auto bounds = [](const auto& array) {
    return std::vector<double>(array.begin(), array.end());
  };
  SIGNER_ASSIGN_OR_RETURN(
      requests_, registry_.AddCounter("signer_requests_total",
                                      "RPCs finished, by method and gRPC status code name.",
                                      {"method", "code"}));
  SIGNER_ASSIGN_OR_RETURN(request_seconds_,
                          registry_.AddHistogram("signer_request_duration_seconds",
                                                 "RPC latency from admission to reply, by method.",
                                                 {"method"}, bounds(kRequestBounds)));
  SIGNER_ASSIGN_OR_RETURN(
      shed_, registry_.AddCounter("signer_requests_shed_total",
                                  "RPCs refused at admission with RESOURCE_EXHAUSTED because "
                                  "max_in_flight requests were already running, by method.",
                                  {"method"}));
  SIGNER_ASSIGN_OR_RETURN(
      in_flight_,
      registry_.AddGauge("signer_requests_in_flight", "RPCs admitted and not yet answered.", {}));
  SIGNER_ASSIGN_OR_RETURN(
      decisions_,
      registry_.AddCounter("signer_decisions_total",
                           "Slashing-protection decisions, by domain (none when unprotected) and "
                           "verdict (error when the history could not decide).",
                           {"domain", "verdict"}));
  SIGNER_ASSIGN_OR_RETURN(decision_seconds_,
                          registry_.AddHistogram("signer_decision_duration_seconds",
                                                 "Time to decide durably, by domain.", {"domain"},
                                                 bounds(kDecisionBounds)));
  SIGNER_ASSIGN_OR_RETURN(
      hsm_errors_,
      registry_.AddCounter("signer_hsm_errors_total",
                           "Key custody calls that failed as unavailable or internal, by "
                           "operation.",
                           {"operation"}));
  SIGNER_ASSIGN_OR_RETURN(
      audit_failures_,
      registry_.AddCounter("signer_audit_write_failures_total",
                           "Audit lines that could not be written (the request failed).", {}));
  SIGNER_ASSIGN_OR_RETURN(
      policy_reloads_,
      registry_.AddCounter("signer_policy_reloads_total",
                           "Policy file reloads on SIGHUP, by result (ok or failed).", {"result"}));
  SIGNER_ASSIGN_OR_RETURN(keys_loaded_,
                          registry_.AddGauge("signer_keys_loaded",
                                             "Keys held by custody, by key type (other for "
                                             "key types outside the well-known set).",
                                             {"key_type"}));
  SIGNER_ASSIGN_OR_RETURN(
      certificate_expiry_,
      registry_.AddGauge("signer_tls_certificate_expiry_seconds",
                         "Seconds until the current certificate expires, negative once expired; "
                         "certificate is server or ca. Follows SIGHUP reloads.",
                         {"certificate"}));
  SIGNER_ASSIGN_OR_RETURN(
      replicated_,
      registry_.AddGauge("signer_replicated",
                         "1 when the history is replicated through Kafka, 0 standalone.", {}));
  SIGNER_ASSIGN_OR_RETURN(
      consumer_lag_,
      registry_.AddGauge("signer_replication_consumer_lag",
                         "Claims records not yet applied, summed over partitions.", {}));
  SIGNER_ASSIGN_OR_RETURN(claims_produced_,
                          registry_.AddCounter("signer_replication_claims_produced_total",
                                               "Claims this signer sent to the claims topic.", {}));
  SIGNER_ASSIGN_OR_RETURN(
      claim_outcomes_,
      registry_.AddCounter("signer_replication_claims_total",
                           "Own claims by outcome: won (applied and allowed), lost (another "
                           "claim came first), timed_out (not applied in time).",
                           {"outcome"}));
  SIGNER_ASSIGN_OR_RETURN(
      threshold_agent_events_,
      registry_.AddCounter("signer_threshold_agent_events_total",
                           "A threshold coordinator's view of each key agent: shares (valid "
                           "signature shares), invalid_shares (failed FROST's per-share check), "
                           "refusals (the agent's own protection refused), failures (unreachable, "
                           "timed out, or an error).",
                           {"agent", "event"}));
  SIGNER_ASSIGN_OR_RETURN(records_applied_,
                          registry_.AddCounter("signer_replication_records_applied_total",
                                               "Claims records applied, from every signer.", {}));
  SIGNER_ASSIGN_OR_RETURN(
      audit_stream_,
      registry_.AddCounter("signer_audit_stream_records_total",
                           "Audit lines sent to the audit topic, by result: published "
                           "(acknowledged) or failed (dropped or not acknowledged).",
                           {"result"}));
  SIGNER_ASSIGN_OR_RETURN(claim_round_trip_seconds_,
                          registry_.AddHistogram("signer_replication_claim_round_trip_seconds",
                                                 "Time from producing an own claim to applying it.",
                                                 {}, bounds(kClaimBounds)));
  for (std::string_view operation : kCustodyOperations) {
    hsm_errors_->With({operation});
  }
  // Both results exist from the start so a failed reload shows as a change, not a new series.
  for (std::string_view result : {"ok", "failed"}) {
    policy_reloads_->With({result});
  }
  for (std::string_view outcome : {"won", "lost", "timed_out"}) {
    claim_outcomes_->With({outcome});
  }
  for (std::string_view result : {"published", "failed"}) {
    audit_stream_->With({result});
  }
  return Status::Ok();
}

void SignerMetrics::OnRequest(std::string_view method, std::string_view code,
                              std::chrono::nanoseconds latency) {
  requests_->With({method, code}).Increment();
  request_seconds_->With({method}).Observe(Seconds(latency));
}

void SignerMetrics::OnShed(std::string_view method) { shed_->With({method}).Increment(); }

void SignerMetrics::OnDecision(const slashing::DecisionEvent& event) {
  const std::string_view domain = event.domain ? slashing::DomainName(*event.domain) : "none";
  const std::string_view verdict = event.verdict ? slashing::VerdictName(*event.verdict) : "error";
  decisions_->With({domain, verdict}).Increment();
  decision_seconds_->With({domain}).Observe(Seconds(event.latency));
}

void SignerMetrics::OnHsmError(std::string_view operation) {
  hsm_errors_->With({operation}).Increment();
}

void SignerMetrics::OnAuditWriteFailure() { audit_failures_->With({}).Increment(); }

void SignerMetrics::OnPolicyReload(bool ok) {
  policy_reloads_->With({ok ? "ok" : "failed"}).Increment();
}

void SignerMetrics::SetKeysLoaded(std::span<const keymgr::KeyInfo> keys) {
  std::map<std::string_view, double> counts;
  for (const keymgr::KeyInfo& info : keys) {
    counts[KeyTypeLabel(base::KeyTypeName(info.id.key_type))] += 1;
  }
  base::MutexLock lock(keys_mutex_);
  // A key type whose last key was deleted must read 0, not its old count.
  for (const std::string& label : key_labels_) {
    if (!counts.contains(label)) {
      keys_loaded_->With({label}).Set(0);
    }
  }
  for (const auto& [label, count] : counts) {
    keys_loaded_->With({label}).Set(count);
    if (std::find(key_labels_.begin(), key_labels_.end(), label) == key_labels_.end()) {
      key_labels_.emplace_back(label);
    }
  }
}

void SignerMetrics::ObserveClaimRoundTrip(std::chrono::nanoseconds round_trip) {
  claim_round_trip_seconds_->With({}).Observe(Seconds(round_trip));
}

void SignerMetrics::WatchInFlight(std::function<size_t()> in_flight) {
  registry_.AddScrapeHook([this, in_flight = std::move(in_flight)] {
    in_flight_->With({}).Set(static_cast<double>(in_flight()));
  });
}

void SignerMetrics::WatchCertificates(std::function<CertificateExpiry()> expiry) {
  registry_.AddScrapeHook([this, expiry = std::move(expiry)] {
    const CertificateExpiry current = expiry();
    const auto now = std::chrono::system_clock::now();
    certificate_expiry_->With({"server"})
        .Set(std::chrono::duration<double>(current.server_not_after - now).count());
    certificate_expiry_->With({"ca"}).Set(
        std::chrono::duration<double>(current.ca_not_after - now).count());
  });
}

void SignerMetrics::WatchReplication(std::function<ReplicationStats()> stats) {
  registry_.AddScrapeHook([this, stats = std::move(stats)] {
    const ReplicationStats current = stats();
    replicated_->With({}).Set(current.replicated ? 1 : 0);
    consumer_lag_->With({}).Set(static_cast<double>(current.consumer_lag));
    claims_produced_->With({}).Set(current.claims_produced);
    claim_outcomes_->With({"won"}).Set(current.claims_won);
    claim_outcomes_->With({"lost"}).Set(current.claims_lost);
    claim_outcomes_->With({"timed_out"}).Set(current.claims_timed_out);
    records_applied_->With({}).Set(current.records_applied);
    audit_stream_->With({"published"}).Set(current.audit_published);
    audit_stream_->With({"failed"}).Set(current.audit_failed);
  });
}

void SignerMetrics::WatchThresholdAgents(std::function<std::vector<AgentStats>()> stats) {
  registry_.AddScrapeHook([this, stats = std::move(stats)] {
    for (const AgentStats& agent : stats()) {
      threshold_agent_events_->With({agent.name, "shares"}).Set(agent.shares);
      threshold_agent_events_->With({agent.name, "invalid_shares"}).Set(agent.invalid_shares);
      threshold_agent_events_->With({agent.name, "refusals"}).Set(agent.refusals);
      threshold_agent_events_->With({agent.name, "failures"}).Set(agent.failures);
    }
  });
}

// --- MeteredCustody ---

MeteredCustody::MeteredCustody(keymgr::KeyCustody& inner, SignerMetrics& metrics)
    : inner_(inner), metrics_(metrics) {}

MeteredCustody::~MeteredCustody() {
  {
    base::MutexLock lock(refresh_mutex_);
    refresh_stop_ = true;
  }
  refresh_wake_.SignalAll();
  if (refresh_thread_.joinable()) {
    refresh_thread_.join();
  }
}

std::chrono::milliseconds KeysListingPause(std::chrono::milliseconds interval,
                                           std::chrono::nanoseconds listing_took) {
  constexpr int kListingsShareDivisor = 20;
  const auto stretched =
      std::chrono::ceil<std::chrono::milliseconds>(listing_took * kListingsShareDivisor);
  return std::max(interval, stretched);
}

void MeteredCustody::Count(std::string_view operation, const base::Status& status) {
  if (status.code() == base::StatusCode::kUnavailable ||
      status.code() == base::StatusCode::kInternal) {
    metrics_.OnHsmError(operation);
  }
}

void MeteredCustody::KeysChanged() {
  keys_changed_.store(true);
  {
    base::MutexLock lock(refresh_mutex_);
    refresh_requested_ = true;
  }
  refresh_wake_.SignalAll();
}

bool MeteredCustody::ListKeysLoaded() {
  // Cleared before listing: a change that lands during the listing marks the gauge stale again.
  keys_changed_.store(false);
  auto listed = List();
  if (!listed.ok()) {
    keys_changed_.store(true);
    return false;
  }
  metrics_.SetKeysLoaded(*listed);
  keys_loaded_refreshes_.fetch_add(1, std::memory_order_release);
  return true;
}

void MeteredCustody::RefreshKeysLoaded() {
  if (keys_changed_.load()) {
    (void)ListKeysLoaded();
  }
}

void MeteredCustody::StartRefreshingKeysLoaded(std::chrono::milliseconds interval) {
  base::MutexLock lock(refresh_mutex_);
  if (refresh_thread_.joinable() || refresh_stop_) {
    return;
  }
  refresh_thread_ = std::thread([this, interval] { RefreshLoop(interval); });
}

void MeteredCustody::RefreshLoop(std::chrono::milliseconds interval) {
  for (;;) {
    {
      base::MutexLock lock(refresh_mutex_);
      if (refresh_stop_) return;
      refresh_requested_ = false;
    }
    const auto listing_started = std::chrono::steady_clock::now();
    (void)ListKeysLoaded();
    const auto listed = std::chrono::steady_clock::now();
    const std::chrono::milliseconds pause = KeysListingPause(interval, listed - listing_started);
    keys_listing_pause_ms_.store(pause.count());
    base::MutexLock lock(refresh_mutex_);
    const auto deadline = listed + pause;
    while (!refresh_stop_ && !refresh_requested_) {
      if (!refresh_wake_.WaitUntil(refresh_mutex_, deadline)) break;
    }
  }
}

base::Result<std::vector<keymgr::KeyInfo>> MeteredCustody::List() {
  auto result = inner_.List();
  Count("list", result.status());
  return result;
}

base::Result<keymgr::KeyInfo> MeteredCustody::Generate(const base::KeyTypeId& key_type,
                                                       base::Scheme scheme) {
  auto result = inner_.Generate(key_type, scheme);
  Count("generate", result.status());
  if (result.ok()) {
    KeysChanged();
  }
  return result;
}

base::Result<keymgr::KeyInfo> MeteredCustody::Import(const base::KeyTypeId& key_type,
                                                     const keymgr::Keypair& pair) {
  auto result = inner_.Import(key_type, pair);
  Count("import", result.status());
  if (result.ok()) {
    KeysChanged();
  }
  return result;
}

base::Result<bool> MeteredCustody::Holds(const keymgr::KeyId& id) {
  base::Result<bool> held = inner_.Holds(id);
  Count("holds", held.status());
  return held;
}

base::Status MeteredCustody::Delete(const keymgr::KeyId& id) {
  base::Status status = inner_.Delete(id);
  Count("delete", status);
  if (status.ok()) {
    KeysChanged();
  }
  return status;
}

base::Result<std::vector<uint8_t>> MeteredCustody::Sign(const keymgr::KeyId& id,
                                                        base::Scheme scheme,
                                                        std::span<const uint8_t> message) {
  auto result = inner_.Sign(id, scheme, message);
  Count("sign", result.status());
  return result;
}

base::Result<std::vector<uint8_t>> MeteredCustody::SignBound(
    const keymgr::KeyId& id, base::Scheme scheme, std::span<const uint8_t> message,
    std::optional<std::span<const uint8_t>> preimage) {
  auto result = inner_.SignBound(id, scheme, message, preimage);
  Count("sign", result.status());
  return result;
}

base::Result<keymgr::EcdsaSignature> MeteredCustody::EcdsaSignPrehashed(
    const keymgr::KeyId& id, std::span<const uint8_t> digest) {
  auto result = inner_.EcdsaSignPrehashed(id, digest);
  Count("ecdsa_sign_prehashed", result.status());
  return result;
}

base::Result<keymgr::Sr25519VrfSignature> MeteredCustody::VrfSign(
    const keymgr::KeyId& id, const keymgr::VrfTranscriptData& input,
    const std::optional<keymgr::VrfTranscriptData>& extra) {
  auto result = inner_.VrfSign(id, input, extra);
  Count("vrf_sign", result.status());
  return result;
}

base::Result<keymgr::Sr25519VrfPreOutput> MeteredCustody::VrfPreOutput(
    const keymgr::KeyId& id, const keymgr::VrfTranscriptData& input) {
  auto result = inner_.VrfPreOutput(id, input);
  Count("vrf_pre_output", result.status());
  return result;
}

// --- MeteredAuditSink ---

base::Status MeteredAuditSink::Append(const AuditRecord& record) {
  base::Status status = inner_.Append(record);
  if (!status.ok()) {
    metrics_.OnAuditWriteFailure();
  }
  return status;
}

}  // namespace signer
