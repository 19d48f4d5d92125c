// End to end with real processes on loopback: fake nodes the test steers, an LB daemon beside
// each, the controller, and a real HAProxy. A wrong settings hash is refused, a node 11 blocks
// behind is taken out of HAProxy, and traffic through HAProxy reaches only healthy nodes.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "rpc_pool/haproxy_runtime.h"
#include "rpc_pool/node_rpc.h"
#include "rpc_pool/settings_hash.h"
#include "support/dev_pki.h"
#include "support/files.h"
#include "support/locations.h"
#include "support/loopback.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "testing/fake_node.h"
#include "testing/haproxy_process.h"
#include "testing/pool_processes.h"

namespace rpc_pool {
namespace {

using testing::FakeNode;
using testing::HaproxyProcess;

const std::vector<std::string> kPoolFlags = {"--chain", "kusama", "--rpc-cors", "all"};
const std::vector<std::string> kOtherFlags = {"--chain", "kusama", "--rpc-methods", "unsafe"};
constexpr auto kWait = std::chrono::seconds(30);

// WaitUntil re-checks `condition` until it holds or `kWait` passes: the processes change HAProxy
// on their own schedule, and this waits for the state the test needs, not for a fixed time.
bool WaitUntil(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

class PoolEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(support::MakeDevPki(dir_.Path("pki"), {"node-a", "node-b", "node-c"}).ok());
    for (const char* name : {"a", "b", "c"}) {
      auto node = FakeNode::Start();
      ASSERT_TRUE(node.ok()) << node.status().message();
      (*node)->SetBlocks(1000, 998);
      (*node)->SetVersion(std::string("fake-") + name);
      nodes_[name] = std::move(node).value();
    }
    const std::string config =
        "defaults\n"
        "  mode http\n"
        "  timeout connect 2s\n"
        "  timeout client 10s\n"
        "  timeout server 10s\n"
        "frontend rpc\n"
        "  bind unix@" +
        dir_.Path("rpc.sock") +
        "\n"
        "  default_backend nodes\n"
        "backend nodes\n"
        "  balance " +
        balance_ + "\n";
    auto haproxy = HaproxyProcess::Start(support::Location("haproxy"), dir_.path(), config);
    ASSERT_TRUE(haproxy.ok()) << haproxy.status().message();
    haproxy_.emplace(std::move(haproxy).value());
    runtime_.emplace(haproxy_->admin_socket());
  }

  // LaunchController runs a controller on `admin_socket`'s HAProxy with the pool's settings hash,
  // `history` and `extra_flags`, logging to `log`, and waits for its ready lines.
  testing::StartedController LaunchController(const std::string& admin_socket,
                                              const std::string& history, const std::string& log,
                                              const std::string& listen,
                                              const std::vector<std::string>& extra_flags) {
    std::vector<std::string> flags = {"--metrics-listen", "127.0.0.1:0"};
    flags.insert(flags.end(), extra_flags.begin(), extra_flags.end());
    testing::ControllerLaunch launch;
    launch.program = support::Location("rpc-pool-controller");
    launch.pki = dir_.Path("pki");
    launch.haproxy_admin_socket = admin_socket;
    launch.history_dir = history;
    launch.log = log;
    launch.settings_hash = *SettingsHash(kPoolFlags);
    launch.listen = listen;
    launch.extra_flags = flags;
    auto started = testing::LaunchController(launch);
    EXPECT_TRUE(started.ok()) << started.status().message();
    return std::move(started).value();
  }

  // StartController runs the controller of the fixture's HAProxy with `rule_flags` (the rules'
  // numbers) and waits for its ready lines.
  void StartController(const std::vector<std::string>& rule_flags,
                       const std::string& listen = "127.0.0.1:0") {
    testing::StartedController launched =
        LaunchController(haproxy_->admin_socket(), dir_.Path("history"),
                         dir_.Path("controller.log"), listen, rule_flags);
    ASSERT_GT(launched.port, 0);
    controller_port_ = launched.port;
    metrics_port_ = launched.metrics_port;
    controller_.emplace(std::move(launched.process));
  }

