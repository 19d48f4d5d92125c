// SignerDaemon: opens what the config names, serves, reloads and shuts down.
#include "signerd/signer_daemon.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <string>
#include <thread>
#include <utility>

#include "audit/audit_field.h"
#include "audit/audit_log.h"
#include "base/hex.h"
#include "base/thread_annotations.h"
#include "keymgr/pkcs11_custody.h"
#include "keymgr/threshold.h"
#include "metrics/http_server.h"
#include "signer/open_from_config.h"
#include "signerd/metrics.h"
#include "signerd/pipeline_core.h"
#include "signerd/policy_file.h"
#include "signerd/replication.h"
#include "signerd/service_grpc.h"
#include "signerd/service_manager.h"
#include "signerd/uplink_client.h"
#include "slashing/clock.h"
#include "slashing/history_admin.h"
#include "slashing/protector.h"
#include "slashing/rocksdb_store.h"
#include "threshold/threshold_custody.h"
#include "tls/grpc_credentials.h"

namespace signer {

namespace pb = parity::polkadot::signer;
namespace {

// Bounds how long signer_keys_loaded can miss a key changed outside signerd (changes made through
// signerd refresh it at once).
constexpr std::chrono::seconds kKeysLoadedRefreshInterval{30};
// Requests are small; anything large is refused before it is parsed.
constexpr int kMaxRequestBytes = 1 << 20;

// LoggingAuditSink writes each record to the audit log and logs the ones an operator should see
// at once (refusals, denials, failures). Records never hold secrets, so neither do these lines.
class LoggingAuditSink final : public AuditSink {
 public:
  explicit LoggingAuditSink(AuditSink& inner) : inner_(inner) {}
  base::Status Append(const AuditRecord& record) override {
    base::Status status = inner_.Append(record);
    if (!status.ok()) {
      spdlog::error("event=audit_write_failed reason={}", QuoteLogValue(status.message()));
    }
    if (!record.verdict.starts_with("allowed")) {
      // Every value is bounded and quoted: no request byte can start a line or a field here.
      spdlog::warn("{}", DecisionLogLine(record));
    }
    return status;
  }

 private:
  AuditSink& inner_;
};

// WithStep prefixes a failure with the startup step it happened in, keeping its code.
base::Status WithStep(std::string_view step, const base::Status& status) {
  return base::Status::FromCode(status.code(), std::string(step) + ": " + status.message());
}

}  // namespace

// Parts are declared in the order they are built, so they are destroyed in reverse: nothing
// outlives what it points to.
struct SignerDaemon::Parts {
  SignerConfig config;
  std::unique_ptr<SignerMetrics> metrics;
  std::unique_ptr<keymgr::Pkcs11Custody> custody;
  std::unique_ptr<ThresholdCustody> threshold_custody;  // only for a threshold coordinator
  std::unique_ptr<MeteredCustody> metered_custody;
  std::unique_ptr<slashing::RocksDbStore> store;
  std::unique_ptr<Replication> replication;
  slashing::SystemClock clock;
  std::unique_ptr<slashing::Protector> protector;
  std::unique_ptr<Policy> policy;  // the one loaded at start; Reload swaps in others
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<tls::ReloadableServerCredentials> credentials;
  std::unique_ptr<LoggingAuditSink> logging_audit_sink;
  std::unique_ptr<MeteredAuditSink> audit_sink;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<WorkerPool> pool;
  std::unique_ptr<KeystoreService> service;
  std::unique_ptr<SignerInfoService> info_service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<UplinkClient> uplink;  // only when server.uplink names a gateway
  std::unique_ptr<MetricsHttpServer> metrics_http;
  int port = 0;
  // Set when the audit log breaks or the replicated history stops (StopServingForGood, on their
  // threads) and read by StartServing.
  std::atomic<bool> cannot_sign{false};
  // The server and uplink, published once built for StopServingForGood to report NOT_SERVING
  // through, and withdrawn before they are destroyed: the history's applier thread outlives the
  // server (the replication is destroyed after it).
  base::Mutex published_mutex;
  grpc::Server* published_server GUARDED_BY(published_mutex) = nullptr;
  UplinkClient* published_uplink GUARDED_BY(published_mutex) = nullptr;

  ~Parts() { Publish(nullptr, nullptr); }

  const ServerConfig& server_config() const { return *config.server; }

  void Publish(grpc::Server* listening, UplinkClient* dialing) EXCLUDES(published_mutex) {
    base::MutexLock lock(published_mutex);
    published_server = listening;
    published_uplink = dialing;
  }

