// The heartbeat service: identity from the certificate, verdict from the controller.
#include "rpc_pool/heartbeat_service.h"

#include "tls/grpc_credentials.h"

namespace rpc_pool {
namespace {

v1::HeartbeatResponse::Verdict ToProto(HeartbeatVerdict verdict) {
  switch (verdict) {
    case HeartbeatVerdict::kAccepted:
      return v1::HeartbeatResponse::ACCEPTED;
    case HeartbeatVerdict::kWrongSettingsHash:
      return v1::HeartbeatResponse::WRONG_SETTINGS_HASH;
    case HeartbeatVerdict::kNotWhitelisted:
      return v1::HeartbeatResponse::NOT_WHITELISTED;
    case HeartbeatVerdict::kPoolFull:
      return v1::HeartbeatResponse::POOL_FULL;
    case HeartbeatVerdict::kRemoved:
      return v1::HeartbeatResponse::REMOVED;
    case HeartbeatVerdict::kMalformed:
      return v1::HeartbeatResponse::MALFORMED;
  }
  return v1::HeartbeatResponse::VERDICT_UNSPECIFIED;
}

}  // namespace

grpc::Status HeartbeatService::Heartbeat(grpc::ServerContext* context,
                                         const v1::HeartbeatRequest* request,
                                         v1::HeartbeatResponse* response) {
  const std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
  if (!auth) return {grpc::StatusCode::UNAUTHENTICATED, "no client certificate"};
  const base::Result<std::string> identity = tls::PeerIdentity(*auth);
  if (!identity.ok()) return {grpc::StatusCode::UNAUTHENTICATED, identity.status().message()};
  if (!IsValidNodeId(*identity)) {
    return {grpc::StatusCode::INVALID_ARGUMENT, "the certificate's identity is not a node ID"};
  }
  const rpc_pool::Heartbeat heartbeat{.node_id = *identity,
                                      .settings_hash = request->settings_hash(),
                                      .best_block = request->best_block(),
                                      .finalized_block = request->finalized_block(),
                                      .rpc_endpoint = request->rpc_endpoint(),
                                      .peers = request->peers(),
                                      .memory_bytes = request->memory_bytes()};
  const base::Result<HeartbeatVerdict> verdict = controller_.OnHeartbeat(heartbeat);
  if (!verdict.ok()) {
    return {grpc::StatusCode::UNAVAILABLE,
            "the pool could not record it: " + verdict.status().message()};
  }
  response->set_verdict(ToProto(*verdict));
  if (*verdict == HeartbeatVerdict::kMalformed) {
    response->set_reason(std::string(MalformedReasonName(controller_.CheckHeartbeat(heartbeat))));
  }
  for (const std::string& alias : aliases_) response->add_aliases(alias);
  for (const NodeView& node : controller_.Nodes()) {
    if (node.node_id != *identity) continue;
    response->set_state(std::string(NodeStateName(node.state)));
    if (node.state == NodeState::kCooldown) {
      response->set_cooldown_until_ms(node.cooldown_until_ms);
    }
  }
  return grpc::Status::OK;
}

}  // namespace rpc_pool
