// The controller's core against a real HAProxy: members become servers, penalties take them out
// of service, traffic reaches only members in service and is counted into points, removal deletes
// the server, and a dead HAProxy is caught up with once it is back.
#include "rpc_pool/controller.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "support/fake_clock.h"
#include "support/locations.h"
#include "support/memory_history_store.h"
#include "support/temp_dir.h"
#include "testing/haproxy_process.h"

namespace rpc_pool {
namespace {

using testing::HaproxyProcess;
using testing::HttpGetOverUnixSocket;

constexpr uint64_t kSecond = 1000;
const std::string kPoolHash(64, 'c');

// The nodes' RPC is played by HAProxy frontends on loopback ports that answer with the node's
// name; the pool's frontend is a Unix socket balancing backend "nodes", which starts empty: the
// controller fills it.
std::string Config(const support::TempDir& dir, const std::map<std::string, int>& node_ports) {
  std::string config =
      "defaults\n"
      "  mode http\n"
      "  timeout connect 2s\n"
      "  timeout client 10s\n"
      "  timeout server 10s\n"
      "frontend rpc\n"
      "  bind unix@" +
      dir.Path("rpc.sock") +
      "\n"
      "  default_backend nodes\n"
      "backend nodes\n"
      "  balance roundrobin\n";
  for (const auto& [name, port] : node_ports) {
    config.append("frontend node_").append(name);
    config.append("\n  bind 127.0.0.1:").append(std::to_string(port));
    config.append("\n  http-request return status 200 content-type text/plain string served-by-");
    config.append(name).append("\n");
  }
  return config;
}

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"a", "b"}) {
      auto port = testing::ReserveLoopbackPort();
      ASSERT_TRUE(port.ok()) << port.status().message();
      ports_[name] = *port;
    }
    auto history = PoolHistory::Open(store_);
    ASSERT_TRUE(history.ok());
    history_ = std::move(history).value();
    rules_.settings_hash = kPoolHash;
    // The nodes are HAProxy frontends on this host's loopback.
    rules_.allow_loopback_endpoints = true;
    runtime_.emplace(dir_.Path("haproxy-admin.sock"));
  }

  void StartHaproxy() {
    auto started =
        HaproxyProcess::Start(support::Location("haproxy"), dir_.path(), Config(dir_, ports_));
    ASSERT_TRUE(started.ok()) << started.status().message();
    haproxy_.emplace(std::move(started).value());
  }

  void MakeController() {
    controller_.emplace(rules_, ControllerOptions{}, clock_, *history_, *runtime_);
  }

  Heartbeat Beat(const std::string& id, uint64_t best) {
    return {.node_id = id,
            .settings_hash = kPoolHash,
            .best_block = best,
            .finalized_block = best - 2,
            .rpc_endpoint = "127.0.0.1:" + std::to_string(ports_.at(id)),
            .peers = 5,
            .memory_bytes = 1000};
  }

  void Report(const std::string& id, uint64_t best) {
    auto verdict = controller_->OnHeartbeat(Beat(id, best));
    ASSERT_TRUE(verdict.ok()) << verdict.status().message();
    ASSERT_EQ(*verdict, HeartbeatVerdict::kAccepted);
  }

  TickReport TickOk() {
    auto report = controller_->Tick();
    EXPECT_TRUE(report.ok()) << report.status().message();
    return report.ok() ? *report : TickReport{};
  }

  std::map<std::string, int> ServedBy(int count) {
    std::map<std::string, int> served;
    for (int i = 0; i < count; ++i) {
      auto response = HttpGetOverUnixSocket(dir_.Path("rpc.sock"), "/");
      EXPECT_TRUE(response.ok()) << response.status().message();
      if (!response.ok()) break;
      const size_t at = response->find("served-by-");
      ++served[at == std::string::npos ? "none" : response->substr(at + 10, 1)];
    }
    return served;
  }

  std::map<std::string, ServerState> Servers() {
    auto states = runtime_->ShowServersState("nodes");
    EXPECT_TRUE(states.ok()) << states.status().message();
    std::map<std::string, ServerState> by_name;
    if (states.ok()) {
      for (const ServerState& state : *states) by_name[state.server] = state;
    }
    return by_name;
  }

  std::vector<std::string> Events(const std::string& node) {
    HistoryQuery query;
    query.kind = HistoryKind::kEvent;
    query.node_id = node;
    auto records = history_->Read(query);
    EXPECT_TRUE(records.ok());
    std::vector<std::string> events;
    if (records.ok()) {
      for (const HistoryRecord& record : *records) events.push_back(record.data["event"]);
    }
    return events;
  }

  support::TempDir dir_{"rpc-pool-controller"};
  std::map<std::string, int> ports_;
  slashing::FakeClock clock_{support::kTestClockStartMs};
  slashing::MemoryHistoryStore store_;
  std::unique_ptr<PoolHistory> history_;
  PoolRules rules_;
  std::optional<HaproxyRuntime> runtime_;
  std::optional<HaproxyProcess> haproxy_;
  std::optional<PoolController> controller_;
};

