// PoolController: the pool controller's core. Applies the rules to heartbeats and time, records
// the history, and reconciles HAProxy's backend with the members in service. No listener of its
// own: the controller program feeds it heartbeats and calls Tick every second.
//
// Thread safety: PoolController is thread-safe (one lock around everything).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_annotations.h"
#include "rpc_pool/haproxy_runtime.h"
#include "rpc_pool/pool_history.h"
#include "rpc_pool/registry.h"
#include "slashing/clock.h"

namespace rpc_pool {

// ControllerOptions says which backend the controller owns and how it records.
struct ControllerOptions {
  std::string backend = "nodes";  // the HAProxy backend whose servers are the pool's members
  uint32_t server_weight = 10;    // the weight a member's server gets
  // An accepted heartbeat is recorded at most once per node in this interval (events always are):
  // a heartbeat every few seconds from every member would otherwise dominate the history.
  uint64_t heartbeat_record_interval_ms = 60'000;
};

// TickReport says what one Tick did to HAProxy.
struct TickReport {
  uint32_t added = 0;     // servers added for new members
  uint32_t enabled = 0;   // servers put back in service
  uint32_t disabled = 0;  // servers put in maintenance (penalised or removed members)
  uint32_t deleted = 0;   // servers of removed members deleted
  uint64_t requests = 0;  // requests counted from HAProxy's statistics into the points
};

// ControllerOverview is one consistent view of the pool (taken under the controller's lock) for
// the dashboard and its JSON API.
struct ControllerOverview {
  uint64_t at_ms = 0;  // the clock's time when it was taken
  std::vector<NodeView> nodes;
  uint64_t pool_best = 0;
  uint64_t pool_finalized = 0;
  // HAProxy's statistics per server name at the last Tick that could read them (latency,
  // requests); a server missing here has not been seen yet.
  std::map<std::string, ServerStat> servers;
};

class PoolController {
 public:
  // The clock, history and runtime must outlive the controller. `rules` should have passed
  // ValidateRules.
  PoolController(PoolRules rules, ControllerOptions options, slashing::Clock& clock,
                 PoolHistory& history, const HaproxyRuntime& haproxy);

  // RestoreFromHistory replays the removals recorded in the history, so a node removed
  // permanently stays removed across restarts (the rest of the registry is rebuilt by the
  // heartbeats within seconds). Call it once, before serving. Returns how many nodes it restored;
  // fails with the history's error.
  [[nodiscard]] base::Result<size_t> RestoreFromHistory();

  // OnHeartbeat applies the rules to `heartbeat` and records the outcome (its events, and the
  // heartbeat itself at most once per interval). A verdict is returned only once what it caused
  // is in the history; fails with the history's error (then the heartbeat is not acknowledged,
  // and the daemon's next one tries again).
  [[nodiscard]] base::Result<HeartbeatVerdict> OnHeartbeat(const Heartbeat& heartbeat);

  // CheckHeartbeat says why `heartbeat` is kMalformed (NodeRegistry::CheckHeartbeat), for the
  // answer to a daemon that OnHeartbeat refused so.
  MalformedReason CheckHeartbeat(const Heartbeat& heartbeat) const;

  // Tick runs the rules at the clock's time, records the events, counts the requests each member
  // served since the last Tick and brings HAProxy's backend in line with the members: a server
  // per member, in service exactly when the member is, deleted once the member is removed. It is
  // level-triggered: whatever one Tick could not do (HAProxy down, a server still holding
  // connections, a member's endpoint HAProxy refuses), the next one does, and a server HAProxy
  // refuses never keeps the others from being reconciled. Fails with the first HAProxy or history
  // error (a failed reconcile names every server it could not bring in line); the rules have
  // still run.
  [[nodiscard]] base::Result<TickReport> Tick();

  // ClosePointsPeriod closes the rules' points period and records one points record per node.
  // Fails with the history's error.
  [[nodiscard]] base::Result<PointsPeriod> ClosePointsPeriod();

  // Nodes is the registry's view, for the JSON API, the dashboard and the metrics.
  std::vector<NodeView> Nodes() const;
  // PoolBest is the highest best block among the members heard recently (NodeRegistry::PoolBest).
  uint64_t PoolBest() const;
  // Overview is the registry's view, the pool's best and finalized blocks and HAProxy's last
  // per-server statistics, all from one moment.
  ControllerOverview Overview() const;

 private:
  // Record appends the registry's new events and `extra` to the history, after whatever an
  // earlier failure left pending; on failure everything stays pending for the next call.
  base::Status Record(std::vector<HistoryRecord> extra) REQUIRES(mutex_);
  base::Status CountRequests(TickReport& report) REQUIRES(mutex_);
  // Reconcile brings every server in line with its member, each tried whatever happened to the
  // others; fails with every server that could not be (ServerErrors in controller.cc).
  base::Status Reconcile(TickReport& report) REQUIRES(mutex_);
  // ReconcileMember brings `node`'s server in line with it; `servers` is HAProxy's view, from
  // which a server it deletes is erased.
  base::Status ReconcileMember(const NodeView& node, std::map<std::string, ServerState>& servers,
                               TickReport& report) REQUIRES(mutex_);

  const ControllerOptions options_;
  slashing::Clock& clock_;
  PoolHistory& history_;
  const HaproxyRuntime& haproxy_;
  mutable base::Mutex mutex_;
  NodeRegistry registry_ GUARDED_BY(mutex_);
  const uint64_t started_ms_;
  // Records a failed history write left behind, written before anything newer.
  std::vector<HistoryRecord> pending_records_ GUARDED_BY(mutex_);
  // When each node's heartbeat was last recorded.
  std::map<std::string, uint64_t> heartbeat_recorded_ms_ GUARDED_BY(mutex_);
  // The endpoint each member's server was added with: a changed endpoint re-adds the server.
  std::map<std::string, std::string> server_endpoint_ GUARDED_BY(mutex_);
  // HAProxy's request counter per server at the last Tick (it restarts at 0 for a new server).
  std::map<std::string, uint64_t> last_request_counter_ GUARDED_BY(mutex_);
  // HAProxy's statistics per server at the last Tick that read them, for Overview.
  std::map<std::string, ServerStat> server_stats_ GUARDED_BY(mutex_);
};

}  // namespace rpc_pool