  support::ChildProcess StartDaemon(const std::string& name,
                                    const std::vector<std::string>& node_flags) {
    testing::DaemonLaunch launch;
    launch.program = support::Location("rpc-pool-daemon");
    launch.pki = dir_.Path("pki");
    launch.node_id = "node-" + name;
    launch.node_port = nodes_.at(name)->port();
    launch.controllers = {"localhost:" + std::to_string(controller_port_)};
    launch.log = dir_.Path("daemon-" + name + ".log");
    launch.node_flags = node_flags;
    auto daemon = testing::LaunchDaemon(launch);
    EXPECT_TRUE(daemon.ok()) << daemon.status().message();
    return std::move(daemon).value();
  }

  // WaitForLine reads the daemon's heartbeat lines until one contains `text`.
  static bool WaitForLine(support::ChildProcess& daemon, const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      const std::optional<std::string> line = daemon.ReadLine(std::chrono::seconds(5));
      if (line && line->find(text) != std::string::npos) return true;
    }
    return false;
  }

  std::map<std::string, ServerState> Servers() {
    std::map<std::string, ServerState> servers;
    auto states = runtime_->ShowServersState("nodes");
    if (states.ok()) {
      for (const ServerState& state : *states) servers[state.server] = state;
    }
    return servers;
  }

  bool InService(const std::string& server) {
    const auto servers = Servers();
    const auto found = servers.find(server);
    return found != servers.end() && !found->second.InMaintenance();
  }

  // ServedBy sends `count` JSON-RPC requests through HAProxy and counts which node answered.
  std::map<std::string, int> ServedBy(int count) {
    std::map<std::string, int> served;
    for (int i = 0; i < count; ++i) {
      auto response = testing::HttpPostOverUnixSocket(dir_.Path("rpc.sock"),
                                                      JsonRpcRequest(1, "system_version", "[]"));
      EXPECT_TRUE(response.ok()) << response.status().message();
      if (!response.ok()) break;
      const size_t at = response->find("fake-");
      ++served[at == std::string::npos ? "none" : response->substr(at + 5, 1)];
    }
    return served;
  }

  std::string balance_ = "roundrobin";  // the selection method; set before SetUp
  support::TempDir dir_{"rpc-pool-e2e"};
  std::map<std::string, std::unique_ptr<FakeNode>> nodes_;
  std::optional<HaproxyProcess> haproxy_;
  std::optional<HaproxyRuntime> runtime_;
  std::optional<support::ChildProcess> controller_;
  int controller_port_ = 0;
  int metrics_port_ = 0;
};