  // StopServingForGood turns health and the uplink to NOT_SERVING for the rest of the process's
  // life, once something every request needs has failed for good (`event` names it in the log).
  void StopServingForGood(std::string_view event, const base::Status& cause)
      EXCLUDES(published_mutex) {
    cannot_sign.store(true);
    spdlog::error("event={} serving=false reason={}", event, QuoteLogValue(cause.message()));
    base::MutexLock lock(published_mutex);
    if (published_server != nullptr) {
      published_server->GetHealthCheckService()->SetServingStatus(false);
    }
    if (published_uplink != nullptr) published_uplink->SetServing(false);
  }
};

SignerDaemon::SignerDaemon(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
SignerDaemon::~SignerDaemon() = default;

base::Result<std::unique_ptr<SignerDaemon>> SignerDaemon::Build(SignerConfig config) {
  if (!config.server) {
    return base::Status::InvalidArgument("config: the server section is required for signerd");
  }
  auto parts = std::make_unique<Parts>();
  parts->config = std::move(config);
  Parts& p = *parts;

  // Metrics are always counted; they are served only when server.metrics_listen is set.
  SIGNER_ASSIGN_OR_RETURN(p.metrics, SignerMetrics::Create());

  // Keys: open the token and list once, so a wrong PIN or missing token stops startup here.
  auto custody = OpenCustody(p.config.hsm);
  if (!custody.ok()) return WithStep("hsm", custody.status());
  p.custody = std::move(*custody);
  auto keys = p.custody->List();
  if (!keys.ok()) return WithStep("hsm: cannot list keys", keys.status());
  spdlog::info("keys loaded: {}", keys->size());
  p.metrics->SetKeysLoaded(*keys);
  // A threshold coordinator signs for the agents' keys beside the HSM's (docs/threshold.md).
  keymgr::KeyCustody* custody_in_use = p.custody.get();
  if (p.config.threshold) {
    auto threshold = ThresholdCustody::Open(*p.custody, *p.config.threshold);
    if (!threshold.ok()) return WithStep("threshold", threshold.status());
    p.threshold_custody = std::move(*threshold);
    for (const ThresholdCustody::KeySummary& key : p.threshold_custody->ThresholdKeys()) {
      spdlog::info("threshold key {}:{} {} on {} agents", base::KeyTypeName(key.id.key_type),
                   base::HexEncode(key.id.public_key),
                   keymgr::DescribeThreshold(key.min_signers, key.max_signers), key.agents.size());
    }
    custody_in_use = p.threshold_custody.get();
    p.metrics->WatchThresholdAgents(
        [threshold = p.threshold_custody.get()] { return threshold->Stats(); });
  }
  // Every custody call of the pipeline goes through the counting decorator (HSM errors, keys).
  p.metered_custody = std::make_unique<MeteredCustody>(*custody_in_use, *p.metrics);

  // History: the directory lock makes a second signer on the same history fail here.
  auto store = slashing::OpenHistory(p.config.history.data_dir, p.config.history.genesis_hash);
  if (!store.ok()) return WithStep("history", store.status());
  p.store = std::move(*store);
  // Standalone, or replicated through Kafka when the config has a kafka section (docs/kafka.md).
  auto replication = Replication::Open(p.config, *p.store);
  if (!replication.ok()) return WithStep("replication", replication.status());
  p.replication = std::move(*replication);
  p.protector =
      std::make_unique<slashing::Protector>(p.replication->history_log(), p.clock,
                                            ProtectionPolicyFor(p.config.history), p.metrics.get());
  p.replication->SetClaimRoundTripObserver(
      [observer = p.metrics.get()](std::chrono::nanoseconds round_trip) {
        observer->ObserveClaimRoundTrip(round_trip);
      });

  auto policy = Policy::Load(p.server_config().policy_file);
  if (!policy.ok()) return WithStep("policy", policy.status());
  p.policy = std::make_unique<Policy>(std::move(*policy));
  auto audit = AuditLog::Open(p.server_config().audit_log);
  if (!audit.ok()) return WithStep("audit log", audit.status());
  p.audit = std::move(*audit);
  auto credentials = OpenServerCredentials(p.server_config());
  if (!credentials.ok()) return WithStep("tls", credentials.status());
  p.credentials = std::move(*credentials);

  // The audit fan-out, in one place: each decision goes to the local log (durable before any reply
  // leaves), refusals also to the operator's log, and every durable line of the local log to the
  // audit topic when there is one (Kafka mode with kafka.audit_topic).
  if (AuditLog::LineObserver publish = p.replication->AuditStreamPublisher(); publish) {
    p.audit->SetLineObserver(std::move(publish));
  }
  // Each audit group first syncs the decisions its lines report: one commit group per request
  // instead of a synced decision and then a synced line (docs/signerd.md).
  p.replication->DeferHistorySyncs();
  p.audit->SetGroupBarrier([&store = *p.store] { return store.SyncWrites(); });
  // A broken audit log, or a replicated history whose applier stopped, fails every later request
  // (UNAVAILABLE) until a restart: health says so, so that load balancers and gateways send
  // requests to a signer that can sign.
  p.audit->SetBrokenHandler(
      [&p](const base::Status& cause) { p.StopServingForGood("audit_log_broken", cause); });
  p.replication->SetStoppedHandler(
      [&p](const base::Status& cause) { p.StopServingForGood("history_stopped", cause); });
  p.logging_audit_sink = std::make_unique<LoggingAuditSink>(*p.audit);
  p.audit_sink = std::make_unique<MeteredAuditSink>(*p.logging_audit_sink, *p.metrics);
  p.pipeline = std::make_unique<Pipeline>(
      PipelineDeps{*p.metered_custody, *p.protector, *p.policy, *p.audit_sink, p.clock});
  p.pool = std::make_unique<WorkerPool>(p.server_config().worker_threads);
  p.service = std::make_unique<KeystoreService>(
      *p.pipeline, *p.pool,
      ServiceLimits{p.server_config().max_in_flight,
                    std::chrono::milliseconds(p.server_config().max_deadline_ms)},
      p.metrics.get());

  // Standalone, the history's instance id is created now (one synced write) rather than on a
  // gateway's first question; replicated, the identity needs the brokers and is read per question.
  if (!p.config.kafka) {
    auto identity = p.replication->HistoryIdentity();
    if (!identity.ok()) return WithStep("history identity", identity.status());
  }
  p.info_service = std::make_unique<SignerInfoService>(
      [replication = p.replication.get(), signer_id = p.config.signer_id,
       genesis = p.config.history.genesis_hash]() -> base::Result<pb::DescribeReply> {
        SIGNER_ASSIGN_OR_RETURN(const Replication::Identity identity,
                                replication->HistoryIdentity());
        pb::DescribeReply reply;
        reply.set_signer_id(signer_id);
        reply.set_history_kind(identity.kind);
        reply.set_history_id(identity.id);
        reply.set_genesis_hash(std::string(genesis.begin(), genesis.end()));
        return reply;
      });

  // Values kept elsewhere are read at scrape time; the certificate follows SIGHUP reloads.
  p.metrics->WatchInFlight([service = p.service.get()] { return service->in_flight(); });
  p.metrics->WatchReplication([replication = p.replication.get()] { return replication->stats(); });
  p.metrics->WatchCertificates([credentials = p.credentials.get()] {
    return CertificateExpiry{credentials->ServerCertificate().not_after,
                             credentials->CaCertificate().not_after};
  });
  // The keys gauge is kept from memory: a scrape never takes an HSM session from signing.
  p.metered_custody->StartRefreshingKeysLoaded(kKeysLoadedRefreshInterval);
  return std::unique_ptr<SignerDaemon>(new SignerDaemon(std::move(parts)));
}

base::Status SignerDaemon::Listen() {
  Parts& p = *parts_;
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(p.server_config().listen, p.credentials->GrpcCredentials(), &p.port);
  builder.RegisterService(p.service.get());
  builder.RegisterService(p.info_service.get());
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  p.server = builder.BuildAndStart();
  if (!p.server || p.port == 0) {
    return base::Status::Unavailable("cannot listen on " + p.server_config().listen);
  }
  // Until the history has caught up, health says NOT_SERVING and the history refuses every sign
  // request (UNAVAILABLE).
  p.server->GetHealthCheckService()->SetServingStatus(false);
  // A signer that dials out reports the same health over its uplink: NOT_SERVING until caught up.
  if (const std::optional<UplinkConfig>& uplink = p.server_config().uplink; uplink) {
    auto credentials = tls::ClientChannelCredentials(
        tls::ClientCredentialFiles{uplink->ca_file, uplink->cert_file, uplink->key_file});
    if (!credentials.ok()) {
      p.server->Shutdown();
      return WithStep("uplink", credentials.status());
    }
    UplinkOptions options;
    options.gateway = uplink->gateway;
    options.server_name = uplink->server_name;
    options.credentials = *credentials;
    options.keepalive = std::chrono::milliseconds(uplink->keepalive_ms);
    options.min_backoff = std::chrono::milliseconds(uplink->min_backoff_ms);
    options.max_backoff = std::chrono::milliseconds(uplink->max_backoff_ms);
    SignerInfoService* info = p.info_service.get();
    p.uplink = std::make_unique<UplinkClient>(std::move(options), *p.service,
                                              [info] { return info->DescribeNow(); });
  }
  p.Publish(p.server.get(), p.uplink.get());
  // The metrics listener opens before the catch-up, so the consumer lag can be watched while a
  // replicated signer catches up; a failure to bind it stops startup like any other.
  if (!p.server_config().metrics_listen.empty()) {
    auto started = MetricsHttpServer::Start(
        MetricsListenerOptions{p.server_config().metrics_listen, p.server_config().metrics_tls_cert,
                               p.server_config().metrics_tls_key},
        [observer = p.metrics.get()] { return observer->Render(); });
    if (!started.ok()) {
      p.server->Shutdown();
      return WithStep("metrics", started.status());
    }
    p.metrics_http = std::move(*started);
  }
  return base::Status::Ok();
}

int SignerDaemon::port() const { return parts_->port; }

std::string SignerDaemon::listen_host() const {
  const std::string& listen = parts_->server_config().listen;
  return listen.substr(0, listen.rfind(':'));
}

std::string SignerDaemon::metrics_address() const {
  return parts_->metrics_http ? parts_->metrics_http->address() : "";
}

std::chrono::milliseconds SignerDaemon::catch_up_warning_after() const {
  return std::chrono::milliseconds(parts_->config.kafka ? parts_->config.kafka->catch_up_timeout_ms
                                                        : 0);
}

base::Status SignerDaemon::WaitForHistory(std::chrono::milliseconds timeout) {
  return parts_->replication->WaitUntilCaughtUp(timeout);
}

void SignerDaemon::StartServing() {
  parts_->server->GetHealthCheckService()->SetServingStatus(true);
  if (parts_->uplink) parts_->uplink->SetServing(true);
  // Read after the flip: a log broken before (or during) it is reported either way.
  if (parts_->cannot_sign.load()) {
    parts_->server->GetHealthCheckService()->SetServingStatus(false);
    if (parts_->uplink) parts_->uplink->SetServing(false);
  }
  // Readiness goes to systemd only now, after the history caught up, so a Type=notify unit (and
  // anything ordered after it, such as a rolling upgrade's next step) waits for a serving signer.
  NotifyServiceManager("READY=1\nSTATUS=serving on port " + std::to_string(parts_->port));
  spdlog::info("serving on port {} with {} workers, at most {} requests in flight", parts_->port,
               parts_->server_config().worker_threads, parts_->server_config().max_in_flight);
}

void SignerDaemon::Reload() {
  Parts& p = *parts_;
  if (base::Status reloaded = p.credentials->Reload(); reloaded.ok()) {
    spdlog::info("tls credentials reloaded");
  } else {
    spdlog::warn("tls reload failed, keeping the current credentials: {}", reloaded.message());
  }
  // Grants change without a restart; a policy that does not parse never replaces a good one.
  if (auto policy = Policy::Load(p.server_config().policy_file); policy.ok()) {
    p.pipeline->ReplacePolicy(std::make_shared<const Policy>(std::move(*policy)));
    p.metrics->OnPolicyReload(true);
    spdlog::info("policy reloaded");
  } else {
    p.metrics->OnPolicyReload(false);
    spdlog::warn("policy reload failed, keeping the current policy: {}", policy.status().message());
  }
}

void SignerDaemon::Shutdown(std::chrono::milliseconds grace) {
  Parts& p = *parts_;
  NotifyServiceManager("STOPPING=1\nSTATUS=shutting down");
  p.metrics_http.reset();              // its scrape hooks read the service and custody
  p.Publish(p.server.get(), nullptr);  // the uplink goes now
  // The uplink goes first: a gateway that still sent calls over it would find them cut off.
  if (p.uplink) {
    p.uplink->SetServing(false);
    p.uplink.reset();
  }
  if (p.server) {
    p.server->GetHealthCheckService()->SetServingStatus(false);
    p.server->Shutdown(std::chrono::system_clock::now() + grace);
    p.server->Wait();
  }
  // Calls that came over the uplink finish on the worker pool; they must be done before the
  // service they run in goes away (the listener's own calls are waited for by server->Wait()).
  const auto give_up = std::chrono::steady_clock::now() + grace;
  while (p.service->in_flight() > 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Past the grace period (a call stuck in a hung HSM) the pool is stopped here, while the service
  // its jobs run in still exists: its destructor runs what is queued and joins the workers. Left
  // to the members' destruction, the service (declared after it) would go first. A job that never
  // returns keeps signerd from exiting, which the service manager's stop timeout ends; a job that
  // ran in a freed service could do anything.
  p.pool.reset();
}

}  // namespace signer