TEST_F(ControllerTest, TrafficReachesOnlyMembersInService) {
  StartHaproxy();
  MakeController();
  Report("a", 1000);
  Report("b", 1000);
  TickReport report = TickOk();
  EXPECT_EQ(report.added, 2u);
  EXPECT_EQ(report.enabled, 2u);
  EXPECT_EQ(ServedBy(4), (std::map<std::string, int>{{"a", 2}, {"b", 2}}));

  // A node with other settings is refused and never becomes a server.
  Heartbeat stranger = Beat("a", 1000);
  stranger.node_id = "c";
  stranger.rpc_endpoint = "127.0.0.1:1";  // its own: a's would be refused as malformed first
  stranger.settings_hash = std::string(64, 'd');
  auto verdict = controller_->OnHeartbeat(stranger);
  ASSERT_TRUE(verdict.ok());
  EXPECT_EQ(*verdict, HeartbeatVerdict::kWrongSettingsHash);

  // b falls 11 blocks behind: penalised, out of HAProxy; everything goes to a.
  clock_.Advance(kSecond);
  Report("a", 1011);
  Report("b", 1000);
  report = TickOk();
  EXPECT_EQ(report.disabled, 1u);
  EXPECT_EQ(report.requests, 4u);
  EXPECT_TRUE(Servers().at("b").InMaintenance());
  EXPECT_FALSE(Servers().contains("c"));
  EXPECT_EQ(ServedBy(4), (std::map<std::string, int>{{"a", 4}}));
  EXPECT_EQ(Events("b"), (std::vector<std::string>{"joined", "penalised"}));
  EXPECT_EQ(Events("c"), (std::vector<std::string>{"refused"}));

  // Caught up when its minute is over: back in service.
  clock_.Advance(60 * kSecond);
  Report("a", 1012);
  Report("b", 1012);
  report = TickOk();
  EXPECT_EQ(report.enabled, 1u);
  EXPECT_EQ(report.requests, 4u);
  const std::map<std::string, int> last = ServedBy(6);
  EXPECT_EQ(last.size(), 2u);
  EXPECT_FALSE(last.contains("none"));
  EXPECT_EQ(TickOk().requests, 6u);

  // What the dashboard reads: HAProxy's counters per server as of the last tick, with the rules'
  // view from the same moment.
  const ControllerOverview overview = controller_->Overview();
  ASSERT_EQ(overview.servers.size(), 2u);
  EXPECT_EQ(overview.servers.at("a").requests, static_cast<uint64_t>(6 + last.at("a")));
  EXPECT_EQ(overview.servers.at("b").requests, static_cast<uint64_t>(2 + last.at("b")));
  EXPECT_EQ(overview.pool_best, 1012u);
  EXPECT_EQ(overview.at_ms, clock_.NowUnixMs());
  ASSERT_EQ(overview.nodes.size(), 2u);
  EXPECT_EQ(overview.nodes[1].last_offence, Offence::kNotFresh);
  EXPECT_EQ(overview.nodes[1].period_requests, static_cast<uint64_t>(2 + last.at("b")));

  // Points count what each node really served: a 2 + 4 + last["a"], b 2 + last["b"].
  auto period = controller_->ClosePointsPeriod();
  ASSERT_TRUE(period.ok()) << period.status().message();
  ASSERT_EQ(period->nodes.size(), 2u);
  EXPECT_EQ(period->nodes[0].node_id, "a");
  EXPECT_EQ(period->nodes[0].requests, static_cast<uint64_t>(6 + last.at("a")));
  EXPECT_EQ(period->nodes[1].requests, static_cast<uint64_t>(2 + last.at("b")));
  HistoryQuery points;
  points.kind = HistoryKind::kPoints;
  auto recorded = history_->Read(points);
  ASSERT_TRUE(recorded.ok());
  ASSERT_EQ(recorded->size(), 2u);
  EXPECT_EQ((*recorded)[0].data["points"], period->nodes[0].points);
}

