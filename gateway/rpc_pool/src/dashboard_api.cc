// The dashboard's JSON API: routes, query validation and rendering of the controller's view.
#include "rpc_pool/dashboard_api.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <utility>

#include "dashboard_assets.h"

namespace rpc_pool {
namespace {

using base::Result;
using base::Status;
using nlohmann::json;

constexpr char kJsonType[] = "application/json; charset=utf-8";
constexpr std::string_view kApiPrefix = "/api/v1/";

HttpReply JsonReply(int status, const json& body) {
  return {.status = status, .content_type = kJsonType, .body = DumpJson(body), .allow = ""};
}

HttpReply Error(int status, std::string_view message) {
  return JsonReply(status, json{{"error", message}});
}

bool Printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::optional<HistoryKind> KindFromName(std::string_view name) {
  for (HistoryKind kind :
       {HistoryKind::kHeartbeat, HistoryKind::kEvent, HistoryKind::kPoints, HistoryKind::kPayout}) {
    if (HistoryKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

bool ParseDecimal(std::string_view text, uint64_t& out) {
  // from_chars refuses signs and reports overflow; the length bound keeps the work small.
  if (text.empty() || text.size() > 20) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

// HistoryParams are a history route's query: since (ms, inclusive), limit, kind.
struct HistoryParams {
  std::optional<uint64_t> since_ms;
  size_t limit = kDefaultHistoryPage;
  std::optional<HistoryKind> kind;
};

// ParseHistoryQuery reads `since`, `limit` and `kind`, each at most once. Values are digits or a
// kind's name, so anything percent-encoded or unknown is refused rather than guessed at.
Result<HistoryParams> ParseHistoryQuery(std::string_view query) {
  HistoryParams params;
  bool seen_since = false;
  bool seen_limit = false;
  bool seen_kind = false;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t equals = pair.find('=');
    if (equals == std::string_view::npos) {
      return Status::InvalidArgument("query parameter without a value");
    }
    const std::string_view name = pair.substr(0, equals);
    const std::string_view value = pair.substr(equals + 1);
    if (name == "since" && !seen_since) {
      seen_since = true;
      uint64_t since = 0;
      if (!ParseDecimal(value, since)) {
        return Status::InvalidArgument("since must be milliseconds since 1970, in decimal");
      }
      params.since_ms = since;
    } else if (name == "limit" && !seen_limit) {
      seen_limit = true;
      uint64_t limit = 0;
      if (!ParseDecimal(value, limit) || limit == 0 || limit > kMaxHistoryPage) {
        return Status::InvalidArgument("limit must be from 1 to " +
                                       std::to_string(kMaxHistoryPage));
      }
      params.limit = static_cast<size_t>(limit);
    } else if (name == "kind" && !seen_kind) {
      seen_kind = true;
      params.kind = KindFromName(value);
      if (!params.kind) {
        return Status::InvalidArgument("kind must be heartbeat, event, points or payout");
      }
    } else {
      return Status::InvalidArgument("unknown or repeated query parameter (since, limit, kind)");
    }
  }
  return params;
}

// LastPoints finds each node's newest points record of the last two periods: the last closed
// period's share, without scanning the whole retention.
std::map<std::string, NodePoints> LastPoints(const HistorySource& history, uint64_t now_ms,
                                             uint64_t period_ms) {
  std::map<std::string, NodePoints> last;
  HistoryQuery query;
  query.kind = HistoryKind::kPoints;
  query.from_ms = now_ms > 2 * period_ms ? now_ms - 2 * period_ms : 0;
  query.limit = kMaxHistoryPage * 10;
  const Result<std::vector<HistoryRecord>> records = history(query);
  if (!records.ok()) return last;  // the page shows no last-period points rather than fail
  for (const HistoryRecord& record : *records) {
    NodePoints points{.node_id = record.node_id};
    points.requests = record.data.value("requests", uint64_t{0});
    points.live_ms = record.data.value("live_ms", uint64_t{0});
    points.points = record.data.value("points", uint64_t{0});
    last[record.node_id] = points;  // oldest first: the newest wins
  }
  return last;
}

}  // namespace

Status ValidateDashboardSettings(const DashboardSettings& settings) {
  if (settings.name.empty() || settings.name.size() > 64 || !Printable(settings.name)) {
    return Status::InvalidArgument("name must be 1 to 64 printable ASCII characters");
  }
  if (settings.contact.size() > 128 || !Printable(settings.contact)) {
    return Status::InvalidArgument("contact must be at most 128 printable ASCII characters");
  }
  // Written as a negation so NaN fails too.
  if (!(settings.fee_percent >= 0 && settings.fee_percent <= 100)) {
    return Status::InvalidArgument("fee must be from 0 to 100 percent");
  }
  if (settings.selection != "roundrobin" && settings.selection != "random") {
    return Status::InvalidArgument("selection must be roundrobin or random");
  }
  if (settings.capacity == 0 || settings.points_period_ms == 0) {
    return Status::InvalidArgument("capacity and points period must not be zero");
  }
  return Status::Ok();
}

std::string DumpJson(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

json NodeJson(const NodeView& node, const ServerStat* stat, const NodePoints* last_points,
              uint64_t now_ms) {
  const bool cooling = node.state == NodeState::kCooldown;
  json out = {
      {"id", node.node_id},
      {"state", NodeStateName(node.state)},
      {"cooldown_until_ms", cooling ? json(node.cooldown_until_ms) : json(nullptr)},
      {"cooldown_ms", cooling ? json(node.cooldown_ms) : json(nullptr)},
      {"penalties", node.penalties},
      {"last_penalty",
       node.last_offence == Offence::kNone ? json(nullptr) : json(OffenceName(node.last_offence))},
      {"best", node.last.best_block},
      {"finalized", node.last.finalized_block},
      {"peers", node.last.peers},
      {"heartbeat_age_ms",
       now_ms >= node.last_heartbeat_ms ? now_ms - node.last_heartbeat_ms : uint64_t{0}},
      {"points",
       {{"this_period", {{"requests", node.period_requests}, {"live_ms", node.period_live_ms}}},
        {"last_period", last_points == nullptr ? json(nullptr)
                                               : json{{"points", last_points->points},
                                                      {"requests", last_points->requests},
                                                      {"live_ms", last_points->live_ms}}}}},
  };
  // HAProxy's rtime is an average over the server's last 1024 requests; before the first one
  // there is no figure, which is not the same as 0 ms.
  const bool measured = stat != nullptr && stat->requests > 0;
  out["latency_ms"] = measured ? json(stat->response_time_ms) : json(nullptr);
  out["haproxy_status"] = stat != nullptr ? json(stat->status) : json(nullptr);
  out["requests_total"] = stat != nullptr ? json(stat->requests) : json(nullptr);
  return out;
}

json HistoryRecordJson(const HistoryRecord& record) {
  json data = record.data;
  // A node's RPC endpoint is its operator's address: the pool needs it, the public does not.
  if (record.kind == HistoryKind::kHeartbeat && data.is_object()) data.erase("endpoint");
  return {{"at_ms", record.at_ms},
          {"sequence", record.sequence},
          {"kind", HistoryKindName(record.kind)},
          {"node", record.node_id.empty() ? json(nullptr) : json(record.node_id)},
          {"data", std::move(data)}};
}

DashboardApi::DashboardApi(DashboardSettings settings, OverviewSource overview,
                           HistorySource history)
    : settings_(std::move(settings)),
      overview_(std::move(overview)),
      history_(std::move(history)) {}

HttpReply DashboardApi::Handle(std::string_view method, std::string_view path,
                               std::string_view query) const {
  // Decide the route first, the method second: an unknown path is 404 whatever the method.
  enum class Route { kNone, kAsset, kPool, kNodes, kNodeHistory, kHistory };
  Route route = Route::kNone;
  const DashboardAsset* asset = nullptr;
  std::string_view node_id;
  if (path.starts_with(kApiPrefix)) {
    const std::string_view rest = path.substr(kApiPrefix.size());
    constexpr std::string_view kNodesPrefix = "nodes/";
    constexpr std::string_view kHistorySuffix = "/history";
    if (rest == "pool") {
      route = Route::kPool;
    } else if (rest == "nodes") {
      route = Route::kNodes;
    } else if (rest == "history") {
      route = Route::kHistory;
    } else if (rest.starts_with(kNodesPrefix) && rest.ends_with(kHistorySuffix) &&
               rest.size() > kNodesPrefix.size() + kHistorySuffix.size()) {
      route = Route::kNodeHistory;
      node_id = rest.substr(kNodesPrefix.size(),
                            rest.size() - kNodesPrefix.size() - kHistorySuffix.size());
    }
  } else {
    for (const DashboardAsset& candidate : DashboardAssets()) {
      if (candidate.path == path) {
        route = Route::kAsset;
        asset = &candidate;
      }
    }
  }
  if (route == Route::kNone) return Error(404, "no such page");
  if (method != "GET") {
    HttpReply reply = Error(405, "only GET");
    reply.allow = "GET";
    return reply;
  }
  // The pool and node lists take no query: a stray one is a client's mistake, said as such. The
  // page's files ignore theirs (a browser or proxy may add one to defeat a cache).
  if ((route == Route::kPool || route == Route::kNodes) && !query.empty()) {
    return Error(400, "this route takes no query");
  }
  switch (route) {
    case Route::kAsset:
      return {.status = 200,
              .content_type = std::string(asset->content_type),
              .body = std::string(asset->body),
              .allow = ""};
    case Route::kPool:
      return Pool();
    case Route::kNodes:
      return Nodes();
    case Route::kNodeHistory:
      // Checked here, not only by the history: an ID is echoed nowhere unless it is well formed.
      if (!IsValidNodeId(node_id)) return Error(400, "bad node id");
      return History(node_id, query);
    case Route::kHistory:
      return History({}, query);
    case Route::kNone:
      break;
  }
  return Error(404, "no such page");
}

HttpReply DashboardApi::Pool() const {
  const ControllerOverview overview = overview_();
  uint64_t in_service = 0;
  uint64_t cooldown = 0;
  uint64_t removed = 0;
  for (const NodeView& node : overview.nodes) {
    if (node.state == NodeState::kInService) ++in_service;
    if (node.state == NodeState::kCooldown) ++cooldown;
    if (node.state == NodeState::kRemoved) ++removed;
  }
  return JsonReply(200, json{{"name", settings_.name},
                             {"fee_percent", settings_.fee_percent},
                             {"contact", settings_.contact},
                             {"selection", settings_.selection},
                             {"capacity", settings_.capacity},
                             {"points_period_ms", settings_.points_period_ms},
                             {"at_ms", overview.at_ms},
                             {"pool_best", overview.pool_best},
                             {"pool_finalized", overview.pool_finalized},
                             {"nodes",
                              {{"total", overview.nodes.size()},
                               {"in_service", in_service},
                               {"cooldown", cooldown},
                               {"removed", removed}}}});
}

HttpReply DashboardApi::Nodes() const {
  const ControllerOverview overview = overview_();
  const std::map<std::string, NodePoints> last_points =
      LastPoints(history_, overview.at_ms, settings_.points_period_ms);
  json nodes = json::array();
  for (const NodeView& node : overview.nodes) {
    const auto stat = overview.servers.find(node.node_id);
    const auto points = last_points.find(node.node_id);
    nodes.push_back(NodeJson(node, stat == overview.servers.end() ? nullptr : &stat->second,
                             points == last_points.end() ? nullptr : &points->second,
                             overview.at_ms));
  }
  return JsonReply(200, json{{"at_ms", overview.at_ms},
                             {"pool_best", overview.pool_best},
                             {"pool_finalized", overview.pool_finalized},
                             {"nodes", std::move(nodes)}});
}

HttpReply DashboardApi::History(std::string_view node_id, std::string_view query) const {
  const Result<HistoryParams> params = ParseHistoryQuery(query);
  if (!params.ok()) return Error(400, params.status().message());
  HistoryQuery select;
  if (params->since_ms) {
    select.from_ms = *params->since_ms;
  } else {
    const uint64_t now = overview_().at_ms;
    select.from_ms = now > kDefaultHistorySinceMs ? now - kDefaultHistorySinceMs : 0;
  }
  select.kind = params->kind;
  if (!node_id.empty()) select.node_id = std::string(node_id);
  // One more than the page, to know whether another page follows.
  select.limit = params->limit + 1;
  Result<std::vector<HistoryRecord>> read = history_(select);
  if (!read.ok()) return Error(503, "the history cannot be read now");
  std::vector<HistoryRecord>& records = *read;
  json next_since = nullptr;
  if (records.size() > params->limit) {
    records.resize(params->limit);
    // The next page starts at the last record's millisecond, and this page ends before it, so a
    // millisecond's records are never split across pages (unless one page is all one
    // millisecond: then the next page starts after it).
    const uint64_t last_ms = records.back().at_ms;
    const auto first_of_last = std::find_if(
        records.begin(), records.end(), [&](const HistoryRecord& r) { return r.at_ms == last_ms; });
    if (first_of_last == records.begin()) {
      next_since = last_ms + 1;
    } else {
      records.erase(first_of_last, records.end());
      next_since = last_ms;
    }
  }
  json out = json::array();
  for (const HistoryRecord& record : records) out.push_back(HistoryRecordJson(record));
  return JsonReply(200, json{{"since_ms", select.from_ms},
                             {"next_since", std::move(next_since)},
                             {"records", std::move(out)}});
}

}  // namespace rpc_pool
