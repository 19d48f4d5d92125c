// rpc_pool_reshape_bench: requests per second through HAProxy while the pool controller reshapes
// the pool every second, against the same HAProxy with the controller stopped, in one run.
//
// Usage: rpc_pool_reshape_bench --haproxy PATH --nginx PATH --wrk PATH --controller PATH
//          --daemon PATH [--rounds N] [--seconds S] [--connections C]
// Three nginx servers stand for the nodes' RPC (a fixed JSON-RPC answer, keep-alive), each with a
// fake node the LB daemons poll; rpc-pool-controller drives HAProxy through its runtime API. Each
// round runs wrk three times against HAProxy's frontend, in an order that rotates: with the
// controller and the daemons stopped (SIGSTOP: HAProxy alone); with them running and the pool
// steady; and while node c falls 11 blocks behind and catches up again every second, so the
// controller takes its server out and puts it back (1 s cooldown). Prints each phase's rate and
// latency and, last, the medians and the ratios (docs/benchmarks.md).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "rpc_pool/haproxy_runtime.h"
#include "rpc_pool/settings_hash.h"
#include "support/dev_pki.h"
#include "support/files.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "testing/fake_node.h"
#include "testing/haproxy_process.h"
#include "testing/pool_processes.h"

namespace {

using rpc_pool::testing::FakeNode;
using rpc_pool::testing::HaproxyProcess;

constexpr uint64_t kBest = 100'000;
constexpr uint64_t kLag = 11;  // one more than the default max_lag_blocks

struct Programs {
  std::string haproxy;
  std::string nginx;
  std::string wrk;
  std::string controller;
  std::string daemon;
};

// WrkFigures is what one wrk run reports.
struct WrkFigures {
  double requests_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  uint64_t errors = 0;  // non-2xx answers and socket errors
};

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "rpc_pool_reshape_bench: %s\n", message.c_str());
  std::exit(1);
}

// ParseMs reads a wrk latency such as "1.23ms", "850.00us" or "1.02s" as milliseconds.
double ParseMs(const std::string& text) {
  const double value = std::stod(text);
  if (text.ends_with("us")) return value / 1000;
  if (text.ends_with("ms")) return value;
  if (text.ends_with("s")) return value * 1000;
  return value;
}

// ValueAfter returns the whitespace-separated word after `label` in `text`, or "".
std::string ValueAfter(const std::string& text, const std::string& label) {
  const size_t at = text.find(label);
  if (at == std::string::npos) return "";
  size_t begin = text.find_first_not_of(" \t", at + label.size());
  if (begin == std::string::npos) return "";
  const size_t end = text.find_first_of(" \t\n", begin);
  return text.substr(begin, end - begin);
}

