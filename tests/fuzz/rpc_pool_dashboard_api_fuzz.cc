// libFuzzer target: arbitrary requests (method, path, query) to the pool dashboard's JSON API.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "rpc_pool/dashboard_api.h"

namespace {

// A pool of one member of each state, with a history that echoes what was asked for, so the
// history routes render records whose node is the (validated) ID from the path.
rpc_pool::ControllerOverview Overview() {
  rpc_pool::ControllerOverview overview;
  overview.at_ms = 1'700'000'000'000;
  overview.pool_best = 100;
  for (const rpc_pool::NodeState state :
       {rpc_pool::NodeState::kInService, rpc_pool::NodeState::kCooldown,
        rpc_pool::NodeState::kRemoved}) {
    rpc_pool::NodeView node;
    node.node_id = std::string("node-") + std::string(rpc_pool::NodeStateName(state));
    node.state = state;
    overview.nodes.push_back(node);
  }
  return overview;
}

base::Result<std::vector<rpc_pool::HistoryRecord>> Read(const rpc_pool::HistoryQuery& query) {
  std::vector<rpc_pool::HistoryRecord> records;
  for (size_t i = 0; i < 3 && i < query.limit; ++i) {
    rpc_pool::Heartbeat beat;
    beat.node_id = query.node_id.value_or("node-a");
    beat.rpc_endpoint = "192.0.2.1:9944";
    records.push_back(rpc_pool::MakeHeartbeatRecord(query.from_ms + i / 2, beat));
  }
  return records;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rpc_pool::DashboardApi api({.name = "fuzz",
                                           .fee_percent = 1,
                                           .contact = "",
                                           .selection = "random",
                                           .capacity = 4,
                                           .points_period_ms = 1000},
                                          Overview, Read);
  // Input: method '\n' path '\n' query.
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const size_t first = text.find('\n');
  const std::string_view method = text.substr(0, first);
  text = first == std::string_view::npos ? std::string_view() : text.substr(first + 1);
  const size_t second = text.find('\n');
  const std::string_view path = text.substr(0, second);
  const std::string_view query =
      second == std::string_view::npos ? std::string_view() : text.substr(second + 1);
  const rpc_pool::HttpReply reply = api.Handle(method, path, query);
  if (reply.status != 200 && reply.status != 400 && reply.status != 404 && reply.status != 405 &&
      reply.status != 503) {
    __builtin_trap();
  }
  // Every JSON answer parses, and no endpoint ever leaves (a node ID cannot hold the colon).
  if (reply.content_type.starts_with("application/json")) {
    if (nlohmann::json::parse(reply.body, nullptr, false).is_discarded()) __builtin_trap();
    if (reply.body.find("192.0.2.1:9944") != std::string::npos) __builtin_trap();
  }
  return 0;
}