TEST_F(ControllerTest, RemovalDeletesTheServer) {
  // Removal at the first re-check that finds the offence still going on.
  rules_.removal_cooldown_ms = rules_.first_cooldown_ms;
  StartHaproxy();
  MakeController();
  Report("a", 1000);
  Report("b", 1000);
  TickOk();
  clock_.Advance(kSecond);
  Report("a", 1020);
  Report("b", 1000);
  TickOk();
  EXPECT_TRUE(Servers().at("b").InMaintenance());
  clock_.Advance(60 * kSecond);
  Report("a", 1030);
  Report("b", 1001);
  const TickReport report = TickOk();
  EXPECT_EQ(report.deleted, 1u);
  EXPECT_FALSE(Servers().contains("b"));
  EXPECT_EQ(Events("b"), (std::vector<std::string>{"joined", "penalised", "removed"}));
  auto verdict = controller_->OnHeartbeat(Beat("b", 1030));
  ASSERT_TRUE(verdict.ok());
  EXPECT_EQ(*verdict, HeartbeatVerdict::kRemoved);
  EXPECT_EQ(ServedBy(3), (std::map<std::string, int>{{"a", 3}}));

  // A restarted controller on the same history keeps b out, whatever b reports.
  controller_.reset();
  MakeController();
  auto restored = controller_->RestoreFromHistory();
  ASSERT_TRUE(restored.ok()) << restored.status().message();
  EXPECT_EQ(*restored, 1u);
  verdict = controller_->OnHeartbeat(Beat("b", 1030));
  ASSERT_TRUE(verdict.ok());
  EXPECT_EQ(*verdict, HeartbeatVerdict::kRemoved);
  Report("a", 1030);
  EXPECT_EQ(TickOk().added, 0u);
  EXPECT_FALSE(Servers().contains("b"));
}

// A member's endpoint HAProxy refuses holds up no other server: the member after them (by node ID)
// that falls behind still leaves service, on this tick and the next. HAProxy 2.6 registers a name
// that does not resolve (nonexistent.invalid) as a server without an address, and refuses one it
// cannot make a DNS resolution for (an empty label): both come before b.
TEST_F(ControllerTest, AnEndpointHaproxyRefusesHoldsUpNoOtherServer) {
  StartHaproxy();
  MakeController();
  Report("a", 1000);
  Report("b", 1000);
  TickOk();
  const auto member = [this](const std::string& id, const std::string& endpoint, uint64_t best) {
    Heartbeat beat = Beat("a", best);
    beat.node_id = id;
    beat.rpc_endpoint = endpoint;
    auto verdict = controller_->OnHeartbeat(beat);
    ASSERT_TRUE(verdict.ok()) << verdict.status().message();
    ASSERT_EQ(*verdict, HeartbeatVerdict::kAccepted);
  };
  member("a-refused", "refused..invalid:1", 1000);
  member("a-unresolvable", "nonexistent.invalid:1", 1000);

  // b falls 11 blocks behind.
  clock_.Advance(kSecond);
  Report("a", 1011);
  Report("b", 1000);
  for (int tick = 0; tick < 2; ++tick) {
    SCOPED_TRACE(tick);
    member("a-refused", "refused..invalid:1", 1011);
    member("a-unresolvable", "nonexistent.invalid:1", 1011);
    auto report = controller_->Tick();
    EXPECT_EQ(report.status().code(), base::StatusCode::kFailedPrecondition);
    EXPECT_FALSE(Servers().contains("a-refused"));
    EXPECT_TRUE(Servers().at("b").InMaintenance());
    EXPECT_FALSE(Servers().at("a").InMaintenance());
    // (The server without an address is in service too and answers nothing: not b's business.)
    EXPECT_FALSE(ServedBy(4).contains("b"));
  }
  EXPECT_EQ(Events("b"), (std::vector<std::string>{"joined", "penalised"}));
}

