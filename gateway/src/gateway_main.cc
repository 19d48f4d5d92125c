// signer-gateway: the sidecar beside a node; serves RemoteKeystore locally and forwards to a pool.
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "gateway/config.h"
#include "gateway/forwarder.h"
#include "gateway/log.h"
#include "gateway/pool.h"
#include "gateway/uplink.h"
#include "metrics/http_server.h"
#include "signer/daemon_main.h"
#include "tls/grpc_credentials.h"

namespace {

constexpr int kExitFailure = signer::kDaemonExitFailure;
constexpr int kExitUsage = signer::kDaemonExitUsage;
// A node's requests are small; the same bound signerd applies (docs/api.md).
constexpr int kMaxRequestBytes = 1 << 20;
constexpr size_t kMaxCachedLookups = 4096;
// A dial-in signer's frames carry replies, a SignWithAll reply among them: more room than requests.
constexpr int kMaxUplinkFrameBytes = 4 << 20;

void Fail(const std::string& message) { gateway::Log(gateway::LogLevel::kError, message); }

// ReloadPool re-reads the configuration and applies its upstream list. Everything else in the file
// is fixed at start (listeners, credentials, the pool's history): a new file that changes any of
// it, or that does not parse, is refused whole and the current pool stays.
void ReloadPool(const std::string& config_path, const gateway::GatewayConfig& running,
                gateway::UpstreamPool& pool) {
  auto fresh = gateway::LoadGatewayConfig(config_path);
  if (!fresh.ok()) {
    gateway::Log(gateway::LogLevel::kError,
                 "config reload refused, keeping the current pool: " + fresh.status().message());
    return;
  }
  std::string fixed;
  const auto same_files = [](const std::optional<tls::ServerCredentialFiles>& a,
                             const std::optional<tls::ServerCredentialFiles>& b) {
    return a.has_value() == b.has_value() &&
           (!a || (a->certificate_chain == b->certificate_chain &&
                   a->private_key == b->private_key && a->client_ca == b->client_ca));
  };
  if (fresh->unix_socket != running.unix_socket || fresh->tcp_listen != running.tcp_listen ||
      fresh->socket_mode != running.socket_mode ||
      !same_files(fresh->listen_tls, running.listen_tls) ||
      fresh->listen_identities != running.listen_identities) {
    fixed = "listen";
  } else if (fresh->uplink_listen != running.uplink_listen ||
             !same_files(fresh->uplink_tls, running.uplink_tls)) {
    fixed = "uplink_listen/uplink_tls";
  } else if (fresh->history_id != running.history_id || fresh->state_dir != running.state_dir) {
    fixed = "history_id/state_dir";
  } else if (fresh->upstream_tls.server_ca != running.upstream_tls.server_ca ||
             fresh->upstream_tls.certificate != running.upstream_tls.certificate ||
             fresh->upstream_tls.private_key != running.upstream_tls.private_key) {
    fixed = "upstream_tls";
  }
  if (!fixed.empty()) {
    gateway::Log(gateway::LogLevel::kError,
                 "config reload refused, keeping the current pool: " + fixed +
                     " changed, which needs a restart (a reload changes upstreams only)");
    return;
  }
  gateway::Log(gateway::LogLevel::kInfo, "pool reloaded: " + pool.Reload(fresh->upstreams));
}

// RemoveStaleSocket deletes a socket file left by an earlier run; anything else at the path is
// refused, so a typo in the config never deletes a file.
bool RemoveStaleSocket(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) return errno == ENOENT;
  if (!S_ISSOCK(info.st_mode)) return false;
  return ::unlink(path.c_str()) == 0;
}