WrkFigures RunWrk(const Programs& programs, int port, int seconds, int connections) {
  support::ProcessOptions options;
  options.timeout = std::chrono::seconds(seconds + 30);
  auto run = support::RunProcess({programs.wrk, "-t", "2", "-c", std::to_string(connections), "-d",
                                  std::to_string(seconds) + "s", "--latency",
                                  "http://127.0.0.1:" + std::to_string(port) + "/"},
                                 options);
  if (!run.ok() || run->exit_code != 0) Fail("wrk failed: " + (run.ok() ? run->err : ""));
  const std::string& out = run->out;
  WrkFigures figures;
  figures.requests_per_second = std::stod(ValueAfter(out, "Requests/sec:"));
  figures.p50_ms = ParseMs(ValueAfter(out, " 50%"));
  figures.p99_ms = ParseMs(ValueAfter(out, " 99%"));
  const std::string non2xx = ValueAfter(out, "Non-2xx or 3xx responses:");
  if (!non2xx.empty()) figures.errors += std::stoull(non2xx);
  if (out.find("Socket errors:") != std::string::npos) {
    for (const char* kind : {"connect ", "read ", "write ", "timeout "}) {
      std::string value = ValueAfter(out, kind);
      if (!value.empty() && value.back() == ',') value.pop_back();
      if (!value.empty()) figures.errors += std::stoull(value);
    }
  }
  return figures;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void Drain(std::vector<support::ChildProcess*>& children) {
  for (support::ChildProcess* child : children) {
    while (true) {
      const std::optional<std::string> some = child->ReadSome(std::chrono::milliseconds(0));
      if (!some || some->empty()) break;
    }
  }
}

int Main(int argc, char** argv) {
  Programs programs;
  int rounds = 3;
  int seconds = 5;
  int connections = 32;
  CLI::App app("rpc_pool_reshape_bench: HAProxy with and without the controller reshaping it");
  app.add_option("--haproxy", programs.haproxy)->required();
  app.add_option("--nginx", programs.nginx)->required();
  app.add_option("--wrk", programs.wrk)->required();
  app.add_option("--controller", programs.controller)->required();
  app.add_option("--daemon", programs.daemon)->required();
  app.add_option("--rounds", rounds)->check(CLI::Range(1, 20));
  app.add_option("--seconds", seconds, "per wrk phase")->check(CLI::Range(1, 120));
  app.add_option("--connections", connections)->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);

  support::TempDir dir("rpc-pool-bench");
  const std::vector<std::string> names = {"a", "b", "c"};
  if (!support::MakeDevPki(dir / "pki", {"node-a", "node-b", "node-c"}).ok()) Fail("dev PKI");

  // The nodes' RPC: one nginx with a server per node (a fixed answer, keep-alive).
  std::vector<int> rpc_ports;
  std::string servers;
  for (size_t i = 0; i < names.size(); ++i) {
    auto port = rpc_pool::testing::ReserveLoopbackPort();
    if (!port.ok()) Fail(port.status().message());
    rpc_ports.push_back(*port);
    servers += "  server { listen 127.0.0.1:" + std::to_string(*port) +
               "; location / { default_type application/json; return 200 "
               "'{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"node-" +
               names[i] + "\"}'; } }\n";
  }
  const std::string nginx_conf = (dir / "nginx.conf").string();
  if (!support::WriteFile(nginx_conf,
                          "daemon off;\nworker_processes 1;\npid " + (dir / "nginx.pid").string() +
                              ";\nerror_log " + (dir / "nginx.log").string() +
                              ";\nevents { worker_connections 4096; }\nhttp {\n"
                              "  access_log off;\n  keepalive_requests 1000000;\n" +
                              servers + "}\n",
                          0644)
           .ok()) {
    Fail("cannot write nginx.conf");
  }
  auto nginx =
      support::ChildProcess::Start({programs.nginx, "-c", nginx_conf, "-p", dir.path().string(),
                                    "-e", (dir / "nginx.log").string()});
  if (!nginx.ok()) Fail(nginx.status().message());

  // HAProxy: a TCP frontend on loopback, the backend the controller owns (empty until it adds).
  auto frontend_port = rpc_pool::testing::ReserveLoopbackPort();
  if (!frontend_port.ok()) Fail(frontend_port.status().message());
  auto haproxy = HaproxyProcess::Start(
      programs.haproxy, dir.path(),
      "defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n"
      "frontend rpc\n  bind 127.0.0.1:" +
          std::to_string(*frontend_port) +
          "\n  default_backend nodes\nbackend nodes\n  balance roundrobin\n");
  if (!haproxy.ok()) Fail(haproxy.status().message());
  const rpc_pool::HaproxyRuntime runtime(haproxy->admin_socket());

  // The fake nodes the daemons read blocks from.
  std::vector<std::unique_ptr<FakeNode>> nodes;
  for (size_t i = 0; i < names.size(); ++i) {
    auto node = FakeNode::Start();
    if (!node.ok()) Fail(node.status().message());
    (*node)->SetBlocks(kBest, kBest - 2);
    nodes.push_back(std::move(node).value());
  }

  const std::vector<std::string> pool_flags = {"--chain", "kusama"};
  const std::string settings_hash = *rpc_pool::SettingsHash(pool_flags);
  rpc_pool::testing::ControllerLaunch controller_launch;
  controller_launch.program = programs.controller;
  controller_launch.pki = dir / "pki";
  controller_launch.haproxy_admin_socket = haproxy->admin_socket();
  controller_launch.history_dir = dir / "history";
  controller_launch.log = dir / "controller.log";
  controller_launch.settings_hash = settings_hash;
  controller_launch.extra_flags = {"--first-cooldown-ms", "1000", "--metrics-listen",
                                   "127.0.0.1:0"};
  auto controller = rpc_pool::testing::LaunchController(controller_launch);
  if (!controller.ok()) Fail(controller.status().message());

  std::vector<support::ChildProcess> daemons;
  for (size_t i = 0; i < names.size(); ++i) {
    rpc_pool::testing::DaemonLaunch launch;
    launch.program = programs.daemon;
    launch.pki = dir / "pki";
    launch.node_id = "node-" + names[i];
    launch.node_port = nodes[i]->port();
    launch.controllers = {"localhost:" + std::to_string(controller->port)};
    launch.log = dir / ("daemon-" + names[i] + ".log");
    launch.interval_ms = "200";
    launch.rpc_endpoint = "127.0.0.1:" + std::to_string(rpc_ports[i]);
    launch.settings_hash = settings_hash;
    auto daemon = rpc_pool::testing::LaunchDaemon(launch);
    if (!daemon.ok()) Fail(daemon.status().message());
    daemons.push_back(std::move(daemon).value());
  }
  std::vector<support::ChildProcess*> chatty = {&controller->process};
  for (support::ChildProcess& daemon : daemons) chatty.push_back(&daemon);

  // InServiceCount: servers of the backend HAProxy would send a request to now.
  const auto in_service = [&runtime] {
    int count = 0;
    auto states = runtime.ShowServersState("nodes");
    if (states.ok()) {
      for (const rpc_pool::ServerState& state : *states) count += state.InMaintenance() ? 0 : 1;
    }
    return count;
  };
  const auto wait_for_all_in_service = [&] {
    for (int tries = 0; tries < 600; ++tries) {
      Drain(chatty);
      if (in_service() == static_cast<int>(names.size())) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Fail("the pool never had all three nodes in service");
  };
  const auto signal_all = [&](int signal) {
    for (support::ChildProcess* child : chatty) {
      if (!child->Signal(signal).ok()) Fail("cannot signal a child");
    }
  };

  std::vector<double> alone_rates, alone_p50, alone_p99, steady_rates, steady_p50, steady_p99,
      reshaping_rates, reshaping_p50, reshaping_p99;
  for (int round = 1; round <= rounds; ++round) {
    // HAProxy alone: every node in service, then the controller and daemons frozen.
    const auto run_alone = [&] {
      wait_for_all_in_service();
      signal_all(SIGSTOP);
      const WrkFigures figures = RunWrk(programs, *frontend_port, seconds, connections);
      signal_all(SIGCONT);
      return figures;
    };
    // Reshaping: node c lags 11 blocks in every other second; the flapper counts what HAProxy did.
    int transitions_seen = 0;
    const auto run_reshaping = [&] {
      wait_for_all_in_service();
      std::atomic<bool> stop{false};
      std::atomic<int> transitions{0};
      std::thread flapper([&] {
        bool lagging = false;
        int last = in_service();
        auto next_flip = std::chrono::steady_clock::now();
        while (!stop.load()) {
          if (std::chrono::steady_clock::now() >= next_flip) {
            lagging = !lagging;
            const uint64_t best = lagging ? kBest - kLag : kBest;
            nodes[2]->SetBlocks(best, best - 2);
            next_flip += std::chrono::seconds(1);
          }
          const int now = in_service();
          if (now != last) transitions.fetch_add(1);
          last = now;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        nodes[2]->SetBlocks(kBest, kBest - 2);
      });
      const WrkFigures figures = RunWrk(programs, *frontend_port, seconds, connections);
      stop.store(true);
      flapper.join();
      Drain(chatty);
      transitions_seen = transitions.load();
      return figures;
    };
    // Steady: the controller and daemons run (heartbeats, ticks, statistics read every tick) and
    // the pool does not change: what the controller's presence costs, apart from the pool's shape.
    const auto run_steady = [&] {
      wait_for_all_in_service();
      const WrkFigures figures = RunWrk(programs, *frontend_port, seconds, connections);
      Drain(chatty);
      return figures;
    };
    // The order rotates between rounds, so a drift of the machine falls on every phase.
    WrkFigures alone;
    WrkFigures steady;
    WrkFigures reshaping;
    for (int phase = 0; phase < 3; ++phase) {
      switch ((phase + round) % 3) {
        case 0:
          alone = run_alone();
          break;
        case 1:
          steady = run_steady();
          break;
        default:
          reshaping = run_reshaping();
          break;
      }
    }

    std::printf(
        "round %d: haproxy alone %.0f req/s p50 %.3f ms p99 %.3f ms errors %llu | controller "
        "steady %.0f req/s p50 %.3f ms p99 %.3f ms errors %llu | reshaping %.0f req/s p50 %.3f ms "
        "p99 %.3f ms errors %llu, %d pool changes\n",
        round, alone.requests_per_second, alone.p50_ms, alone.p99_ms,
        static_cast<unsigned long long>(alone.errors), steady.requests_per_second, steady.p50_ms,
        steady.p99_ms, static_cast<unsigned long long>(steady.errors),
        reshaping.requests_per_second, reshaping.p50_ms, reshaping.p99_ms,
        static_cast<unsigned long long>(reshaping.errors), transitions_seen);
    std::fflush(stdout);
    steady_rates.push_back(steady.requests_per_second);
    steady_p50.push_back(steady.p50_ms);
    steady_p99.push_back(steady.p99_ms);
    alone_rates.push_back(alone.requests_per_second);
    alone_p50.push_back(alone.p50_ms);
    alone_p99.push_back(alone.p99_ms);
    reshaping_rates.push_back(reshaping.requests_per_second);
    reshaping_p50.push_back(reshaping.p50_ms);
    reshaping_p99.push_back(reshaping.p99_ms);
  }
  std::printf(
      "median: haproxy alone %.0f req/s p50 %.3f ms p99 %.3f ms | controller steady %.0f req/s "
      "p50 %.3f ms p99 %.3f ms | reshaping %.0f req/s p50 %.3f ms p99 %.3f ms\n",
      Median(alone_rates), Median(alone_p50), Median(alone_p99), Median(steady_rates),
      Median(steady_p50), Median(steady_p99), Median(reshaping_rates), Median(reshaping_p50),
      Median(reshaping_p99));
  std::printf("rate ratios: steady/alone %.3f, reshaping/alone %.3f\n",
              Median(steady_rates) / Median(alone_rates),
              Median(reshaping_rates) / Median(alone_rates));
  for (support::ChildProcess& daemon : daemons) daemon.Stop(SIGTERM);
  controller->process.Stop(SIGTERM);
  nginx->Stop(SIGQUIT);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
