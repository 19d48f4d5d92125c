// Strict parsing of the node's JSON-RPC answers for the LB daemon.
#include "rpc_pool/node_rpc.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "base/json_depth.h"

namespace rpc_pool {
namespace {

using base::Result;
using base::Status;

constexpr int kMaxDepth = 16;
constexpr size_t kMaxVersionLength = 256;

bool IsHex(std::string_view digits) {
  return std::all_of(digits.begin(), digits.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

// Result reads the envelope and returns the "result" member.
Result<nlohmann::json> ResultOf(std::string_view answer, uint64_t id) {
  if (answer.size() > kMaxNodeAnswerBytes) {
    return Status::InvalidArgument("node answer over " + std::to_string(kMaxNodeAnswerBytes) +
                                   " bytes");
  }
  if (!base::JsonNestingWithin(answer, kMaxDepth)) {
    return Status::InvalidArgument("node answer nests too deep");
  }
  nlohmann::json envelope = nlohmann::json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (envelope.is_discarded() || !envelope.is_object()) {
    return Status::InvalidArgument("node answer is not a JSON object");
  }
  const auto version = envelope.find("jsonrpc");
  if (version == envelope.end() || *version != "2.0") {
    return Status::InvalidArgument("node answer is not JSON-RPC 2.0");
  }
  const auto answered_id = envelope.find("id");
  if (answered_id == envelope.end() || !answered_id->is_number_unsigned() ||
      answered_id->get<uint64_t>() != id) {
    return Status::InvalidArgument("node answer carries another id");
  }
  if (const auto error = envelope.find("error"); error != envelope.end()) {
    std::string message = "node answered with an error";
    if (error->is_object() && error->contains("message") && (*error)["message"].is_string()) {
      message += ": " + (*error)["message"].get<std::string>().substr(0, 200);
    }
    return Status::Unavailable(message);
  }
  const auto result = envelope.find("result");
  if (result == envelope.end()) return Status::InvalidArgument("node answer has no result");
  return std::move(*result);
}

}  // namespace

std::string JsonRpcRequest(uint64_t id, std::string_view method, std::string_view params_json) {
  std::string body = R"({"jsonrpc":"2.0","id":)";
  body.append(std::to_string(id)).append(R"(,"method":")").append(method);
  body.append(R"(","params":)").append(params_json).append("}");
  return body;
}

Result<NodeHealth> ParseHealth(std::string_view answer, uint64_t id) {
  SIGNER_ASSIGN_OR_RETURN(const nlohmann::json result, ResultOf(answer, id));
  if (!result.is_object()) return Status::InvalidArgument("system_health result is not an object");
  const auto peers = result.find("peers");
  const auto syncing = result.find("isSyncing");
  const auto should_have_peers = result.find("shouldHavePeers");
  if (peers == result.end() || !peers->is_number_unsigned() ||
      peers->get<uint64_t>() > UINT32_MAX || syncing == result.end() || !syncing->is_boolean() ||
      should_have_peers == result.end() || !should_have_peers->is_boolean()) {
    return Status::InvalidArgument(
        "system_health result lacks peers, isSyncing or shouldHavePeers");
  }
  return NodeHealth{.peers = static_cast<uint32_t>(peers->get<uint64_t>()),
                    .is_syncing = syncing->get<bool>(),
                    .should_have_peers = should_have_peers->get<bool>()};
}

Result<uint64_t> ParseBlockNumberFromHeader(std::string_view answer, uint64_t id) {
  SIGNER_ASSIGN_OR_RETURN(const nlohmann::json result, ResultOf(answer, id));
  if (!result.is_object()) return Status::InvalidArgument("chain_getHeader result is not a header");
  const auto number = result.find("number");
  if (number == result.end() || !number->is_string()) {
    return Status::InvalidArgument("header has no number");
  }
  const std::string& text = number->get_ref<const std::string&>();
  // Substrate renders a block number as 0x-prefixed hex without leading zeros.
  const std::string_view digits = std::string_view(text).substr(text.starts_with("0x") ? 2 : 0);
  if (!text.starts_with("0x") || digits.empty() || digits.size() > 16 || !IsHex(digits)) {
    return Status::InvalidArgument("header number is not 0x-prefixed hex of at most 64 bits");
  }
  uint64_t value = 0;
  const auto [end, error] =
      std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
  if (error != std::errc() || end != digits.data() + digits.size()) {
    return Status::InvalidArgument("header number does not parse");
  }
  return value;
}

Result<std::string> ParseBlockHash(std::string_view answer, uint64_t id) {
  SIGNER_ASSIGN_OR_RETURN(const nlohmann::json result, ResultOf(answer, id));
  if (!result.is_string()) return Status::InvalidArgument("block hash is not a string");
  const std::string& hash = result.get_ref<const std::string&>();
  if (hash.size() != 66 || !hash.starts_with("0x") || !IsHex(std::string_view(hash).substr(2))) {
    return Status::InvalidArgument("block hash is not 0x and 64 hex digits");
  }
  return hash;
}

Result<std::string> ParseVersion(std::string_view answer, uint64_t id) {
  SIGNER_ASSIGN_OR_RETURN(const nlohmann::json result, ResultOf(answer, id));
  if (!result.is_string()) return Status::InvalidArgument("system_version is not a string");
  const std::string& version = result.get_ref<const std::string&>();
  const bool printable = std::all_of(version.begin(), version.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  if (version.empty() || version.size() > kMaxVersionLength || !printable) {
    return Status::InvalidArgument("system_version is empty, too long or not printable ASCII");
  }
  return version;
}

}  // namespace rpc_pool
