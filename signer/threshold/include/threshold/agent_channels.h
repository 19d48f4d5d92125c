// Connecting to the key agents a threshold section names, one way for signerd and signerctl.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "key_agent.grpc.pb.h"
#include "signer/config.h"

namespace signer {

// AgentChannel is one configured agent and a stub on its mTLS channel.
struct AgentChannel {
  ThresholdAgentConfig config;
  std::shared_ptr<grpc::Channel> channel;  // for its connectivity state
  std::unique_ptr<keyagent::v1::KeyAgent::Stub> stub;
};

// ConnectAgents makes one channel per agent with the coordinator's client certificate, checking
// each agent's certificate against agent_ca_file and its server_name. Channels connect lazily, so
// this fails only on TLS files that cannot be loaded.
base::Result<std::vector<AgentChannel>> ConnectAgents(const ThresholdConfig& config);

}  // namespace signer
