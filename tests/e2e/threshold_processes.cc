// ThresholdProcesses: agents' and a coordinator's tokens, configurations and processes.
#include "threshold_processes.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <csignal>
#include <utility>

#include "support/dev_pki.h"
#include "support/files.h"
#include "support/locations.h"

namespace e2e {
namespace {

namespace fs = std::filesystem;

constexpr char kAgentPin[] = "agent-pin";
constexpr char kCoordinatorPin[] = "coordinator-pin";

// LineAfter reads `child`'s next stdout line and returns what follows `prefix` in it.
base::Result<std::string> LineAfter(support::ChildProcess& child, const std::string& prefix,
                                    std::chrono::seconds timeout, const std::string& who,
                                    const fs::path& log) {
  const std::optional<std::string> line = child.ReadLine(timeout);
  if (!line.has_value() || line->rfind(prefix, 0) != 0) {
    return base::Status::Unavailable(who + " said " + line.value_or("nothing") + "; log:\n" +
                                     support::ReadFile(log));
  }
  return line->substr(prefix.size());
}

// ServerSection is the listener part both programs' configurations share.
std::string ServerSection(const std::string& listen, const std::string& policy_file) {
  return "server:\n  listen: \"" + listen +
         "\"\n  tls:\n    cert_file: ../pki/server.crt\n    key_file: ../pki/server.key\n"
         "    client_ca_file: ../pki/ca.crt\n  policy_file: " +
         policy_file + "\n  audit_log: audit.jsonl\n";
}

}  // namespace

ThresholdProcesses::ThresholdProcesses(fs::path dir, std::string genesis_hex)
    : dir_(std::move(dir)), genesis_hex_(std::move(genesis_hex)) {}

ThresholdProcesses::~ThresholdProcesses() {
  coordinator_.reset();
  for (Agent& agent : agents_) agent.process.reset();
}

base::Status ThresholdProcesses::AddAgent(const std::string& name) {
  Agent agent;
  agent.name = name;
  agent.dir = dir_ / name;
  SIGNER_ASSIGN_OR_RETURN(support::SoftHsm hsm, support::SoftHsm::Create(agent.dir));
  SIGNER_RETURN_IF_ERROR(hsm.InitToken(name, kAgentPin, "agent-so-pin"));
  agent.hsm = std::move(hsm);
  SIGNER_RETURN_IF_ERROR(support::WriteFile(agent.dir / "hsm.pin", kAgentPin, 0600));
  agents_.push_back(std::move(agent));
  return base::Status::Ok();
}

base::Status ThresholdProcesses::StartAgent(size_t i) {
  Agent& agent = agents_.at(i);
  std::string threshold;
  if (agent.peers) {
    threshold = "threshold:\n  cert_file: ../pki/" + agent.name + ".crt\n  key_file: ../pki/" +
                agent.name +
                ".key\n  agent_ca_file: ../pki/ca.crt\n  timeout_ms: 5000\n  agents:\n";
    for (size_t peer : *agent.peers) {
      threshold += "    - {name: " + agents_.at(peer).name +
                   ", address: \"127.0.0.1:" + std::to_string(agents_[peer].port) +
                   "\", server_name: localhost}\n";
    }
  }
  SIGNER_RETURN_IF_ERROR(support::WriteFile(
      agent.dir / "agent.yaml",
      "signer_id: " + agent.name + "\nhsm:\n  module: " + SIGNER_SOFTHSM2_MODULE +
          "\n  token_label: " + agent.name +
          "\n  pin_file: hsm.pin\nhistory:\n  data_dir: history\n  genesis_hash: \"0x" +
          genesis_hex_ + "\"\n" +
          ServerSection("127.0.0.1:" + std::to_string(agent.port), "../agent-policy.yaml") +
          threshold,
      0600));
  support::ChildOptions options;
  options.set_env = {agent.hsm->ConfigEnv()};
  options.stderr_file = agent.dir / "agent.log";
  SIGNER_ASSIGN_OR_RETURN(support::ChildProcess child,
                          support::ChildProcess::Start({support::Location("keyagentd"), "--config",
                                                        (agent.dir / "agent.yaml").string()},
                                                       options));
  SIGNER_ASSIGN_OR_RETURN(const std::string port,
                          LineAfter(child, "keyagentd listening on 127.0.0.1:",
                                    std::chrono::seconds(60), agent.name, agent.dir / "agent.log"));
  child.CloseStdout();
  agent.port = std::stoi(port);
  agent.process = std::move(child);
  return base::Status::Ok();
}

void ThresholdProcesses::StopAgent(size_t i, int signal) {
  Agent& agent = agents_.at(i);
  if (!agent.process) return;
  agent.process->Stop(signal);
  agent.process.reset();
}

base::Status ThresholdProcesses::WriteCoordinatorConfig(
    const std::map<size_t, int>& override_port) {
  if (!coordinator_hsm_) {
    SIGNER_ASSIGN_OR_RETURN(support::SoftHsm hsm, support::SoftHsm::Create(coordinator_dir()));
    SIGNER_RETURN_IF_ERROR(hsm.InitToken("coordinator", kCoordinatorPin, "coordinator-so-pin"));
    coordinator_hsm_ = std::move(hsm);
    SIGNER_RETURN_IF_ERROR(
        support::WriteFile(coordinator_dir() / "hsm.pin", kCoordinatorPin, 0600));
  }
  std::string agents;
  for (size_t i = 0; i < agents_.size(); ++i) {
    const auto it = override_port.find(i);
    const int port = it == override_port.end() ? agents_[i].port : it->second;
    agents += "    - {name: " + agents_[i].name + ", address: \"127.0.0.1:" + std::to_string(port) +
              "\", server_name: localhost}\n";
  }
  return support::WriteFile(
      coordinator_config(),
      "signer_id: coordinator\nhsm:\n  module: " + std::string(SIGNER_SOFTHSM2_MODULE) +
          "\n  token_label: coordinator\n  pin_file: hsm.pin\n"
          "history:\n  data_dir: history\n  genesis_hash: \"0x" +
          genesis_hex_ + "\"\n" + ServerSection("127.0.0.1:0", "../node-policy.yaml") +
          "  metrics_listen: \"127.0.0.1:0\"\n"
          "threshold:\n  cert_file: ../pki/coordinator.crt\n  key_file: ../pki/coordinator.key\n"
          "  agent_ca_file: ../pki/ca.crt\n  timeout_ms: 3000\n  agents:\n" +
          agents,
      0600);
}

base::Status ThresholdProcesses::StartCoordinator() {
  support::ChildOptions options;
  options.set_env = {coordinator_hsm_->ConfigEnv()};
  options.stderr_file = coordinator_dir() / "signerd.log";
  SIGNER_ASSIGN_OR_RETURN(
      support::ChildProcess child,
      support::ChildProcess::Start(
          {support::Location("signerd"), "--config", coordinator_config().string()}, options));
  SIGNER_ASSIGN_OR_RETURN(
      const std::string port,
      LineAfter(child, "signerd listening on 127.0.0.1:", std::chrono::seconds(60),
                "the coordinator", coordinator_dir() / "signerd.log"));
  SIGNER_ASSIGN_OR_RETURN(
      const std::string metrics_port,
      LineAfter(child, "signerd metrics on 127.0.0.1:", std::chrono::seconds(10), "the coordinator",
                coordinator_dir() / "signerd.log"));
  child.CloseStdout();
  coordinator_port_ = std::stoi(port);
  coordinator_metrics_port_ = std::stoi(metrics_port);
  coordinator_ = std::move(child);
  return base::Status::Ok();
}

std::string ThresholdProcesses::CoordinatorLog() const {
  return support::ReadFile(coordinator_dir() / "signerd.log");
}

std::unique_ptr<parity::polkadot::signer::RemoteKeystore::Stub> ThresholdProcesses::NodeStub(
    const std::string& identity) const {
  auto credentials = support::DevPkiClientCredentials(dir_ / "pki", identity);
  if (!credentials.ok()) return nullptr;
  grpc::ChannelArguments arguments;
  arguments.SetSslTargetNameOverride("localhost");
  return parity::polkadot::signer::RemoteKeystore::NewStub(grpc::CreateCustomChannel(
      "127.0.0.1:" + std::to_string(coordinator_port_), *credentials, arguments));
}

std::unique_ptr<keyagent::v1::KeyAgent::Stub> ThresholdProcesses::AgentStub(
    int port, const std::string& identity) const {
  auto credentials = support::DevPkiClientCredentials(dir_ / "pki", identity);
  if (!credentials.ok()) return nullptr;
  grpc::ChannelArguments arguments;
  arguments.SetSslTargetNameOverride("localhost");
  return keyagent::v1::KeyAgent::NewStub(
      grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), *credentials, arguments));
}

}  // namespace e2e
