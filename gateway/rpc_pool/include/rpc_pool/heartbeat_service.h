// The controller's gRPC heartbeat service: the caller's node ID is its client certificate's
// identity, the rest of the heartbeat comes from the request.
//
// Thread safety: HeartbeatService is thread-safe (gRPC calls it from its threads).
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>
#include <utility>
#include <vector>

#include "rpc_pool.grpc.pb.h"
#include "rpc_pool/controller.h"

namespace rpc_pool {

// kMaxHeartbeatBytes is the largest heartbeat message a server should accept
// (grpc::ServerBuilder::SetMaxReceiveMessageSize): a real one is under 300 bytes.
inline constexpr int kMaxHeartbeatBytes = 4096;

class HeartbeatService final : public v1::PoolController::Service {
 public:
  // `controller` must outlive the service. `aliases` is the heartbeat address of every clone of
  // this LB, this one included (empty: no clones), sent back with every answer.
  explicit HeartbeatService(PoolController& controller, std::vector<std::string> aliases = {})
      : controller_(controller), aliases_(std::move(aliases)) {}

  // Heartbeat answers UNAUTHENTICATED when the peer has no usable certificate identity,
  // INVALID_ARGUMENT when the identity is not a valid node ID, UNAVAILABLE when the history could
  // not record the outcome (the daemon sends again), and otherwise OK with the verdict (a refusal
  // is a verdict, not an error).
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;

 private:
  PoolController& controller_;
  const std::vector<std::string> aliases_;
};

}  // namespace rpc_pool