TEST_F(PoolEndToEndTest, OnlyHealthyNodesWithThePoolsSettingsGetTraffic) {
  ASSERT_NO_FATAL_FAILURE(StartController({}));
  support::ChildProcess daemon_a = StartDaemon("a", kPoolFlags);
  support::ChildProcess daemon_b = StartDaemon("b", kPoolFlags);
  support::ChildProcess daemon_c = StartDaemon("c", kOtherFlags);

  // c runs with other settings: refused, and never a server.
  EXPECT_TRUE(WaitForLine(daemon_c, "verdict=WRONG_SETTINGS_HASH"));
  EXPECT_TRUE(WaitForLine(daemon_a, "verdict=ACCEPTED"));
  EXPECT_TRUE(WaitForLine(daemon_b, "verdict=ACCEPTED"));
  ASSERT_TRUE(WaitUntil([&] { return InService("node-a") && InService("node-b"); }))
      << support::ReadFile(dir_.Path("controller.log"));
  EXPECT_FALSE(Servers().contains("node-c"));
  const std::map<std::string, int> both = ServedBy(6);
  EXPECT_EQ(both, (std::map<std::string, int>{{"a", 3}, {"b", 3}}));

  // b falls 11 blocks behind: penalised and taken out of HAProxy; all traffic goes to a.
  nodes_.at("b")->SetBlocks(989, 987);
  ASSERT_TRUE(WaitUntil([&] { return Servers().count("node-b") && !InService("node-b"); }));
  EXPECT_TRUE(WaitForLine(daemon_b, "state=cooldown"));
  EXPECT_TRUE(InService("node-a"));
  EXPECT_EQ(ServedBy(6), (std::map<std::string, int>{{"a", 6}}));
  EXPECT_FALSE(Servers().contains("node-c"));

  // The same, as Prometheus sees it.
  const std::string page =
      support::HttpBody(support::HttpRequest(metrics_port_, "GET", "/metrics"));
  EXPECT_EQ(support::PrometheusSample(page, R"(rpc_pool_nodes{state="cooldown"})"), 1);
  EXPECT_EQ(support::PrometheusSample(page, R"(rpc_pool_nodes{state="in_service"})"), 1);
  EXPECT_EQ(support::PrometheusSample(page, R"(rpc_pool_node_in_service{node="node-a"})"), 1);
  EXPECT_EQ(support::PrometheusSample(page, R"(rpc_pool_node_in_service{node="node-b"})"), 0);
  EXPECT_EQ(support::PrometheusSample(page, R"(rpc_pool_node_penalties_total{node="node-b"})"), 1);
  EXPECT_EQ(support::PrometheusSample(page, R"(rpc_pool_node_best_block{node="node-b"})"), 989);
  EXPECT_EQ(support::PrometheusSample(page, "rpc_pool_best_block"), 1000);

  // The controller stops cleanly on SIGTERM; HAProxy keeps serving without it.
  EXPECT_EQ(controller_->Stop(SIGTERM), 0);
  EXPECT_EQ(ServedBy(2), (std::map<std::string, int>{{"a", 2}}));
}

// The operator's limits: only whitelisted nodes join, and no more than the capacity.
TEST_F(PoolEndToEndTest, WhitelistAndCapacityKeepNodesOut) {
  ASSERT_NO_FATAL_FAILURE(StartController({"--whitelist", "node-a", "node-b", "--capacity", "1"}));
  support::ChildProcess daemon_a = StartDaemon("a", kPoolFlags);
  EXPECT_TRUE(WaitForLine(daemon_a, "verdict=ACCEPTED"));
  support::ChildProcess daemon_b = StartDaemon("b", kPoolFlags);
  support::ChildProcess daemon_c = StartDaemon("c", kPoolFlags);
  EXPECT_TRUE(WaitForLine(daemon_b, "verdict=POOL_FULL"));
  EXPECT_TRUE(WaitForLine(daemon_c, "verdict=NOT_WHITELISTED"));
  ASSERT_TRUE(WaitUntil([&] { return InService("node-a"); }));
  EXPECT_EQ(Servers().size(), 1u);
  EXPECT_EQ(ServedBy(3), (std::map<std::string, int>{{"a", 3}}));
}

// A node that stalls is offline once its daemon has not reported for --offline-after-ms: out of
// HAProxy. When it answers again and its cooldown is over, the re-check puts it back.
TEST_F(PoolEndToEndTest, AStalledNodeLeavesAndComesBackAfterItsCooldown) {
  ASSERT_NO_FATAL_FAILURE(
      StartController({"--offline-after-ms", "5000", "--first-cooldown-ms", "2000"}));
  support::ChildProcess daemon_a = StartDaemon("a", kPoolFlags);
  support::ChildProcess daemon_b = StartDaemon("b", kPoolFlags);
  ASSERT_TRUE(WaitUntil([&] { return InService("node-a") && InService("node-b"); }))
      << support::ReadFile(dir_.Path("controller.log"));

  nodes_.at("b")->SetStalled(true);
  EXPECT_TRUE(WaitForLine(daemon_b, "node unavailable"));
  ASSERT_TRUE(WaitUntil([&] { return Servers().count("node-b") && !InService("node-b"); }));
  EXPECT_TRUE(InService("node-a"));
  EXPECT_EQ(ServedBy(4), (std::map<std::string, int>{{"a", 4}}));

  nodes_.at("b")->SetStalled(false);
  ASSERT_TRUE(WaitUntil([&] { return InService("node-b"); }));
  EXPECT_TRUE(WaitForLine(daemon_b, "state=in_service"));
  const std::map<std::string, int> both = ServedBy(4);
  EXPECT_EQ(both, (std::map<std::string, int>{{"a", 2}, {"b", 2}}));
  const std::string page =
      support::HttpBody(support::HttpRequest(metrics_port_, "GET", "/metrics"));
  EXPECT_GE(support::PrometheusSample(page, R"(rpc_pool_node_penalties_total{node="node-b"})"), 1);
}

