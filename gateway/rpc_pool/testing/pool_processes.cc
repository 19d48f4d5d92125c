// Test support: the pool's programs started as real processes on loopback.
#include "testing/pool_processes.h"

#include <optional>
#include <utility>

#include "support/dev_pki.h"
#include "support/files.h"

namespace rpc_pool::testing {
namespace {

// PortAfterLastColon reads the port at the end of a "… HOST:PORT" line.
int PortAfterLastColon(const std::string& line) {
  return std::stoi(line.substr(line.rfind(':') + 1));
}

}  // namespace

base::Result<StartedController> LaunchController(const ControllerLaunch& launch,
                                                 std::chrono::milliseconds wait) {
  const tls::ServerCredentialFiles server = support::DevPkiServerFiles(launch.pki);
  std::vector<std::string> argv = {launch.program,
                                   "--listen",
                                   launch.listen,
                                   "--tls-cert",
                                   server.certificate_chain.string(),
                                   "--tls-key",
                                   server.private_key.string(),
                                   "--client-ca",
                                   server.client_ca.string(),
                                   "--haproxy-socket",
                                   launch.haproxy_admin_socket,
                                   "--history-dir",
                                   launch.history_dir.string(),
                                   "--settings-hash",
                                   launch.settings_hash,
                                   "--tick-ms",
                                   launch.tick_ms};
  // The fake nodes listen on loopback, which production refuses as a node's endpoint.
  argv.push_back("--allow-loopback-endpoints");
  argv.insert(argv.end(), launch.extra_flags.begin(), launch.extra_flags.end());
  support::ChildOptions options;
  options.stderr_file = launch.log;
  SIGNER_ASSIGN_OR_RETURN(support::ChildProcess process,
                          support::ChildProcess::Start(argv, options));
  StartedController started{std::move(process)};
  // The listeners print a line each, in an order that depends on the flags; the heartbeat
  // listener's comes last.
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (started.port == 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const std::optional<std::string> line =
        left.count() > 0 ? started.process.ReadLine(left) : std::nullopt;
    if (!line) {
      return base::Status::Unavailable("the controller did not start: " +
                                       support::ReadFile(launch.log));
    }
    if (line->find("metrics on") != std::string::npos) {
      started.metrics_port = PortAfterLastColon(*line);
    } else if (line->find("dashboard on") != std::string::npos) {
      started.dashboard_port = PortAfterLastColon(*line);
    } else if (line->find("listening on") != std::string::npos) {
      started.port = PortAfterLastColon(*line);
    }
  }
  return started;
}

base::Result<support::ChildProcess> LaunchDaemon(const DaemonLaunch& launch) {
  const tls::ClientCredentialFiles files = support::DevPkiClientFiles(launch.pki, launch.node_id);
  std::vector<std::string> argv = {launch.program,
                                   "--node-rpc",
                                   "127.0.0.1:" + std::to_string(launch.node_port),
                                   "--server-ca",
                                   files.server_ca.string(),
                                   "--cert",
                                   files.certificate.string(),
                                   "--key",
                                   files.private_key.string(),
                                   "--interval-ms",
                                   launch.interval_ms};
  for (const std::string& controller : launch.controllers) {
    argv.insert(argv.end(), {"--controller", controller});
  }
  if (!launch.rpc_endpoint.empty())
    argv.insert(argv.end(), {"--rpc-endpoint", launch.rpc_endpoint});
  if (!launch.settings_hash.empty()) {
    argv.insert(argv.end(), {"--settings-hash", launch.settings_hash});
  }
  if (!launch.node_flags.empty()) {
    argv.emplace_back("--");
    argv.insert(argv.end(), launch.node_flags.begin(), launch.node_flags.end());
  }
  support::ChildOptions options;
  options.stderr_file = launch.log;
  return support::ChildProcess::Start(argv, options);
}

}  // namespace rpc_pool::testing
