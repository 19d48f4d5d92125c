// keyagentd: a FROST key agent: its own token, history, policy, audit log, listener and DKG peers.
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include "audit/audit_log.h"
#include "base/file_io.h"
#include "keyagentd/dkg_peers.h"
#include "keyagentd/key_agent.h"
#include "keyagentd/key_agent_service.h"
#include "metrics/http_server.h"
#include "metrics/registry.h"
#include "signer/config.h"
#include "signer/daemon_main.h"
#include "signer/open_from_config.h"
#include "signerd/policy_file.h"
#include "slashing/clock.h"
#include "slashing/history_admin.h"
#include "slashing/history_log.h"
#include "slashing/protector.h"
#include "tls/certificate.h"

namespace {

constexpr int kExitFailure = signer::kDaemonExitFailure;
constexpr int kExitUsage = signer::kDaemonExitUsage;
// A SignShare carries a payload (1 MiB at most, as signerd's requests) and a commitment list.
constexpr int kMaxRequestBytes = 2 << 20;

// CheckPeerConfig makes sure the peers can recognise this agent: a peer accepts a DKG share only
// from the client certificate whose identity is the sender's participant name, and participants
// are named by their signer_id, so the agent's client certificate must carry its signer_id.
base::Status CheckPeerConfig(const std::string& signer_id, const signer::ThresholdConfig& peers) {
  for (const signer::ThresholdAgentConfig& peer : peers.agents) {
    if (peer.name == signer_id) {
      return base::Status::InvalidArgument("threshold.agents lists this agent (" + signer_id +
                                           ") itself; list only its peers");
    }
  }
  SIGNER_ASSIGN_OR_RETURN(std::string certificate, base::ReadPublicFile(peers.cert_file));
  auto identity = tls::IdentityFromCertificate(
      {reinterpret_cast<const uint8_t*>(certificate.data()), certificate.size()});
  if (!identity.ok()) {
    return base::Status::InvalidArgument("threshold.cert_file: " + identity.status().message());
  }
  if (*identity != signer_id) {
    return base::Status::InvalidArgument("threshold.cert_file is " + *identity +
                                         "'s certificate; the agent's peers know it as its "
                                         "signer_id, " +
                                         signer_id);
  }
  return base::Status::Ok();
}

int Run(const std::string& config_path) {
  auto config = signer::LoadSignerConfig(config_path);
  if (!config.ok()) {
    spdlog::error("config: {}", config.status().message());
    return kExitUsage;
  }
  if (!config->server) {
    spdlog::error("config: the server section is required for keyagentd");
    return kExitUsage;
  }
  if (config->kafka) {
    // Each agent's refusal is what makes two conflicting aggregates impossible; a history shared
    // with other agents would make one broken log every agent's.
    spdlog::error("config: a key agent keeps its own history; remove the kafka section");
    return kExitUsage;
  }
  const signer::ServerConfig& server = *config->server;
  // For a key agent the threshold section names its peers for distributed key generation.
  std::unique_ptr<signer::GrpcDkgPeers> peers;
  if (config->threshold) {
    if (base::Status checked = CheckPeerConfig(config->signer_id, *config->threshold);
        !checked.ok()) {
      spdlog::error("config: {}", checked.message());
      return kExitUsage;
    }
    auto connected = signer::GrpcDkgPeers::Connect(*config->threshold);
    if (!connected.ok()) {
      spdlog::error("threshold: {}", connected.status().message());
      return kExitFailure;
    }
    peers = std::move(*connected);
  }

  auto custody = signer::OpenCustody(config->hsm);
  if (!custody.ok()) {
    spdlog::error("hsm: {}", custody.status().message());
    return kExitFailure;
  }
  auto store = slashing::OpenHistory(config->history.data_dir, config->history.genesis_hash);
  if (!store.ok()) {
    spdlog::error("history: {}", store.status().message());
    return kExitFailure;
  }
  slashing::LocalHistoryLog history_log(**store);
  slashing::SystemClock clock;
  slashing::Protector protector(history_log, clock, signer::ProtectionPolicyFor(config->history));
  auto policy = signer::Policy::Load(server.policy_file);
  if (!policy.ok()) {
    spdlog::error("policy: {}", policy.status().message());
    return kExitFailure;
  }
  auto audit = signer::AuditLog::Open(server.audit_log);
  if (!audit.ok()) {
    spdlog::error("audit log: {}", audit.status().message());
    return kExitFailure;
  }
  auto credentials = signer::OpenServerCredentials(server);
  if (!credentials.ok()) {
    spdlog::error("tls: {}", credentials.status().message());
    return kExitFailure;
  }
  signer::MetricsRegistry registry;
  signer::KeyAgentOptions options;
  options.name = config->signer_id;
  auto agent = signer::KeyAgent::Create(
      signer::KeyAgentDeps{**custody, protector, **audit, clock, &registry, peers.get()},
      std::make_shared<const signer::Policy>(std::move(*policy)), options);
  if (!agent.ok()) {
    spdlog::error("shares: {}", agent.status().message());
    return kExitFailure;
  }
  spdlog::info("shares loaded: {}", (*agent)->ListShares({"", "startup"}).value.size());

  signer::KeyAgentService service(**agent);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(server.listen, (*credentials)->GrpcCredentials(), &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              static_cast<int>(server.worker_threads));
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  if (!grpc_server || port == 0) {
    spdlog::error("cannot listen on {}", server.listen);
    return kExitFailure;
  }
  std::unique_ptr<signer::MetricsHttpServer> metrics_http;
  if (!server.metrics_listen.empty()) {
    auto started = signer::MetricsHttpServer::Start(
        signer::MetricsListenerOptions{server.metrics_listen, server.metrics_tls_cert,
                                       server.metrics_tls_key},
        [&registry] { return registry.Render(); });
    if (!started.ok()) {
      spdlog::error("metrics: {}", started.status().message());
      grpc_server->Shutdown();
      return kExitFailure;
    }
    metrics_http = std::move(*started);
  }
  const std::string host = server.listen.substr(0, server.listen.rfind(':'));
  // This line is the readiness signal scripts and tests wait for.
  std::printf("keyagentd listening on %s:%d\n", host.c_str(), port);
  if (metrics_http) std::printf("keyagentd metrics on %s\n", metrics_http->address().c_str());
  std::fflush(stdout);

  // Signals were blocked before any thread started (RunDaemonMain), so only this loop sees them.
  // Between signals it drops expired nonce pairs and DKG sessions once a second: requests drop
  // them too, but an idle agent must not keep secrets past their lifetime.
  const sigset_t signals = signer::DaemonSignals();
  const timespec sweep_interval{1, 0};
  for (;;) {
    const int signal_number = sigtimedwait(&signals, nullptr, &sweep_interval);
    if (signal_number < 0) {  // the second is up (EAGAIN), or an interruption
      (*agent)->DropExpired();
      continue;
    }
    if (signal_number != SIGHUP) {
      spdlog::info("signal {}: shutting down", signal_number);
      break;
    }
    if (base::Status reloaded = (*credentials)->Reload(); !reloaded.ok()) {
      spdlog::warn("tls reload failed, keeping the current credentials: {}", reloaded.message());
    }
    if (auto reloaded = signer::Policy::Load(server.policy_file); reloaded.ok()) {
      (*agent)->ReplacePolicy(std::make_shared<const signer::Policy>(std::move(*reloaded)));
      spdlog::info("policy reloaded");
    } else {
      spdlog::warn("policy reload failed, keeping the current policy: {}",
                   reloaded.status().message());
    }
  }
  metrics_http.reset();
  grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc_server->Wait();
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return signer::RunDaemonMain("keyagentd", argc, argv, Run); }
