// keyagentd processes and a signerd coordinator on loopback, for the threshold end-to-end tests.
//
// Everything lives under one directory the test owns, which must already hold pki/ (a dev PKI with
// server.crt/key, ca.crt and coordinator.crt/key), agent-policy.yaml and node-policy.yaml. Each
// agent has its own SoftHSM2 token, history and audit log under <dir>/<name>/; the coordinator has
// an empty token of its own under <dir>/coordinator/. Not thread-safe: drive it from the test's
// thread; the stubs it hands out may be used from any thread.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "key_agent.grpc.pb.h"
#include "remote_keystore.grpc.pb.h"
#include "support/process.h"
#include "support/softhsm.h"

namespace e2e {

// ThresholdProcesses owns the agents and the coordinator of one test.
class ThresholdProcesses {
 public:
  struct Agent {
    std::string name;  // its signer_id, token label and directory name
    std::filesystem::path dir;
    std::optional<support::SoftHsm> hsm;
    std::optional<support::ChildProcess> process;  // empty while stopped
    int port = 0;                                  // 0 until it first runs; then kept
    // The agents its threshold section lists as DKG peers; nullopt: no threshold section at all.
    std::optional<std::vector<size_t>> peers;
  };

  // `genesis_hex` (64 hex digits) is every history's genesis hash.
  ThresholdProcesses(std::filesystem::path dir, std::string genesis_hex);
  // Stops the coordinator, then every agent.
  ~ThresholdProcesses();
  ThresholdProcesses(const ThresholdProcesses&) = delete;
  ThresholdProcesses& operator=(const ThresholdProcesses&) = delete;

  std::vector<Agent>& agents() { return agents_; }

  // AddAgent makes the next agent's token and PIN file; it does not start it.
  base::Status AddAgent(const std::string& name);
  // StartAgent (re)starts agent i with its current peers and waits for its "listening" line; a
  // restart keeps the port the coordinator and the peers know. Fails quoting the agent's log.
  base::Status StartAgent(size_t i);
  // StopAgent sends `signal` to agent i and waits for it; nothing if it is not running.
  void StopAgent(size_t i, int signal);

  std::filesystem::path coordinator_dir() const { return dir_ / "coordinator"; }
  std::filesystem::path coordinator_config() const { return coordinator_dir() / "signerd.yaml"; }
  // WriteCoordinatorConfig writes signerd's configuration (making its token the first time): a
  // metrics listener and a threshold section naming every agent in order (identifiers 1..n), at
  // `override_port` instead of its own where one is given.
  base::Status WriteCoordinatorConfig(const std::map<size_t, int>& override_port = {});
  // StartCoordinator runs signerd and waits for its "listening" and "metrics" lines.
  base::Status StartCoordinator();
  int coordinator_port() const { return coordinator_port_; }
  int coordinator_metrics_port() const { return coordinator_metrics_port_; }
  std::string CoordinatorLog() const;

  // NodeStub calls the coordinator as the node would, with pki/<identity>.crt.
  std::unique_ptr<parity::polkadot::signer::RemoteKeystore::Stub> NodeStub(
      const std::string& identity) const;
  // AgentStub calls the agent on `port` with pki/<identity>.crt.
  std::unique_ptr<keyagent::v1::KeyAgent::Stub> AgentStub(int port,
                                                          const std::string& identity) const;

 private:
  std::filesystem::path dir_;
  std::string genesis_hex_;
  std::vector<Agent> agents_;
  std::optional<support::SoftHsm> coordinator_hsm_;
  std::optional<support::ChildProcess> coordinator_;
  int coordinator_port_ = 0;
  int coordinator_metrics_port_ = 0;
};

}  // namespace e2e
