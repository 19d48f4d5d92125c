// The LB daemon's view of its node: the JSON-RPC calls over HTTP that make one heartbeat.
//
// Thread safety: NodeRpcClient is thread-safe (each call has its own libcurl handle and
// connection).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "rpc_pool/node_rpc.h"

namespace rpc_pool {

// NodeStatus is what one poll of the node found.
struct NodeStatus {
  NodeHealth health;
  uint64_t best_block = 0;
  uint64_t finalized_block = 0;
  std::string version;
};

// NodeClientOptions: where the node's HTTP JSON-RPC listens and how long one call may take.
struct NodeClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9944;
  std::chrono::milliseconds timeout{2000};  // per call: connect, send, answer
};

class NodeRpcClient {
 public:
  explicit NodeRpcClient(NodeClientOptions options) : options_(std::move(options)) {}

  // Call posts one JSON-RPC request (plain HTTP, no proxy, no redirect) and returns the body of
  // the answer. Fails with kUnavailable when the node cannot be reached or does not answer within
  // the timeout, kInvalidArgument on an answer that is not HTTP 200 or is over
  // kMaxNodeAnswerBytes, and kInternal when libcurl cannot set up the call.
  [[nodiscard]] base::Result<std::string> Call(uint64_t id, std::string_view method,
                                               std::string_view params_json) const;

  // Poll asks system_health, chain_getHeader, chain_getFinalizedHead, the finalized header and
  // system_version. Fails with the first call's error or a parse error (node_rpc.h), and with
  // kInvalidArgument when the node reports finalized above best.
  [[nodiscard]] base::Result<NodeStatus> Poll() const;

 private:
  const NodeClientOptions options_;
};

}  // namespace rpc_pool