// Seed 001's aliases: two clones of the LB, each its own HAProxy and controller, list each other.
// The daemons are told only the first; they learn the second from its answers and report to both,
// so both clones see every node and agree on the pool, penalties included.
TEST_F(PoolEndToEndTest, TwoClonesWithAliasesAgreeOnThePool) {
  const std::filesystem::path clone_dir = dir_.Path("clone");
  std::filesystem::create_directories(clone_dir);
  auto clone_haproxy = HaproxyProcess::Start(
      support::Location("haproxy"), clone_dir,
      "defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n"
      "frontend rpc\n  bind unix@" +
          (clone_dir / "rpc.sock").string() +
          "\n  default_backend nodes\nbackend nodes\n  balance roundrobin\n");
  ASSERT_TRUE(clone_haproxy.ok()) << clone_haproxy.status().message();
  const HaproxyRuntime clone_runtime(clone_haproxy->admin_socket());
  // Both clones must know both addresses before either starts: ports reserved up front.
  auto first_port = testing::ReserveLoopbackPort();
  auto clone_port = testing::ReserveLoopbackPort();
  ASSERT_TRUE(first_port.ok() && clone_port.ok());
  const std::vector<std::string> aliases = {"--alias", "localhost:" + std::to_string(*first_port),
                                            "--alias", "localhost:" + std::to_string(*clone_port)};
  ASSERT_NO_FATAL_FAILURE(StartController(aliases, "127.0.0.1:" + std::to_string(*first_port)));
  testing::StartedController clone = LaunchController(
      clone_haproxy->admin_socket(), (clone_dir / "history").string(),
      (clone_dir / "controller.log").string(), "127.0.0.1:" + std::to_string(*clone_port), aliases);
  ASSERT_EQ(clone.port, *clone_port);

  support::ChildProcess daemon_a = StartDaemon("a", kPoolFlags);
  support::ChildProcess daemon_b = StartDaemon("b", kPoolFlags);
  // b's daemon was given the first clone only and now hears from the second one too.
  EXPECT_TRUE(
      WaitForLine(daemon_b, "controller=localhost:" + std::to_string(*clone_port) + " best=1000"));
  const auto in_service_on = [](const HaproxyRuntime& runtime, const std::string& server) {
    auto states = runtime.ShowServersState("nodes");
    if (!states.ok()) return false;
    for (const ServerState& state : *states) {
      if (state.server == server) return !state.InMaintenance();
    }
    return false;
  };
  ASSERT_TRUE(WaitUntil([&] {
    return InService("node-a") && InService("node-b") && in_service_on(clone_runtime, "node-a") &&
           in_service_on(clone_runtime, "node-b");
  })) << support::ReadFile(clone_dir / "controller.log");

  // b falls behind: both clones penalise it and take it out of their HAProxy.
  nodes_.at("b")->SetBlocks(989, 987);
  ASSERT_TRUE(WaitUntil([&] {
    return Servers().count("node-b") && !InService("node-b") &&
           !in_service_on(clone_runtime, "node-b") && in_service_on(clone_runtime, "node-a");
  }));
  for (const int metrics_port : {metrics_port_, clone.metrics_port}) {
    const std::string page =
        support::HttpBody(support::HttpRequest(metrics_port, "GET", "/metrics"));
    EXPECT_EQ(support::PrometheusSample(page, R"(rpc_pool_nodes{state="cooldown"})"), 1) << page;
    EXPECT_EQ(support::PrometheusSample(page, R"(rpc_pool_nodes{state="in_service"})"), 1);
    EXPECT_EQ(support::PrometheusSample(page, R"(rpc_pool_node_penalties_total{node="node-b"})"),
              1);
    EXPECT_EQ(support::PrometheusSample(page, "rpc_pool_best_block"), 1000);
  }
  // Traffic through either clone reaches a only.
  for (const std::string& socket : {dir_.Path("rpc.sock"), (clone_dir / "rpc.sock").string()}) {
    for (int i = 0; i < 4; ++i) {
      auto response =
          testing::HttpPostOverUnixSocket(socket, JsonRpcRequest(1, "system_version", "[]"));
      ASSERT_TRUE(response.ok()) << response.status().message();
      EXPECT_NE(response->find("fake-a"), std::string::npos) << *response;
    }
  }
  EXPECT_EQ(clone.process.Stop(SIGTERM), 0);
}

