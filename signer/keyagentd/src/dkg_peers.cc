// GrpcDkgPeers: DkgDeliver calls to the configured peer agents.
#include "keyagentd/dkg_peers.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <string>
#include <utility>

#include "base/secret_bytes.h"
#include "metrics/registry.h"

namespace signer {
namespace {

std::string StringOf(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

base::Result<std::unique_ptr<GrpcDkgPeers>> GrpcDkgPeers::Connect(const ThresholdConfig& config) {
  SIGNER_ASSIGN_OR_RETURN(std::vector<AgentChannel> channels, ConnectAgents(config));
  return std::unique_ptr<GrpcDkgPeers>(
      new GrpcDkgPeers(std::move(channels), std::chrono::milliseconds(config.timeout_ms)));
}

const AgentChannel* GrpcDkgPeers::Find(std::string_view name) const {
  auto it = std::find_if(channels_.begin(), channels_.end(),
                         [&](const AgentChannel& channel) { return channel.config.name == name; });
  return it == channels_.end() ? nullptr : &*it;
}

bool GrpcDkgPeers::Knows(std::string_view name) const { return Find(name) != nullptr; }

base::Status GrpcDkgPeers::Deliver(std::string_view name, const DkgDelivery& delivery) {
  const AgentChannel* peer = Find(name);
  if (peer == nullptr) return base::Status::NotFound(std::string(name) + " is not a peer");
  keyagent::v1::DkgDeliverRequest request;
  request.set_session_id(StringOf(delivery.session_id));
  request.set_share(StringOf(delivery.share));
  request.set_round1_view_hash(StringOf(delivery.view_hash));
  keyagent::v1::DkgDeliverReply reply;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout_);
  const grpc::Status status = peer->stub->DkgDeliver(&context, request, &reply);
  // The request held a copy of the secret share; overwrite it before it is freed.
  std::string* share = request.mutable_share();
  base::Wipe({reinterpret_cast<uint8_t*>(share->data()), share->size()});
  if (status.ok()) return base::Status::Ok();
  const std::string detail =
      std::string(GrpcCodeName(status.error_code())) + ": " + status.error_message();
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return base::Status::Unavailable("unreachable (" + detail + ")");
  }
  return base::Status::FailedPrecondition("refused (" + detail + ")");
}

}  // namespace signer