// An endpoint on the LB's own host (production refuses it) or one another member reports is
// malformed: it never becomes a server, and the history says why.
TEST_F(ControllerTest, LoopbackAndTakenEndpointsNeverBecomeServers) {
  StartHaproxy();
  rules_.allow_loopback_endpoints = false;  // production's default
  MakeController();
  auto verdict = controller_->OnHeartbeat(Beat("a", 1000));
  ASSERT_TRUE(verdict.ok()) << verdict.status().message();
  EXPECT_EQ(*verdict, HeartbeatVerdict::kMalformed);
  EXPECT_EQ(controller_->CheckHeartbeat(Beat("a", 1000)), MalformedReason::kLoopbackEndpoint);
  EXPECT_EQ(TickOk().added, 0u);
  EXPECT_TRUE(Servers().empty());

  // On one host (as here) loopback is allowed; b's endpoint is still b's only.
  rules_.allow_loopback_endpoints = true;
  MakeController();
  Report("a", 1000);
  Report("b", 1000);
  EXPECT_EQ(TickOk().added, 2u);
  Heartbeat impostor = Beat("b", 1000);
  impostor.node_id = "c";
  verdict = controller_->OnHeartbeat(impostor);
  ASSERT_TRUE(verdict.ok()) << verdict.status().message();
  EXPECT_EQ(*verdict, HeartbeatVerdict::kMalformed);
  EXPECT_EQ(controller_->CheckHeartbeat(impostor), MalformedReason::kEndpointTaken);
  // A member that starts reporting another's endpoint is refused too, and keeps its own.
  Heartbeat moved = Beat("b", 1000);
  moved.node_id = "a";
  verdict = controller_->OnHeartbeat(moved);
  ASSERT_TRUE(verdict.ok());
  EXPECT_EQ(*verdict, HeartbeatVerdict::kMalformed);
  TickOk();
  EXPECT_FALSE(Servers().contains("c"));
  EXPECT_EQ(ServedBy(4), (std::map<std::string, int>{{"a", 2}, {"b", 2}}));

  HistoryQuery query;
  query.kind = HistoryKind::kEvent;
  auto records = history_->Read(query);
  ASSERT_TRUE(records.ok());
  std::map<std::string, std::vector<std::string>> reasons;
  for (const HistoryRecord& record : *records) {
    if (record.data["event"] == "refused") {
      reasons[record.node_id].push_back(record.data.value("reason", ""));
    }
  }
  EXPECT_EQ(reasons,
            (std::map<std::string, std::vector<std::string>>{
                {"a", {"loopback_endpoint", "endpoint_taken"}}, {"c", {"endpoint_taken"}}}));
}

TEST_F(ControllerTest, CatchesUpWithHaproxyOnceItIsBack) {
  MakeController();  // HAProxy is not running yet
  Report("a", 1000);
  Report("b", 1000);
  auto report = controller_->Tick();
  EXPECT_EQ(report.status().code(), base::StatusCode::kUnavailable);
  // The rules ran all the same: b is penalised and recorded while HAProxy is down.
  clock_.Advance(kSecond);
  Report("a", 1011);
  Report("b", 1000);
  EXPECT_FALSE(controller_->Tick().ok());
  EXPECT_EQ(Events("b"), (std::vector<std::string>{"joined", "penalised"}));

  StartHaproxy();
  const TickReport caught_up = TickOk();
  EXPECT_EQ(caught_up.added, 2u);
  EXPECT_EQ(caught_up.enabled, 1u);
  EXPECT_TRUE(Servers().at("b").InMaintenance());
  EXPECT_FALSE(Servers().at("a").InMaintenance());
  EXPECT_EQ(ServedBy(2), (std::map<std::string, int>{{"a", 2}}));
}

TEST_F(ControllerTest, AFailedHistoryWriteIsRetriedNotLost) {
  StartHaproxy();
  MakeController();
  store_.SetFailWrites(true);
  EXPECT_EQ(controller_->OnHeartbeat(Beat("a", 1000)).status().code(), base::StatusCode::kIoError);
  store_.SetFailWrites(false);
  Report("b", 1000);
  // a's join was pending and is written with b's.
  EXPECT_EQ(Events("a"), (std::vector<std::string>{"joined"}));
  EXPECT_EQ(Events("b"), (std::vector<std::string>{"joined"}));
}

}  // namespace
}  // namespace rpc_pool
