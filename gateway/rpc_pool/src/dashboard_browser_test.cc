// The dashboard in a real browser: sets up a pool (real HAProxy, three fake nodes with their LB
// daemons, the controller) in which one node falls behind and is penalised, then runs
// tests/browser/dashboard.js, which opens the page in headless Chromium and checks what a person
// sees. The screenshot stays in a directory of its own, whose path is printed.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

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

using nlohmann::json;
using testing::FakeNode;
using testing::HaproxyProcess;

const std::vector<std::string> kPoolFlags = {"--chain", "kusama", "--rpc-cors", "all"};
constexpr auto kWait = std::chrono::seconds(30);
// The script bounds itself at 90 s and closes the browser; this bound is for a hung node.
constexpr auto kScriptTimeout = std::chrono::seconds(150);

bool WaitUntil(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

// KillStrays ends the processes whose command line names `profile_dir` (the browser's own
// user-data-dir, so only the browser this test started can match), by their IDs, and returns how
// many there were. A browser is detached from the script into a process group of its own, so a
// script killed on a timeout would otherwise leave it running.
int KillStrays(const std::string& profile_dir) {
  int killed = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream file(entry.path() / "cmdline", std::ios::binary);
    const std::string cmdline((std::istreambuf_iterator<char>(file)),
                              std::istreambuf_iterator<char>());
    if (cmdline.find(profile_dir) == std::string::npos) continue;
    if (::kill(std::stoi(name), SIGKILL) == 0) ++killed;
  }
  return killed;
}

class DashboardBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(support::MakeDevPki(dir_.Path("pki"), {"node-a", "node-b", "node-c"}).ok());
    for (const char* name : {"a", "b", "c"}) {
      auto node = FakeNode::Start();
      ASSERT_TRUE(node.ok()) << node.status().message();
      (*node)->SetVersion(std::string("fake-") + name);
      nodes_[name] = std::move(node).value();
    }
    AdvanceChain();
    const std::string config =
        "defaults\n  mode http\n  timeout connect 2s\n"
        "  timeout client 10s\n  timeout server 10s\n"
        "frontend rpc\n  bind unix@" +
        dir_.Path("rpc.sock") +
        "\n  default_backend nodes\n"
        "backend nodes\n  balance roundrobin\n";
    auto haproxy = HaproxyProcess::Start(support::Location("haproxy"), dir_.path(), config);
    ASSERT_TRUE(haproxy.ok()) << haproxy.status().message();
    haproxy_.emplace(std::move(haproxy).value());
  }

  // AdvanceChain sets every node's blocks from the chain's height; a lagging node stays where it
  // stopped.
  void AdvanceChain() {
    const uint64_t best = 1000 + height_.load();
    for (const auto& [name, node] : nodes_) {
      if (name == "b" && b_stuck_at_.load() != 0) {
        node->SetBlocks(b_stuck_at_.load(), b_stuck_at_.load() - 2);
      } else {
        node->SetBlocks(best, best - 2);
      }
    }
  }

  void StartController() {
    testing::ControllerLaunch launch;
    launch.program = support::Location("rpc-pool-controller");
    launch.pki = dir_.Path("pki");
    launch.haproxy_admin_socket = haproxy_->admin_socket();
    launch.history_dir = dir_.Path("history");
    launch.log = dir_.Path("controller.log");
    launch.settings_hash = *SettingsHash(kPoolFlags);
    launch.extra_flags = {"--heartbeat-record-interval-ms",
                          "250",
                          "--points-period-s",
                          "2",
                          "--first-cooldown-ms",
                          "600000",
                          "--dashboard-listen",
                          "127.0.0.1:0",
                          "--name",
                          "Example RPC pool",
                          "--fee-percent",
                          "5",
                          "--contact",
                          "ops@pool.example",
                          "--selection",
                          "roundrobin"};
    auto started = testing::LaunchController(launch, kWait);
    ASSERT_TRUE(started.ok()) << started.status().message();
    ASSERT_GT(started->dashboard_port, 0);
    dashboard_port_ = started->dashboard_port;
    controller_port_ = started->port;
    controller_.emplace(std::move(started->process));
  }

  support::ChildProcess StartDaemon(const std::string& name) {
    testing::DaemonLaunch launch;
    launch.program = support::Location("rpc-pool-daemon");
    launch.pki = dir_.Path("pki");
    launch.node_id = "node-" + name;
    launch.node_port = nodes_.at(name)->port();
    launch.controllers = {"localhost:" + std::to_string(controller_port_)};
    launch.log = dir_.Path("daemon-" + name + ".log");
    launch.node_flags = kPoolFlags;
    auto daemon = testing::LaunchDaemon(launch);
    EXPECT_TRUE(daemon.ok()) << daemon.status().message();
    return std::move(daemon).value();
  }

  // Api reads a route of the dashboard's JSON API; a discarded value when it does not answer.
  json Api(const std::string& path) {
    return json::parse(support::HttpBody(support::HttpRequest(dashboard_port_, "GET", path)),
                       nullptr, false);
  }

  std::string NodeState(const std::string& id) {
    const json body = Api("/api/v1/nodes");
    if (body.is_discarded()) return "";
    for (const json& node : body["nodes"]) {
      if (node["id"] == id) return node["state"];
    }
    return "";
  }

  uint64_t NodeBest(const std::string& id) {
    const json body = Api("/api/v1/nodes");
    if (body.is_discarded()) return 0;
    for (const json& node : body["nodes"]) {
      if (node["id"] == id && node["best"].is_number_unsigned()) return node["best"];
    }
    return 0;
  }

  // Step moves the chain on by `blocks` (at most the pool's lag bound of 10, so a node that
  // follows is never more than that behind another, however late its daemon reports) and waits
  // until the controller has heard every following node at the new height. The chain moves only
  // here, so no node is penalised by a slow daemon on a loaded machine.
  void Step(uint64_t blocks) {
    ASSERT_LE(blocks, 10u);
    height_ += blocks;
    AdvanceChain();
    const uint64_t best = 1000 + height_.load();
    ASSERT_TRUE(WaitUntil([&] {
      for (const char* id : {"node-a", "node-b", "node-c"}) {
        if (std::string(id) == "node-b" && b_stuck_at_.load() != 0) continue;
        if (NodeBest(id) != best) return false;
      }
      return true;
    })) << support::ReadFile(dir_.Path("controller.log"));
  }

  size_t Heartbeats(const std::string& id) {
    const json body = Api("/api/v1/nodes/" + id + "/history?since=0&kind=heartbeat");
    return body.is_discarded() ? 0 : body["records"].size();
  }

  support::TempDir dir_{"rpc-pool-dashboard"};
  std::map<std::string, std::unique_ptr<FakeNode>> nodes_;
  std::atomic<uint64_t> height_{0};
  std::atomic<uint64_t> b_stuck_at_{0};
  std::optional<HaproxyProcess> haproxy_;
  std::optional<support::ChildProcess> controller_;
  int controller_port_ = 0;
  int dashboard_port_ = 0;
};