// The annotated settings files of infra/pool are what the programs accept: every key is a flag
// (a stray key would stop them at start). The paths they name are replaced on the command line,
// which CLI11 lets win over the file.
TEST_F(PoolEndToEndTest, TheShippedSettingsFilesAreAccepted) {
  ASSERT_TRUE(
      support::WriteFile(dir_.Path("accounts.json"),
                         R"({"node-a": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"})", 0600)
          .ok());
  // The hash, listeners and paths on the command line win over the file's.
  auto controller = LaunchController(
      haproxy_->admin_socket(), dir_.Path("history"), dir_.Path("controller.log"), "127.0.0.1:0",
      {"--config", support::Location("pool-infra") + "/controller.toml", "--dashboard-listen",
       "127.0.0.1:0", "--payout-executable", "/bin/true", "--payout-accounts",
       dir_.Path("accounts.json"), "--payout-dir", dir_.Path("payouts")});
  EXPECT_GT(controller.port, 0) << support::ReadFile(dir_.Path("controller.log"));
  EXPECT_EQ(controller.process.Stop(SIGTERM), 0);

  // The payout program takes its file and gets as far as the points file, which is not there:
  // a run-time error (exit 1), not a refused setting (CLI11's own exit codes).
  const support::ProcessResult payout = support::ResultOrStartFailure(
      support::RunProcess({support::Location("rpc-pool-payout"), "--config",
                           support::Location("pool-infra") + "/payout.toml", "--period", "period-1",
                           "--points", dir_.Path("no-such-points.json"), "--fee-per-mille", "50"}));
  EXPECT_EQ(payout.exit_code, 1) << payout.Describe();
}

// The other selection method of seed 001: `balance random`. Traffic still reaches only the nodes
// in service; both healthy nodes get some of it (40 requests all landing on one of two nodes by
// chance has a probability of 2^-39).
class PoolRandomSelectionTest : public PoolEndToEndTest {
 protected:
  PoolRandomSelectionTest() { balance_ = "random"; }
};

TEST_F(PoolRandomSelectionTest, RandomSelectionReachesOnlyNodesInService) {
  ASSERT_NO_FATAL_FAILURE(StartController({}));
  support::ChildProcess daemon_a = StartDaemon("a", kPoolFlags);
  support::ChildProcess daemon_b = StartDaemon("b", kPoolFlags);
  support::ChildProcess daemon_c = StartDaemon("c", kPoolFlags);
  ASSERT_TRUE(WaitUntil([&] {
    return InService("node-a") && InService("node-b") && InService("node-c");
  })) << support::ReadFile(dir_.Path("controller.log"));
  nodes_.at("c")->SetBlocks(989, 987);
  ASSERT_TRUE(WaitUntil([&] { return Servers().count("node-c") && !InService("node-c"); }));
  const std::map<std::string, int> served = ServedBy(40);
  EXPECT_EQ(served.count("c"), 0u);
  EXPECT_EQ(served.count("none"), 0u);
  EXPECT_GT(served.count("a") ? served.at("a") : 0, 0);
  EXPECT_GT(served.count("b") ? served.at("b") : 0, 0);
  EXPECT_EQ((served.count("a") ? served.at("a") : 0) + (served.count("b") ? served.at("b") : 0),
            40);
}

}  // namespace
}  // namespace rpc_pool