int Run(const std::string& config_path) {
  auto config = gateway::LoadGatewayConfig(config_path);
  if (!config.ok()) {
    Fail("config: " + config.status().message());
    return kExitUsage;
  }
  gateway::SetLogFormat(config->log_json ? gateway::LogFormat::kJson : gateway::LogFormat::kText);
  if (base::Status tls13 = tls::RequireTls13ForNewTlsContexts(); !tls13.ok()) {
    Fail("tls: " + tls13.message());
    return kExitFailure;
  }
  auto client_credentials = tls::ClientChannelCredentials(config->upstream_tls);
  if (!client_credentials.ok()) {
    Fail("upstream_tls: " + client_credentials.status().message());
    return kExitFailure;
  }
  auto pool = gateway::UpstreamPool::Create(*config, *client_credentials);
  if (!pool.ok()) {
    Fail(pool.status().message());
    return kExitFailure;
  }
  // One round before listening, so the node's first call finds the signers already checked.
  (*pool)->CheckAll();
  (*pool)->StartChecking();
  gateway::KeyCache cache(std::chrono::milliseconds(config->cache_ttl_ms), kMaxCachedLookups);
  auto metrics = gateway::GatewayMetrics::Create(**pool);
  if (!metrics.ok()) {
    Fail("metrics: " + metrics.status().message());
    return kExitFailure;
  }
  gateway::Forwarder forwarder(
      **pool, cache, **metrics, std::chrono::milliseconds(config->upstream_timeout_ms),
      gateway::HedgeOptions{std::chrono::milliseconds(config->hedge_delay_ms),
                            static_cast<int>(config->hedge_budget_percent)},
      config->listen_identities);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  builder.RegisterCallbackGenericService(&forwarder);
  int port = 0;
  std::unique_ptr<tls::ReloadableServerCredentials> server_credentials;
  std::string address;
  mode_t previous_umask = 0;
  if (!config->unix_socket.empty()) {
    if (!RemoveStaleSocket(config->unix_socket)) {
      Fail("listen.unix_socket: " + config->unix_socket + " exists and is not a socket");
      return kExitFailure;
    }
    address = "unix:" + config->unix_socket;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials());
    // The socket is created owner-only and opened up to socket_mode after: never wider, even
    // for the moment between bind and chmod.
    previous_umask = ::umask(0077);
  } else {
    auto credentials = tls::ReloadableServerCredentials::Create(*config->listen_tls);
    if (!credentials.ok()) {
      Fail("listen.tls: " + credentials.status().message());
      return kExitFailure;
    }
    server_credentials = std::move(*credentials);
    builder.AddListeningPort(config->tcp_listen, server_credentials->GrpcCredentials(), &port);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!config->unix_socket.empty()) {
    ::umask(previous_umask);
    if (server && ::chmod(config->unix_socket.c_str(), config->socket_mode) != 0) {
      Fail("cannot set the socket's mode: " + std::string(std::strerror(errno)));
      return kExitFailure;
    }
  }
  if (!server || (config->unix_socket.empty() && port == 0)) {
    Fail("cannot listen on " + (address.empty() ? config->tcp_listen : address));
    return kExitFailure;
  }
  if (address.empty()) {
    address =
        config->tcp_listen.substr(0, config->tcp_listen.rfind(':') + 1) + std::to_string(port);
  }
  std::unique_ptr<signer::MetricsHttpServer> metrics_http;
  if (!config->metrics_listen.empty()) {
    auto started = signer::MetricsHttpServer::Start(
        signer::MetricsListenerOptions{config->metrics_listen, "", ""},
        [registry = &(*metrics)->registry] { return registry->Render(); });
    if (!started.ok()) {
      Fail("metrics: " + started.status().message());
      return kExitFailure;
    }
    metrics_http = std::move(*started);
  }
  // Signers that dial in: their own listener, mutual TLS against the signers' client CA; a stream
  // is accepted only from a certificate the pool lists as dial_in (gateway/uplink.h).
  std::unique_ptr<tls::ReloadableServerCredentials> uplink_credentials;
  std::unique_ptr<gateway::UplinkService> uplink_service;
  std::unique_ptr<grpc::Server> uplink_server;
  int uplink_port = 0;
  if (!config->uplink_listen.empty()) {
    auto credentials = tls::ReloadableServerCredentials::Create(*config->uplink_tls);
    if (!credentials.ok()) {
      Fail("uplink_tls: " + credentials.status().message());
      return kExitFailure;
    }
    uplink_credentials = std::move(*credentials);
    gateway::UpstreamPool* pool_ptr = pool->get();
    uplink_service = std::make_unique<gateway::UplinkService>(gateway::UplinkServiceOptions{
        [pool_ptr](const std::string& identity) { return pool_ptr->FindDialIn(identity); },
        [pool_ptr] { pool_ptr->CheckSoon(); }});
    grpc::ServerBuilder uplink_builder;
    uplink_builder.AddListeningPort(config->uplink_listen, uplink_credentials->GrpcCredentials(),
                                    &uplink_port);
    uplink_builder.RegisterService(uplink_service.get());
    uplink_builder.SetMaxReceiveMessageSize(kMaxUplinkFrameBytes);
    // Ping every signer's stream: one that stops answering (its link went away silently) ends,
    // and its calls fail over at once instead of waiting for their deadlines.
    const int keepalive = static_cast<int>(config->uplink_keepalive_ms);
    uplink_builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, keepalive);
    uplink_builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, keepalive);
    uplink_builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    // The signers ping on their own schedule (server.uplink.keepalive_ms, at least 100 ms); only
    // authenticated peers get this far, so their pings are not policed.
    uplink_builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 100);
    uplink_builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
    uplink_server = uplink_builder.BuildAndStart();
    if (!uplink_server || uplink_port == 0) {
      Fail("cannot listen on uplink_listen " + config->uplink_listen);
      return kExitFailure;
    }
  }
  std::printf("signer-gateway listening on %s\n", address.c_str());
  if (metrics_http) std::printf("signer-gateway metrics on %s\n", metrics_http->address().c_str());
  if (uplink_server) {
    std::printf("signer-gateway uplink on %s\n",
                (config->uplink_listen.substr(0, config->uplink_listen.rfind(':') + 1) +
                 std::to_string(uplink_port))
                    .c_str());
  }
  std::fflush(stdout);

  // The gateway's own health: SERVING while at least one signer may serve.
  // SIGINT and SIGTERM stop, SIGHUP reloads the pool list; RunDaemonMain blocked them before any
  // thread started, so only this loop receives them.
  const sigset_t signals = signer::DaemonSignals();
  const auto interval = std::chrono::milliseconds(config->health_interval_ms);
  const timespec wait{static_cast<time_t>(interval.count() / 1000),
                      static_cast<long>((interval.count() % 1000) * 1'000'000)};
  for (;;) {
    server->GetHealthCheckService()->SetServingStatus(!(*pool)->Candidates().empty());
    const int signal_number = ::sigtimedwait(&signals, nullptr, &wait);
    if (signal_number == SIGINT || signal_number == SIGTERM) break;
    if (signal_number == SIGHUP) ReloadPool(config_path, *config, **pool);
  }
  gateway::Log(gateway::LogLevel::kInfo, "shutting down");
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  // After the node's calls: those still in flight may be waiting on a dialed-in signer.
  if (uplink_server) uplink_server->Shutdown(std::chrono::system_clock::now());
  if (!config->unix_socket.empty()) ::unlink(config->unix_socket.c_str());
  return 0;
}

}  // namespace

// RunDaemonMain forbids core dumps first: the gateway holds no key, but its memory holds the node's
// payloads and its TLS key.
int main(int argc, char** argv) { return signer::RunDaemonMain("signer-gateway", argc, argv, Run); }
