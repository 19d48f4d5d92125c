// End to end with real processes on loopback: fake nodes the test steers, an LB daemon beside
// each, the controller, and a real HAProxy. A wrong settings hash is refused, a node 11 blocks
// behind is taken out of HAProxy, and traffic through HAProxy reaches only healthy nodes.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

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
        "  balance roundrobin\n";
    auto haproxy = HaproxyProcess::Start(support::Location("haproxy"), dir_.path(), config);
    ASSERT_TRUE(haproxy.ok()) << haproxy.status().message();
    haproxy_.emplace(std::move(haproxy).value());
    runtime_.emplace(haproxy_->admin_socket());
  }

  // StartController runs the controller with `rule_flags` (the rules' numbers) and waits for its
  // ready lines.
  void StartController(const std::vector<std::string>& rule_flags) {
    const tls::ServerCredentialFiles server = support::DevPkiServerFiles(dir_.Path("pki"));
    support::ChildOptions options;
    options.stderr_file = dir_.Path("controller.log");
    std::vector<std::string> argv = {support::Location("rpc-pool-controller"),
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--tls-cert",
                                     server.certificate_chain.string(),
                                     "--tls-key",
                                     server.private_key.string(),
                                     "--client-ca",
                                     server.client_ca.string(),
                                     "--haproxy-socket",
                                     haproxy_->admin_socket(),
                                     "--history-dir",
                                     dir_.Path("history"),
                                     "--settings-hash",
                                     *SettingsHash(kPoolFlags),
                                     "--tick-ms",
                                     "100",
                                     "--metrics-listen",
                                     "127.0.0.1:0"};
    argv.insert(argv.end(), rule_flags.begin(), rule_flags.end());
    auto controller = support::ChildProcess::Start(argv, options);
    ASSERT_TRUE(controller.ok()) << controller.status().message();
    controller_.emplace(std::move(controller).value());
    const std::optional<std::string> metrics = controller_->ReadLine(kWait);
    ASSERT_TRUE(metrics.has_value()) << support::ReadFile(dir_.Path("controller.log"));
    ASSERT_NE(metrics->find("metrics on"), std::string::npos) << *metrics;
    metrics_port_ = std::stoi(metrics->substr(metrics->rfind(':') + 1));
    const std::optional<std::string> ready = controller_->ReadLine(kWait);
    ASSERT_TRUE(ready.has_value()) << support::ReadFile(dir_.Path("controller.log"));
    ASSERT_NE(ready->find("listening on"), std::string::npos) << *ready;
    controller_port_ = std::stoi(ready->substr(ready->rfind(':') + 1));
  }

  support::ChildProcess StartDaemon(const std::string& name,
                                    const std::vector<std::string>& node_flags) {
    const tls::ClientCredentialFiles files =
        support::DevPkiClientFiles(dir_.Path("pki"), "node-" + name);
    std::vector<std::string> argv = {support::Location("rpc-pool-daemon"),
                                     "--node-rpc",
                                     "127.0.0.1:" + std::to_string(nodes_.at(name)->port()),
                                     "--controller",
                                     "localhost:" + std::to_string(controller_port_),
                                     "--server-ca",
                                     files.server_ca.string(),
                                     "--cert",
                                     files.certificate.string(),
                                     "--key",
                                     files.private_key.string(),
                                     "--interval-ms",
                                     "100",
                                     "--"};
    argv.insert(argv.end(), node_flags.begin(), node_flags.end());
    support::ChildOptions options;
    options.stderr_file = dir_.Path("daemon-" + name + ".log");
    auto daemon = support::ChildProcess::Start(argv, options);
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

}  // namespace
}  // namespace rpc_pool
