// What the LB daemon reads from its node's JSON-RPC: request bodies for the four calls it makes,
// and strict parsing of the answers (which come over the network and are never trusted).
//
// Thread safety: everything here is a pure function, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rpc_pool {

// kMaxNodeAnswerBytes bounds one JSON-RPC answer: a header is well under a kilobyte, and a node
// (or something posing as one) sending more is refused rather than buffered.
inline constexpr size_t kMaxNodeAnswerBytes = size_t{256} * 1024;

// JsonRpcRequest renders {"jsonrpc":"2.0","id":<id>,"method":<method>,"params":<params_json>}.
// `params_json` is a JSON array rendered by the caller (e.g. "[]").
std::string JsonRpcRequest(uint64_t id, std::string_view method, std::string_view params_json);

// NodeHealth is system_health's answer.
struct NodeHealth {
  uint32_t peers = 0;
  bool is_syncing = false;
  bool should_have_peers = true;
};

// ParseHealth, ParseBlockNumberFromHeader, ParseBlockHash and ParseVersion read the answer to
// system_health, chain_getHeader, chain_getFinalizedHead and system_version for request `id`.
// Each fails with kInvalidArgument on an answer over kMaxNodeAnswerBytes, nesting too deep, not
// JSON-RPC 2.0, with another id, or whose result has the wrong shape (a block number that is not
// 0x-prefixed hex fitting 64 bits, a hash that is not 32 bytes of hex); and with kUnavailable
// when the node answered with a JSON-RPC error (its message included).
[[nodiscard]] base::Result<NodeHealth> ParseHealth(std::string_view answer, uint64_t id);
[[nodiscard]] base::Result<uint64_t> ParseBlockNumberFromHeader(std::string_view answer,
                                                                uint64_t id);
[[nodiscard]] base::Result<std::string> ParseBlockHash(std::string_view answer, uint64_t id);
[[nodiscard]] base::Result<std::string> ParseVersion(std::string_view answer, uint64_t id);

}  // namespace rpc_pool
