// ConnectAgents: one mTLS channel per configured key agent.
#include "threshold/agent_channels.h"

#include <grpcpp/grpcpp.h>

#include "tls/grpc_credentials.h"

namespace signer {

base::Result<std::vector<AgentChannel>> ConnectAgents(const ThresholdConfig& config) {
  SIGNER_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                          tls::ClientChannelCredentials(tls::ClientCredentialFiles{
                              config.agent_ca_file, config.cert_file, config.key_file}));
  std::vector<AgentChannel> channels;
  for (const ThresholdAgentConfig& agent : config.agents) {
    grpc::ChannelArguments arguments;
    arguments.SetSslTargetNameOverride(agent.server_name);
    // Reconnect quickly after an agent restarts: a signature waits for t agents.
    arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1'000);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateCustomChannel(agent.address, credentials, arguments);
    channels.push_back(AgentChannel{agent, channel, keyagent::v1::KeyAgent::NewStub(channel)});
  }
  return channels;
}

}  // namespace signer
