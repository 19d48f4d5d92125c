// signerd: loads keys, history, policy and TLS, then serves RemoteKeystore over mutual TLS.
#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "audit/audit_field.h"
#include "audit/audit_log.h"
#include "keymgr/pkcs11_custody.h"
#include "signer/config.h"
#include "signerd/metrics.h"
#include "signerd/metrics_http.h"
#include "signerd/pipeline_core.h"
#include "signerd/policy_file.h"
#include "signerd/replication.h"
#include "signerd/service_grpc.h"
#include "slashing/history_admin.h"
#include "slashing/history_log.h"
#include "slashing/protector.h"
#include "tls/grpc_credentials.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
// Bounds how long signer_keys_loaded can miss a key changed outside signerd (changes made through
// signerd refresh it at once).
constexpr std::chrono::seconds kKeysLoadedRefreshInterval{30};

// ForbidCoreDumps keeps secrets (unwrapped sr25519 keys, the PIN) out of core files and out of
// reach of same-user ptrace. Failing to set either is fatal: the process would be weaker than
// documented.
bool ForbidCoreDumps() {
  const rlimit no_core{0, 0};
  return ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 && ::setrlimit(RLIMIT_CORE, &no_core) == 0;
}

// LoggingAuditSink writes each record to the audit log and logs the ones an operator should see
// at once (refusals, denials, failures). Records never hold secrets, so neither do these lines.
class LoggingAuditSink final : public signer::AuditSink {
 public:
  explicit LoggingAuditSink(signer::AuditSink& inner) : inner_(inner) {}
  base::Status Append(const signer::AuditRecord& record) override {
    base::Status status = inner_.Append(record);
    if (!status.ok()) {
      spdlog::error("event=audit_write_failed reason={}", signer::QuoteLogValue(status.message()));
    }
    if (!record.verdict.starts_with("allowed")) {
      // Every value is bounded and quoted: no request byte can start a line or a field here.
      spdlog::warn("{}", signer::DecisionLogLine(record));
    }
    return status;
  }

 private:
  signer::AuditSink& inner_;
};

enum class HistoryWait { kCaughtUp, kStopRequested, kFailed };

