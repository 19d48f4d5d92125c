// GrpcDkgPeers: an agent's DKG peers (its configuration's threshold section) over mTLS.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "keyagentd/key_agent.h"
#include "signer/config.h"
#include "threshold/agent_channels.h"

namespace signer {

// GrpcDkgPeers delivers DKG shares to the peer agents a threshold section lists, over channels
// made by ConnectAgents: the agent's own client certificate (cert_file, key_file), each peer's
// server certificate checked against agent_ca_file and its server_name, and timeout_ms per
// delivery. Thread-safe (gRPC stubs are).
class GrpcDkgPeers final : public DkgPeers {
 public:
  // Connect makes one lazy channel per peer. Fails as ConnectAgents does (TLS files that cannot be
  // loaded).
  static base::Result<std::unique_ptr<GrpcDkgPeers>> Connect(const ThresholdConfig& config);

  bool Knows(std::string_view name) const override;
  base::Status Deliver(std::string_view name, const DkgDelivery& delivery) override;

 private:
  GrpcDkgPeers(std::vector<AgentChannel> channels, std::chrono::milliseconds timeout)
      : channels_(std::move(channels)), timeout_(timeout) {}

  const AgentChannel* Find(std::string_view name) const;

  std::vector<AgentChannel> channels_;
  std::chrono::milliseconds timeout_;
};

}  // namespace signer
