// Tests of the dashboard's JSON API: escaping of hostile strings, query validation, routes, paging,
// and the listener's headers on loopback.
#include "rpc_pool/dashboard_api.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "rpc_pool/dashboard_server.h"
#include "support/loopback.h"

namespace rpc_pool {
namespace {

using nlohmann::json;

constexpr uint64_t kNow = 1'700'000'000'000;

DashboardSettings Settings() {
  return {.name = "Test pool",
          .fee_percent = 2.5,
          .contact = "ops@example.org",
          .selection = "random",
          .capacity = 8,
          .points_period_ms = 3'600'000};
}

ServerStat Stat(std::string server, std::string status, uint64_t requests,
                uint64_t response_time_ms) {
  ServerStat stat;
  stat.server = std::move(server);
  stat.status = std::move(status);
  stat.requests = requests;
  stat.response_time_ms = response_time_ms;
  return stat;
}

Heartbeat Beat(std::string node, uint64_t best) {
  Heartbeat beat;
  beat.node_id = std::move(node);
  beat.best_block = best;
  beat.rpc_endpoint = "198.51.100.1:9944";
  return beat;
}

NodeView Node(std::string id, NodeState state) {
  NodeView node;
  node.node_id = std::move(id);
  node.state = state;
  node.last.best_block = 1000;
  node.last.finalized_block = 998;
  node.last.rpc_endpoint = "192.0.2.7:9944";
  node.last_heartbeat_ms = kNow - 1500;
  return node;
}

// A fixture whose sources are plain data the test fills in.
class DashboardApiTest : public ::testing::Test {
 protected:
  DashboardApi Api() {
    return DashboardApi(
        Settings(), [this] { return overview_; },
        [this](const HistoryQuery& query) -> base::Result<std::vector<HistoryRecord>> {
          ++history_reads_;
          if (history_fails_) return base::Status::IoError("disk");
          std::vector<HistoryRecord> out;
          for (const HistoryRecord& record : records_) {
            if (record.at_ms < query.from_ms || record.at_ms > query.to_ms) continue;
            if (query.kind && record.kind != *query.kind) continue;
            if (query.node_id && record.node_id != *query.node_id) continue;
            if (out.size() == query.limit) break;
            out.push_back(record);
          }
          return out;
        });
  }

  HistoryRecord Heartbeat(uint64_t at_ms, const std::string& node, uint64_t best) {
    HistoryRecord record = MakeHeartbeatRecord(at_ms, Beat(node, best));
    record.sequence = ++sequence_;
    return record;
  }