// WaitForHistory waits until the history has caught up with the claims topic (standalone: at
// once). It retries in short slices for as long as that takes, so neither a broker outage nor a
// long catch-up stops signerd, while SIGINT or SIGTERM still stop it promptly. It logs the bound
// port and the reason while not serving, and gives up only on an error retrying cannot fix.
HistoryWait WaitForHistory(signer::Replication& replication, int64_t late_after_ms, int port,
                           const sigset_t& stop_signals) {
  constexpr auto kSlice = std::chrono::milliseconds(1'000);
  constexpr auto kReportEvery = std::chrono::seconds(10);
  const auto started = std::chrono::steady_clock::now();
  auto next_report = started;
  bool reported_late = false;
  for (;;) {
    base::Status caught_up = replication.WaitUntilCaughtUp(kSlice);
    if (caught_up.ok()) return HistoryWait::kCaughtUp;
    if (caught_up.code() != base::StatusCode::kUnavailable) {
      spdlog::error("history: {}", caught_up.message());
      return HistoryWait::kFailed;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_report) {
      spdlog::warn("event=not_serving port={} reason=\"{}\"", port, caught_up.message());
      next_report = now + kReportEvery;
    }
    if (!reported_late && now - started >= std::chrono::milliseconds(late_after_ms)) {
      spdlog::error(
          "history: not caught up with the claims topic after {} ms; still NOT_SERVING, retrying",
          late_after_ms);
      reported_late = true;
    }
    const timespec no_wait{0, 0};
    const int signal_number = ::sigtimedwait(&stop_signals, nullptr, &no_wait);
    if (signal_number == SIGINT || signal_number == SIGTERM) {
      spdlog::info("signal {}: shutting down before serving", signal_number);
      return HistoryWait::kStopRequested;
    }
  }
}

std::string HostOf(const std::string& listen) { return listen.substr(0, listen.rfind(':')); }

int Run(const std::string& config_path) {
  auto config = signer::LoadSignerConfig(config_path);
  if (!config.ok()) {
    spdlog::error("config: {}", config.status().message());
    return kExitUsage;
  }
  if (!config->server) {
    spdlog::error("config: the server section is required for signerd");
    return kExitUsage;
  }
  const signer::ServerConfig& server_config = *config->server;
  // Metrics are always counted; they are served only when server.metrics_listen is set.
  auto metrics = signer::SignerMetrics::Create();
  if (!metrics.ok()) {
    spdlog::error("metrics: {}", metrics.status().message());
    return kExitFailure;
  }

  // Keys: open the token and list once, so a wrong PIN or missing token stops startup here.
  keymgr::Pkcs11Config hsm;
  hsm.module_path = config->hsm.module;
  hsm.token_label = config->hsm.token_label;
  hsm.max_sessions = config->hsm.max_sessions;
  auto pin = config->hsm.pin_file.empty() ? keymgr::ReadPinFromEnv(config->hsm.pin_env)
                                          : keymgr::ReadPinFromFile(config->hsm.pin_file);
  if (!config->hsm.pin_env.empty()) {
    ::unsetenv(config->hsm.pin_env.c_str());  // children must not inherit it
  }
  if (!pin.ok()) {
    spdlog::error("hsm pin: {}", pin.status().message());
    return kExitFailure;
  }
  hsm.pin = std::move(*pin);
  auto custody = keymgr::Pkcs11Custody::Open(std::move(hsm));
  if (!custody.ok()) {
    spdlog::error("hsm: {}", custody.status().message());
    return kExitFailure;
  }
  auto keys = (*custody)->List();
  if (!keys.ok()) {
    spdlog::error("hsm: cannot list keys: {}", keys.status().message());
    return kExitFailure;
  }
  spdlog::info("keys loaded: {}", keys->size());
  (*metrics)->SetKeysLoaded(*keys);
  // Every custody call of the pipeline goes through the counting decorator (HSM errors, keys).
  signer::MeteredCustody metered_custody(**custody, **metrics);

  // History: the directory lock makes a second signer on the same history fail here.
  auto store = slashing::OpenHistory(config->history.data_dir, config->history.genesis_hash);
  if (!store.ok()) {
    spdlog::error("history: {}", store.status().message());
    return kExitFailure;
  }
  // Standalone, or replicated through Kafka when the config has a kafka section (docs/kafka.md).
  auto replication = signer::Replication::Open(*config, **store);
  if (!replication.ok()) {
    spdlog::error("replication: {}", replication.status().message());
    return kExitFailure;
  }
  slashing::SystemClock clock;
  slashing::ProtectionPolicy protection;
  for (const std::string& name : config->history.allow_unrecognised) {
    auto key_type = base::MakeKeyTypeId(name);
    if (key_type.ok()) {
      protection.allow_unrecognised.push_back(*key_type);
    }
  }
  slashing::Protector protector((*replication)->history_log(), clock, protection, metrics->get());
  (*replication)
      ->SetClaimRoundTripObserver([observer = metrics->get()](std::chrono::nanoseconds round_trip) {
        observer->ObserveClaimRoundTrip(round_trip);
      });

  auto policy = signer::Policy::Load(server_config.policy_file);
  if (!policy.ok()) {
    spdlog::error("policy: {}", policy.status().message());
    return kExitFailure;
  }
  auto audit = signer::AuditLog::Open(server_config.audit_log);
  if (!audit.ok()) {
    spdlog::error("audit log: {}", audit.status().message());
    return kExitFailure;
  }

  if (base::Status tls13 = tls::RequireTls13ForNewTlsContexts(); !tls13.ok()) {
    spdlog::error("tls: {}", tls13.message());
    return kExitFailure;
  }
  auto credentials = tls::ReloadableServerCredentials::Create(tls::ServerCredentialFiles{
      server_config.tls.cert_file, server_config.tls.key_file, server_config.tls.client_ca_file});
  if (!credentials.ok()) {
    spdlog::error("tls: {}", credentials.status().message());
    return kExitFailure;
  }

  (*replication)->AttachAuditStream(**audit);
  LoggingAuditSink logging_audit_sink(**audit);
  signer::MeteredAuditSink audit_sink(logging_audit_sink, **metrics);
  signer::Pipeline pipeline(
      signer::PipelineDeps{metered_custody, protector, *policy, audit_sink, clock});
  signer::WorkerPool pool(server_config.worker_threads);
  signer::KeystoreService service(
      pipeline, pool,
      signer::ServiceLimits{server_config.max_in_flight,
                            std::chrono::milliseconds(server_config.max_deadline_ms)},
      metrics->get());
  // Values kept elsewhere are read at scrape time; the certificate follows SIGHUP reloads.
  (*metrics)->WatchInFlight([&service] { return service.in_flight(); });
  (*metrics)->WatchReplication([&replication] { return (*replication)->stats(); });
  (*metrics)->WatchCertificates([&credentials] {
    return signer::CertificateExpiry{(*credentials)->ServerCertificate().not_after,
                                     (*credentials)->CaCertificate().not_after};
  });
  // The keys gauge is kept from memory: a scrape never takes an HSM session from signing.
  metered_custody.StartRefreshingKeysLoaded(kKeysLoadedRefreshInterval);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(server_config.listen, (*credentials)->GrpcCredentials(), &bound_port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(1 << 20);  // requests are small; refuse anything large early
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    spdlog::error("cannot listen on {}", server_config.listen);
    return kExitFailure;
  }
  // The metrics listener opens before the catch-up below, so the consumer lag can be watched while
  // a replicated signer catches up; a failure to bind it stops startup like any other.
  std::unique_ptr<signer::MetricsHttpServer> metrics_http;
  if (!server_config.metrics_listen.empty()) {
    auto started = signer::MetricsHttpServer::Start(
        signer::MetricsListenerOptions{server_config.metrics_listen, server_config.metrics_tls_cert,
                                       server_config.metrics_tls_key},
        [observer = metrics->get()] { return observer->Render(); });
    if (!started.ok()) {
      spdlog::error("metrics: {}", started.status().message());
      server->Shutdown();
      return kExitFailure;
    }
    metrics_http = std::move(*started);
  }
  // Keys were loaded above; the history is complete once it holds every claim already in the topic
  // (standalone: at once). Until then health says NOT_SERVING and the history refuses every sign
  // request (UNAVAILABLE). Brokers that are down only delay this: signerd keeps retrying, so a
  // restart during an outage serves as soon as they return.
  server->GetHealthCheckService()->SetServingStatus(false);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  const HistoryWait history_wait =
      WaitForHistory(**replication, config->kafka ? config->kafka->catch_up_timeout_ms : 0,
                     bound_port, stop_signals);
  if (history_wait != HistoryWait::kCaughtUp) {
    server->Shutdown();
    return history_wait == HistoryWait::kFailed ? kExitFailure : 0;
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  std::printf("signerd listening on %s:%d\n", HostOf(server_config.listen).c_str(), bound_port);
  if (metrics_http) {
    std::printf("signerd metrics on %s\n", metrics_http->address().c_str());
  }
  std::fflush(stdout);
  spdlog::info("serving on port {} with {} workers, at most {} requests in flight", bound_port,
               server_config.worker_threads, server_config.max_in_flight);

  // Signals were blocked in main before any thread started, so only this loop sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  for (;;) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) {
      continue;
    }
    if (signal_number == SIGHUP) {
      if (base::Status reloaded = (*credentials)->Reload(); reloaded.ok()) {
        spdlog::info("tls credentials reloaded");
      } else {
        spdlog::warn("tls reload failed, keeping the current credentials: {}", reloaded.message());
      }
      // Grants change without a restart; a policy that does not parse never replaces a good one.
      if (auto reloaded_policy = signer::Policy::Load(server_config.policy_file);
          reloaded_policy.ok()) {
        pipeline.ReplacePolicy(std::make_shared<const signer::Policy>(std::move(*reloaded_policy)));
        (*metrics)->OnPolicyReload(true);
        spdlog::info("policy reloaded");
      } else {
        (*metrics)->OnPolicyReload(false);
        spdlog::warn("policy reload failed, keeping the current policy: {}",
                     reloaded_policy.status().message());
      }
      continue;
    }
    spdlog::info("signal {}: shutting down", signal_number);
    break;
  }
  server->GetHealthCheckService()->SetServingStatus(false);
  metrics_http.reset();  // its scrape hooks read the service and custody below
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_logger_mt("signerd"));
  // key=value lines: messages from other modules may hold quotes, which would break JSON framing.
  spdlog::set_pattern("time=%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
  if (!ForbidCoreDumps()) {
    spdlog::error("cannot disable core dumps: {}", std::strerror(errno));
    return kExitFailure;
  }
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (argument.starts_with("--config=")) {
      config_path = argument.substr(9);
    } else {
      std::fprintf(stderr, "usage: signerd --config FILE\n");
      return kExitUsage;
    }
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "usage: signerd --config FILE\n");
    return kExitUsage;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return Run(config_path);
}