TEST_F(DashboardBrowserTest, APersonSeesTheNodesThePenaltyAndTheCharts) {
  ASSERT_NO_FATAL_FAILURE(StartController());
  support::ChildProcess daemon_a = StartDaemon("a");
  support::ChildProcess daemon_b = StartDaemon("b");
  support::ChildProcess daemon_c = StartDaemon("c");
  ASSERT_TRUE(WaitUntil([&] {
    return NodeState("node-a") == "in_service" && NodeState("node-b") == "in_service" &&
           NodeState("node-c") == "in_service";
  })) << support::ReadFile(dir_.Path("controller.log"));

  // Traffic through HAProxy, so latency and requests have figures, and a few recorded heartbeats
  // per node at rising heights, so each chart has a sloping line (a heartbeat is recorded at most
  // every 250 ms; the pauses only shape the picture, nothing waits on them).
  for (int step = 0; step < 6; ++step) {
    for (int i = 0; i < 6; ++i) {
      auto response = testing::HttpPostOverUnixSocket(dir_.Path("rpc.sock"),
                                                      JsonRpcRequest(1, "system_version", "[]"));
      EXPECT_TRUE(response.ok()) << response.status().message();
    }
    ASSERT_NO_FATAL_FAILURE(Step(2));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  ASSERT_TRUE(WaitUntil([&] {
    return Heartbeats("node-a") >= 6 && Heartbeats("node-b") >= 6 && Heartbeats("node-c") >= 6;
  }));

  // b stops following the chain; the others go on, in steps, until b is 11 blocks behind and
  // penalised (for ten minutes).
  b_stuck_at_ = 1000 + height_.load();
  for (int step = 0; step < 4; ++step) {
    ASSERT_NO_FATAL_FAILURE(Step(3));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  ASSERT_TRUE(WaitUntil([&] { return NodeState("node-b") == "cooldown"; }))
      << support::ReadFile(dir_.Path("controller.log"));
  EXPECT_EQ(NodeState("node-a"), "in_service");
  EXPECT_EQ(NodeState("node-c"), "in_service");
  ASSERT_TRUE(WaitUntil([&] { return Heartbeats("node-a") >= 10; }));

  // The screenshot and the browser's profile live in a directory of their own that is kept, so
  // the picture can be looked at after the run.
  support::TempDir shots("rpc-pool-dashboard-shot");
  shots.Keep();
  const std::string profile = shots.Path("chromium-profile");
  support::ProcessOptions options;
  options.timeout = kScriptTimeout;
  const support::ProcessResult run = support::ResultOrStartFailure(support::RunProcess(
      {support::Location("node"), support::Location("dashboard-script"), "--url",
       "http://127.0.0.1:" + std::to_string(dashboard_port_) + "/", "--chromium",
       support::Location("chromium"), "--out", shots.path().string(), "--profile", profile,
       "--nodes", "node-a,node-b,node-c", "--penalised", "node-b"},
      options));
  EXPECT_EQ(KillStrays(profile), 0) << "the browser outlived the script";
  std::printf("%s", run.out.c_str());
  EXPECT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_FALSE(run.timed_out);
  const std::filesystem::path screenshot = shots.path() / "dashboard.png";
  EXPECT_TRUE(std::filesystem::exists(screenshot));
  std::printf("dashboard screenshot: %s\n", screenshot.c_str());
  std::filesystem::remove_all(profile);
}

}  // namespace
}  // namespace rpc_pool
