// Test support: rpc-pool-controller and rpc-pool-daemon started as real processes on loopback with
// a dev PKI, for the end-to-end tests, the browser test and the benchmark.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "base/status.h"
#include "support/process.h"

namespace rpc_pool::testing {

// ControllerLaunch says how to start one controller. The PKI is a support::MakeDevPki directory
// (its server certificate names localhost).
struct ControllerLaunch {
  std::string program;  // the rpc-pool-controller binary
  std::filesystem::path pki;
  std::string haproxy_admin_socket;
  std::filesystem::path history_dir;
  std::filesystem::path log;  // its stderr
  std::string settings_hash;
  std::string listen = "127.0.0.1:0";
  std::string tick_ms = "100";
  std::vector<std::string> extra_flags;  // rules, operator settings, listeners
};

// StartedController is a running controller and the ports it printed (0: no such listener).
struct StartedController {
  support::ChildProcess process;
  int port = 0;            // heartbeats
  int metrics_port = 0;    // /metrics
  int dashboard_port = 0;  // the dashboard and JSON API
};

// LaunchController starts the controller and reads its start-up lines up to "listening on".
// Fails with kUnavailable (its log in the message) when it does not get there within `wait`.
base::Result<StartedController> LaunchController(
    const ControllerLaunch& launch, std::chrono::milliseconds wait = std::chrono::seconds(30));

// DaemonLaunch says how to start one LB daemon for the node `node_id` (a client certificate of
// the dev PKI) whose fake JSON-RPC listens on `node_port`.
struct DaemonLaunch {
  std::string program;  // the rpc-pool-daemon binary
  std::filesystem::path pki;
  std::string node_id;
  int node_port = 0;
  std::vector<std::string> controllers;  // HOST:PORT each
  std::filesystem::path log;             // its stderr
  std::string interval_ms = "100";
  std::string rpc_endpoint;   // empty: the node's own address
  std::string settings_hash;  // set: sent as is; empty: hashed from node_flags
  std::vector<std::string> node_flags;
};

// LaunchDaemon starts the daemon; its heartbeat lines are on the process's stdout. Fails with
// kUnavailable when the program cannot be started.
base::Result<support::ChildProcess> LaunchDaemon(const DaemonLaunch& launch);

}  // namespace rpc_pool::testing