  ControllerOverview overview_ = [] {
    ControllerOverview overview;
    overview.at_ms = kNow;
    overview.pool_best = 1000;
    overview.pool_finalized = 998;
    return overview;
  }();
  std::vector<HistoryRecord> records_;
  bool history_fails_ = false;
  int history_reads_ = 0;
  uint64_t sequence_ = 0;
};

json Body(const HttpReply& reply) { return json::parse(reply.body); }

TEST(DashboardJsonTest, HostileNodeIdIsEscapedAndRoundTrips) {
  // Node IDs are checked by the registry, but the renderer must not rely on it.
  const std::string hostile = "</script><img src=x onerror=alert(1)>\"\\\n\r\t\x01\x7f'&{{x}}";
  NodeView node = Node(hostile, NodeState::kCooldown);
  const std::string text = DumpJson(NodeJson(node, nullptr, nullptr, kNow));
  // No raw control character survives, and the quote and backslash are escaped.
  for (char c : text) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << text;
  EXPECT_NE(text.find(R"(\"\\\n\r\t\u0001)"), std::string::npos) << text;
  EXPECT_EQ(json::parse(text)["id"], hostile);
}

TEST(DashboardJsonTest, InvalidUtf8IsReplacedNotThrown) {
  const std::string broken = "node\xff\xfe-a";
  std::string text;
  ASSERT_NO_THROW(
      text = DumpJson(NodeJson(Node(broken, NodeState::kInService), nullptr, nullptr, kNow)));
  EXPECT_EQ(json::parse(text)["id"], "node\xEF\xBF\xBD\xEF\xBF\xBD-a");
}

TEST(DashboardJsonTest, NodeFields) {
  NodeView node = Node("node-b", NodeState::kCooldown);
  node.penalties = 2;
  node.offence = Offence::kNotFresh;
  node.last_offence = Offence::kNotFresh;
  node.cooldown_ms = 120'000;
  node.cooldown_until_ms = kNow + 60'000;
  node.period_requests = 40;
  node.period_live_ms = 9000;
  const ServerStat stat = Stat("node-b", "MAINT", 7, 12);
  const NodePoints points{.node_id = "node-b", .requests = 5, .live_ms = 100, .points = 321};
  const json out = NodeJson(node, &stat, &points, kNow);
  EXPECT_EQ(out["state"], "cooldown");
  EXPECT_EQ(out["cooldown_until_ms"], kNow + 60'000);
  EXPECT_EQ(out["penalties"], 2);
  EXPECT_EQ(out["last_penalty"], "not_fresh");
  EXPECT_EQ(out["latency_ms"], 12);
  EXPECT_EQ(out["haproxy_status"], "MAINT");
  EXPECT_EQ(out["heartbeat_age_ms"], 1500);
  EXPECT_EQ(out["points"]["this_period"]["requests"], 40);
  EXPECT_EQ(out["points"]["last_period"]["points"], 321);
  // The endpoint is the node operator's address: never published.
  EXPECT_EQ(DumpJson(out).find("192.0.2.7"), std::string::npos);

  // Before any request there is no latency figure (not "0 ms"); in service: no cooldown.
  const ServerStat idle = Stat("node-a", "UP", 0, 0);
  const json fresh = NodeJson(Node("node-a", NodeState::kInService), &idle, nullptr, kNow);
  EXPECT_TRUE(fresh["latency_ms"].is_null());
  EXPECT_TRUE(fresh["cooldown_until_ms"].is_null());
  EXPECT_TRUE(fresh["last_penalty"].is_null());
  EXPECT_TRUE(fresh["points"]["last_period"].is_null());
}

TEST(DashboardJsonTest, HeartbeatRecordsLoseTheirEndpoint) {
  const HistoryRecord record = MakeHeartbeatRecord(kNow, Beat("node-a", 5));
  const json out = HistoryRecordJson(record);
  EXPECT_EQ(out["data"]["best"], 5);
  EXPECT_FALSE(out["data"].contains("endpoint"));
  EXPECT_EQ(out["kind"], "heartbeat");
  EXPECT_EQ(out["node"], "node-a");
}

TEST_F(DashboardApiTest, PoolShowsTheOperatorAndCounts) {
  overview_.nodes = {Node("node-a", NodeState::kInService), Node("node-b", NodeState::kCooldown)};
  const HttpReply reply = Api().Handle("GET", "/api/v1/pool", "");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.content_type, "application/json; charset=utf-8");
  const json body = Body(reply);
  EXPECT_EQ(body["name"], "Test pool");
  EXPECT_EQ(body["fee_percent"], 2.5);
  EXPECT_EQ(body["contact"], "ops@example.org");
  EXPECT_EQ(body["selection"], "random");
  EXPECT_EQ(body["capacity"], 8);
  EXPECT_EQ(body["pool_best"], 1000);
  EXPECT_EQ(body["nodes"],
            (json{{"total", 2}, {"in_service", 1}, {"cooldown", 1}, {"removed", 0}}));
}

TEST_F(DashboardApiTest, NodesCarryLatencyAndLastPeriodPoints) {
  overview_.nodes = {Node("node-a", NodeState::kInService)};
  overview_.servers["node-a"] = Stat("node-a", "UP", 3, 4);
  PointsPeriod period;
  period.start_ms = kNow - 3'600'000;
  period.end_ms = kNow - 1000;
  period.nodes = {{.node_id = "node-a", .requests = 9, .live_ms = 10, .points = 777}};
  HistoryRecord points = MakePointsRecords(period)[0];
  points.at_ms = kNow - 1000;
  records_ = {points};
  const json body = Body(Api().Handle("GET", "/api/v1/nodes", ""));
  ASSERT_EQ(body["nodes"].size(), 1u);
  EXPECT_EQ(body["nodes"][0]["latency_ms"], 4);
  EXPECT_EQ(body["nodes"][0]["points"]["last_period"]["points"], 777);
}

TEST_F(DashboardApiTest, UnknownPathsAre404AndOtherMethods405) {
  const DashboardApi api = Api();
  for (const char* path : {"/nope", "/api/v1", "/api/v1/", "/api/v2/pool", "/api/v1/nodes/",
                           "/api/v1/nodes//history", "/dashboard.js.map", "/index.html"}) {
    const HttpReply reply = api.Handle("GET", path, "");
    EXPECT_EQ(reply.status, 404) << path;
    EXPECT_TRUE(Body(reply).contains("error")) << path;
  }
  for (const char* method : {"POST", "PUT", "DELETE", "HEAD", "OPTIONS"}) {
    const HttpReply reply = api.Handle(method, "/api/v1/pool", "");
    EXPECT_EQ(reply.status, 405) << method;
    EXPECT_EQ(reply.allow, "GET");
  }
}

TEST_F(DashboardApiTest, BadQueriesAre400) {
  const DashboardApi api = Api();
  for (const char* query : {"since=abc", "since=-1", "since=+1", "since=1e3", "since=", "since",
                            "since=99999999999999999999", "since=123456789012345678901", "limit=0",
                            "limit=1001", "limit=-5", "kind=bogus", "kind=Event", "foo=1",
                            "since=1&since=2", "limit=1&limit=1", "since=%31", "kind=event%00"}) {
    const HttpReply reply = api.Handle("GET", "/api/v1/history", query);
    EXPECT_EQ(reply.status, 400) << query;
    EXPECT_TRUE(Body(reply)["error"].is_string()) << query;
  }
  EXPECT_EQ(history_reads_, 0);
  // A bad node ID is refused before the history is read, and not echoed back.
  for (const char* path :
       {"/api/v1/nodes/bad id/history", "/api/v1/nodes/<b>/history", "/api/v1/nodes/a/b/history"}) {
    const HttpReply reply = api.Handle("GET", path, "");
    EXPECT_EQ(reply.status, 400) << path;
    EXPECT_EQ(reply.body.find('<'), std::string::npos);
  }
  EXPECT_EQ(history_reads_, 0);
  EXPECT_EQ(api.Handle("GET", "/api/v1/pool", "x=1").status, 400);
  EXPECT_EQ(api.Handle("GET", "/api/v1/history", "since=0&limit=1000&kind=payout").status, 200);
  EXPECT_EQ(api.Handle("GET", "/api/v1/history", "&since=0&").status, 200);
}

TEST_F(DashboardApiTest, HistoryPagesAscendingWithoutSplittingAMillisecond) {
  records_ = {Heartbeat(100, "node-a", 1), Heartbeat(200, "node-a", 2), Heartbeat(200, "node-b", 2),
              Heartbeat(300, "node-a", 3)};
  const DashboardApi api = Api();
  json page = Body(api.Handle("GET", "/api/v1/history", "since=0&limit=2"));
  // Two records fit, but the second shares its millisecond with a third: it waits.
  ASSERT_EQ(page["records"].size(), 1u);
  EXPECT_EQ(page["records"][0]["at_ms"], 100);
  EXPECT_EQ(page["next_since"], 200);
  page = Body(api.Handle("GET", "/api/v1/history", "since=200&limit=2"));
  ASSERT_EQ(page["records"].size(), 2u);
  EXPECT_EQ(page["records"][0]["at_ms"], 200);
  EXPECT_EQ(page["records"][1]["at_ms"], 200);
  EXPECT_EQ(page["next_since"], 201);
  page = Body(api.Handle("GET", "/api/v1/history", "since=201&limit=2"));
  ASSERT_EQ(page["records"].size(), 1u);
  EXPECT_TRUE(page["next_since"].is_null());
  EXPECT_FALSE(page["records"][0]["data"].contains("endpoint"));

  // One node's history, one kind.
  page = Body(api.Handle("GET", "/api/v1/nodes/node-b/history", "since=0&kind=heartbeat"));
  ASSERT_EQ(page["records"].size(), 1u);
  EXPECT_EQ(page["records"][0]["node"], "node-b");
  EXPECT_EQ(Body(api.Handle("GET", "/api/v1/nodes/node-b/history", "kind=event"))["records"],
            json::array());
}

TEST_F(DashboardApiTest, HistoryDefaultsToTheLastDay) {
  records_ = {Heartbeat(kNow - kDefaultHistorySinceMs - 1, "node-a", 1),
              Heartbeat(kNow - 10, "node-a", 2)};
  const json page = Body(Api().Handle("GET", "/api/v1/history", ""));
  EXPECT_EQ(page["since_ms"], kNow - kDefaultHistorySinceMs);
  ASSERT_EQ(page["records"].size(), 1u);
  EXPECT_EQ(page["records"][0]["data"]["best"], 2);
}

TEST_F(DashboardApiTest, AFailingHistoryIs503) {
  history_fails_ = true;
  const HttpReply reply = Api().Handle("GET", "/api/v1/history", "since=0");
  EXPECT_EQ(reply.status, 503);
  // The node list still answers, without last-period points.
  overview_.nodes = {Node("node-a", NodeState::kInService)};
  EXPECT_EQ(Api().Handle("GET", "/api/v1/nodes", "").status, 200);
}

TEST_F(DashboardApiTest, ThePageAndItsFiles) {
  const DashboardApi api = Api();
  const HttpReply page = api.Handle("GET", "/", "");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find(R"(<script src="/dashboard.js")"), std::string::npos);
  // No inline script (the CSP forbids it) and nothing from elsewhere.
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_EQ(page.body.find("http"), std::string::npos);
  const HttpReply script = api.Handle("GET", "/dashboard.js", "");
  ASSERT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  // What nodes report reaches the page as text only.
  EXPECT_EQ(script.body.find("innerHTML"), std::string::npos);
  EXPECT_EQ(script.body.find("insertAdjacentHTML"), std::string::npos);
  EXPECT_EQ(script.body.find("eval("), std::string::npos);
  EXPECT_EQ(api.Handle("GET", "/dashboard.css", "").status, 200);
}

TEST(DashboardSettingsTest, Validation) {
  EXPECT_TRUE(ValidateDashboardSettings(Settings()).ok());
  const auto refused = [](auto change) {
    DashboardSettings settings = Settings();
    change(settings);
    return ValidateDashboardSettings(settings).code() == base::StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(refused([](DashboardSettings& s) { s.name = ""; }));
  EXPECT_TRUE(refused([](DashboardSettings& s) { s.name = std::string(65, 'x'); }));
  EXPECT_TRUE(refused([](DashboardSettings& s) { s.name = "a\nb"; }));
  EXPECT_TRUE(refused([](DashboardSettings& s) { s.contact = "caf\xc3\xa9"; }));
  EXPECT_TRUE(refused([](DashboardSettings& s) { s.fee_percent = -1; }));
  EXPECT_TRUE(refused([](DashboardSettings& s) { s.fee_percent = 100.5; }));
  EXPECT_TRUE(refused([](DashboardSettings& s) { s.fee_percent = std::nan(""); }));
  EXPECT_TRUE(refused([](DashboardSettings& s) { s.selection = "leastconn"; }));
  EXPECT_TRUE(refused([](DashboardSettings& s) { s.capacity = 0; }));
  EXPECT_TRUE(refused([](DashboardSettings& s) { s.points_period_ms = 0; }));
}

TEST_F(DashboardApiTest, ListenerSendsSecurityHeaders) {
  const DashboardApi api = Api();
  auto server = DashboardServer::Start("127.0.0.1:0", api);
  ASSERT_TRUE(server.ok()) << server.status().message();
  const int port = (*server)->port();
  const std::string ok = support::HttpRequest(port, "GET", "/api/v1/pool");
  EXPECT_TRUE(ok.starts_with("HTTP/1.1 200 OK\r\n")) << ok;
  EXPECT_NE(ok.find("\r\nContent-Security-Policy: default-src 'none'; script-src 'self'"),
            std::string::npos);
  EXPECT_NE(ok.find("\r\nX-Content-Type-Options: nosniff\r\n"), std::string::npos);
  EXPECT_EQ(json::parse(support::HttpBody(ok))["name"], "Test pool");
  const std::string post = support::HttpRequest(port, "POST", "/api/v1/pool");
  EXPECT_TRUE(post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")) << post;
  EXPECT_NE(post.find("\r\nAllow: GET\r\n"), std::string::npos);
  const std::string missing = support::HttpRequest(port, "GET", "/etc/passwd");
  EXPECT_TRUE(missing.starts_with("HTTP/1.1 404 Not Found\r\n")) << missing;
  // Percent-decoding is civetweb's; the API sees the decoded path and refuses the ID.
  const std::string spaced = support::HttpRequest(port, "GET", "/api/v1/nodes/a%20b/history");
  EXPECT_TRUE(spaced.starts_with("HTTP/1.1 400 Bad Request\r\n")) << spaced;
  const std::string bad = support::HttpRequest(port, "GET", "/api/v1/history?limit=0");
  EXPECT_TRUE(bad.starts_with("HTTP/1.1 400 Bad Request\r\n")) << bad;
}

TEST(DashboardServerTest, RefusesAMalformedAddress) {
  const DashboardApi api(
      Settings(), [] { return ControllerOverview{}; },
      [](const HistoryQuery&) -> base::Result<std::vector<HistoryRecord>> {
        return std::vector<HistoryRecord>{};
      });
  EXPECT_EQ(DashboardServer::Start("not an address", api).status().code(),
            base::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rpc_pool
