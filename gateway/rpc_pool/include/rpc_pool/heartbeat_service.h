// The controller's gRPC heartbeat service: the caller's node ID is its client certificate's
// identity, the rest of the heartbeat comes from the request.
//
// Thread safety: HeartbeatService is thread-safe (gRPC calls it from its threads).
#pragma once

#include <grpcpp/grpcpp.h>

#include "rpc_pool.grpc.pb.h"
#include "rpc_pool/controller.h"

namespace rpc_pool {

// kMaxHeartbeatBytes is the largest heartbeat message a server should accept
// (grpc::ServerBuilder::SetMaxReceiveMessageSize): a real one is under 300 bytes.
inline constexpr int kMaxHeartbeatBytes = 4096;

class HeartbeatService final : public v1::PoolController::Service {
 public:
  // `controller` must outlive the service.
  explicit HeartbeatService(PoolController& controller) : controller_(controller) {}

  // Heartbeat answers UNAUTHENTICATED when the peer has no usable certificate identity,
  // INVALID_ARGUMENT when the identity is not a valid node ID, UNAVAILABLE when the history could
  // not record the outcome (the daemon sends again), and otherwise OK with the verdict (a refusal
  // is a verdict, not an error).
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;

 private:
  PoolController& controller_;
};

}  // namespace rpc_pool
