// The KeyAgent gRPC service: wire messages in, KeyAgent calls, status codes out.
#pragma once

#include <grpcpp/grpcpp.h>

#include "key_agent.grpc.pb.h"
#include "keyagentd/key_agent.h"

namespace signer {

// KeyAgentService adapts the generated synchronous service to KeyAgent. The caller's identity is
// the verified client certificate's (tls::PeerIdentity). Thread-safe (KeyAgent is).
class KeyAgentService final : public keyagent::v1::KeyAgent::Service {
 public:
  explicit KeyAgentService(KeyAgent& agent) : agent_(agent) {}

  grpc::Status Commit(grpc::ServerContext* context, const keyagent::v1::CommitRequest* request,
                      keyagent::v1::CommitReply* reply) override;
  grpc::Status SignShare(grpc::ServerContext* context,
                         const keyagent::v1::SignShareRequest* request,
                         keyagent::v1::SignShareReply* reply) override;
  grpc::Status ImportShare(grpc::ServerContext* context,
                           const keyagent::v1::ImportShareRequest* request,
                           keyagent::v1::ImportShareReply* reply) override;
  grpc::Status ListShares(grpc::ServerContext* context,
                          const keyagent::v1::ListSharesRequest* request,
                          keyagent::v1::ListSharesReply* reply) override;
  grpc::Status DkgRound1(grpc::ServerContext* context,
                         const keyagent::v1::DkgRound1Request* request,
                         keyagent::v1::DkgRound1Reply* reply) override;
  grpc::Status DkgRound2(grpc::ServerContext* context,
                         const keyagent::v1::DkgRound2Request* request,
                         keyagent::v1::DkgRound2Reply* reply) override;
  grpc::Status DkgDeliver(grpc::ServerContext* context,
                          const keyagent::v1::DkgDeliverRequest* request,
                          keyagent::v1::DkgDeliverReply* reply) override;
  grpc::Status DkgFinalize(grpc::ServerContext* context,
                           const keyagent::v1::DkgFinalizeRequest* request,
                           keyagent::v1::DkgFinalizeReply* reply) override;
  grpc::Status DkgAbort(grpc::ServerContext* context, const keyagent::v1::DkgAbortRequest* request,
                        keyagent::v1::DkgAbortReply* reply) override;

 private:
  KeyAgent& agent_;
};

}  // namespace signer
