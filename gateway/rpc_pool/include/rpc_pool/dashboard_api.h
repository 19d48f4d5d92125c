// The pool's public JSON API and dashboard page: routing, query validation and JSON rendering of
// what the controller knows, with no I/O of its own (DashboardServer puts it on HTTP).
//
// Thread safety: DashboardApi is thread-safe when its sources are (Handle is const and keeps no
// state between calls).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "rpc_pool/controller.h"
#include "rpc_pool/pool_history.h"

namespace rpc_pool {

// DashboardSettings is what the operator publishes about the pool (controller flags).
struct DashboardSettings {
  std::string name;                      // the load balancer's name
  double fee_percent = 0;                // the operator's fee on payouts, 0 to 100
  std::string contact;                   // how to reach the operator (e-mail, chat handle, URL)
  std::string selection = "roundrobin";  // HAProxy's balance algorithm for the pool
  uint32_t capacity = 0;                 // most member nodes (PoolRules::capacity)
  uint64_t points_period_ms = 0;         // the length of a points period
};

// ValidateDashboardSettings: name of 1 to 64 characters, contact of at most 128, both printable
// ASCII (they are shown to the public as given); fee from 0 to 100; selection `roundrobin` or
// `random`; capacity and points period not zero. Fails with kInvalidArgument naming the setting.
[[nodiscard]] base::Status ValidateDashboardSettings(const DashboardSettings& settings);

// HttpReply is a response DashboardServer sends as is (adding the security headers).
struct HttpReply {
  int status = 200;
  std::string content_type;
  std::string body;
  std::string allow;  // the Allow header of a 405; empty otherwise
};

// History pages: at most kMaxHistoryPage records per answer, kDefaultHistoryPage without
// `limit`; without `since` a page starts kDefaultHistorySinceMs before now.
inline constexpr size_t kMaxHistoryPage = 1000;
inline constexpr size_t kDefaultHistoryPage = 500;
inline constexpr uint64_t kDefaultHistorySinceMs = uint64_t{24} * 3600 * 1000;

// OverviewSource returns the controller's view (PoolController::Overview); HistorySource reads
// the history (PoolHistory::Read). Both are called on the server's threads.
using OverviewSource = std::function<ControllerOverview()>;
using HistorySource =
    std::function<base::Result<std::vector<HistoryRecord>>(const HistoryQuery& query)>;

// DashboardApi answers the routes of docs/rpc-pool.md ("Dashboard and JSON API"):
//   GET /api/v1/pool, GET /api/v1/nodes, GET /api/v1/nodes/{id}/history, GET /api/v1/history,
//   GET / and the page's static files.
// Any other path is 404, any other method on a known path 405, a bad query 400; every error is a
// JSON object {"error": "..."}. Node IDs, endpoints and everything else reported by nodes are
// JSON-escaped by the library; endpoints (a home node's address) are never published.
class DashboardApi {
 public:
  // The sources must stay valid while the API is used.
  DashboardApi(DashboardSettings settings, OverviewSource overview, HistorySource history);

  // Handle answers `method` on `path` (already percent-decoded, without the query) with `query`
  // (the raw text after '?', possibly empty). Never fails: errors are replies.
  HttpReply Handle(std::string_view method, std::string_view path, std::string_view query) const;

 private:
  HttpReply Pool() const;
  HttpReply Nodes() const;
  HttpReply History(std::string_view node_id, std::string_view query) const;

  const DashboardSettings settings_;
  const OverviewSource overview_;
  const HistorySource history_;
};

// NodeJson renders one member for /api/v1/nodes: `stat` is HAProxy's row for its server (null if
// none yet), `last_points` its share of the last closed points period (null if none), `now_ms`
// the overview's time. Public for tests.
nlohmann::json NodeJson(const NodeView& node, const ServerStat* stat, const NodePoints* last_points,
                        uint64_t now_ms);

// HistoryRecordJson renders one history record for the history routes, without what the pool
// keeps private (a heartbeat's endpoint). Public for tests.
nlohmann::json HistoryRecordJson(const HistoryRecord& record);

// DumpJson serialises `value` compactly; invalid UTF-8 in a string is replaced (U+FFFD), never
// an exception, since strings may come from nodes.
std::string DumpJson(const nlohmann::json& value);

}  // namespace rpc_pool
