// The pool controller's core: rules, history and HAProxy reconciliation under one lock.
#include "rpc_pool/controller.h"

#include <cstdint>
#include <string>
#include <utility>

namespace rpc_pool {

using base::Result;
using base::Status;

namespace {

// kMaxServerErrorsShown bounds the message of a Reconcile that failed on many servers: the first
// few say what is wrong, the count says how widespread.
constexpr size_t kMaxServerErrorsShown = 3;

// ServerErrors gathers the failures of one Reconcile, server by server, into one status: the
// first failure's code, and a message naming each server that failed (the first few in full).
class ServerErrors {
 public:
  void Add(const std::string& server, const Status& status) {
    if (status.ok()) return;
    if (failed_ == 0) code_ = status.code();
    if (failed_ < kMaxServerErrorsShown) {
      message_ += (failed_ == 0 ? "" : "; ") + server + ": " + status.message();
    }
    ++failed_;
  }

  Status status() const {
    if (failed_ == 0) return Status::Ok();
    std::string message = std::to_string(failed_) + " server(s) not reconciled: " + message_;
    if (failed_ > kMaxServerErrorsShown) {
      message += "; and " + std::to_string(failed_ - kMaxServerErrorsShown) + " more";
    }
    return Status::FromCode(code_, std::move(message));
  }

 private:
  size_t failed_ = 0;
  base::StatusCode code_ = base::StatusCode::kOk;
  std::string message_;
};

}  // namespace

PoolController::PoolController(PoolRules rules, ControllerOptions options, slashing::Clock& clock,
                               PoolHistory& history, const HaproxyRuntime& haproxy)
    : options_(std::move(options)),
      clock_(clock),
      history_(history),
      haproxy_(haproxy),
      registry_(std::move(rules), clock),
      started_ms_(clock.NowUnixMs()) {}

Status PoolController::Record(std::vector<HistoryRecord> extra) {
  for (const PoolEvent& event : registry_.TakeEvents()) {
    pending_records_.push_back(MakeEventRecord(event));
  }
  for (HistoryRecord& record : extra) pending_records_.push_back(std::move(record));
  if (pending_records_.empty()) return Status::Ok();
  SIGNER_RETURN_IF_ERROR(history_.Append(pending_records_));
  pending_records_.clear();
  return Status::Ok();
}

Result<size_t> PoolController::RestoreFromHistory() {
  base::MutexLock lock(mutex_);
  HistoryQuery query;
  query.kind = HistoryKind::kEvent;
  query.limit = SIZE_MAX;
  SIGNER_ASSIGN_OR_RETURN(const std::vector<HistoryRecord> events, history_.Read(query));
  size_t restored = 0;
  for (const HistoryRecord& record : events) {
    const auto event = record.data.find("event");
    if (event == record.data.end() || *event != PoolEventKindName(PoolEventKind::kRemoved)) {
      continue;
    }
    if (registry_.RestoreRemoved(record.node_id)) ++restored;
  }
  return restored;
}

Result<HeartbeatVerdict> PoolController::OnHeartbeat(const Heartbeat& heartbeat) {
  base::MutexLock lock(mutex_);
  const uint64_t now = clock_.NowUnixMs();
  const HeartbeatVerdict verdict = registry_.OnHeartbeat(heartbeat);
  std::vector<HistoryRecord> extra;
  if (verdict == HeartbeatVerdict::kAccepted) {
    const auto last = heartbeat_recorded_ms_.find(heartbeat.node_id);
    if (last == heartbeat_recorded_ms_.end() ||
        now - last->second >= options_.heartbeat_record_interval_ms) {
      extra.push_back(MakeHeartbeatRecord(now, heartbeat));
      heartbeat_recorded_ms_[heartbeat.node_id] = now;
    }
  }
  SIGNER_RETURN_IF_ERROR(Record(std::move(extra)));
  return verdict;
}

MalformedReason PoolController::CheckHeartbeat(const Heartbeat& heartbeat) const {
  base::MutexLock lock(mutex_);
  return registry_.CheckHeartbeat(heartbeat);
}

Status PoolController::CountRequests(TickReport& report) {
  SIGNER_ASSIGN_OR_RETURN(const std::vector<ServerStat> stats, haproxy_.ShowStat(options_.backend));
  server_stats_.clear();
  for (const ServerStat& stat : stats) server_stats_.emplace(stat.server, stat);
  for (const ServerStat& stat : stats) {
    const std::optional<NodeView> node = registry_.Node(stat.server);
    if (!node || node->state == NodeState::kRemoved) continue;
    const auto last = last_request_counter_.find(stat.server);
    if (last == last_request_counter_.end()) {
      // A server this controller did not add (it restarted): what it served before is not ours
      // to count again, so its counter is only the baseline.
      last_request_counter_[stat.server] = stat.requests;
      continue;
    }
    // A counter below the last one was reset (HAProxy restarted, or the server was re-added).
    const uint64_t served =
        stat.requests >= last->second ? stat.requests - last->second : stat.requests;
    last->second = stat.requests;
    if (served > 0 && registry_.RecordRequests(stat.server, served)) report.requests += served;
  }
  return Status::Ok();
}

Status PoolController::ReconcileMember(const NodeView& node,
                                       std::map<std::string, ServerState>& servers,
                                       TickReport& report) {
  const std::string& backend = options_.backend;
  const std::string& id = node.node_id;
  auto found = servers.find(id);
  if (node.state == NodeState::kRemoved) {
    if (found == servers.end()) return Status::Ok();
    if (!found->second.InMaintenance()) {
      SIGNER_RETURN_IF_ERROR(haproxy_.SetServerState(backend, id, ServerAdminState::kMaint));
      ++report.disabled;
    }
    const Status deleted = haproxy_.DeleteServer(backend, id);
    // HAProxy keeps a server that still has connections: the next Tick deletes it.
    if (deleted.code() == base::StatusCode::kFailedPrecondition) return Status::Ok();
    SIGNER_RETURN_IF_ERROR(deleted);
    ++report.deleted;
    server_endpoint_.erase(id);
    last_request_counter_.erase(id);
    return Status::Ok();
  }
  const std::string& endpoint = node.last.rpc_endpoint;
  const auto known_endpoint = server_endpoint_.find(id);
  if (found != servers.end() && known_endpoint != server_endpoint_.end() &&
      known_endpoint->second != endpoint) {
    // The node moved: its server goes and comes back at the new address.
    if (!found->second.InMaintenance()) {
      SIGNER_RETURN_IF_ERROR(haproxy_.SetServerState(backend, id, ServerAdminState::kMaint));
    }
    const Status deleted = haproxy_.DeleteServer(backend, id);
    if (deleted.code() == base::StatusCode::kFailedPrecondition) return Status::Ok();
    SIGNER_RETURN_IF_ERROR(deleted);
    servers.erase(found);
    found = servers.end();
  }
  bool in_maintenance = true;
  if (found == servers.end()) {
    SIGNER_RETURN_IF_ERROR(haproxy_.AddServer(backend, id, endpoint, options_.server_weight));
    ++report.added;
    server_endpoint_[id] = endpoint;
    last_request_counter_[id] = 0;  // a new server counts from zero
  } else {
    in_maintenance = found->second.InMaintenance();
    // After a restart the controller adopts the server HAProxy already has.
    server_endpoint_.try_emplace(id, endpoint);
  }
  const bool in_service = node.state == NodeState::kInService;
  if (in_service && in_maintenance) {
    SIGNER_RETURN_IF_ERROR(haproxy_.SetServerState(backend, id, ServerAdminState::kReady));
    ++report.enabled;
  } else if (!in_service && !in_maintenance) {
    SIGNER_RETURN_IF_ERROR(haproxy_.SetServerState(backend, id, ServerAdminState::kMaint));
    ++report.disabled;
  }
  return Status::Ok();
}

Status PoolController::Reconcile(TickReport& report) {
  SIGNER_ASSIGN_OR_RETURN(const std::vector<ServerState> states,
                          haproxy_.ShowServersState(options_.backend));
  std::map<std::string, ServerState> servers;
  for (const ServerState& state : states) servers.emplace(state.server, state);

  // Every server is tried whatever happened to the others: HAProxy refusing one member (an
  // endpoint it cannot resolve, say) must not leave a penalised member after it in service.
  ServerErrors errors;
  for (const NodeView& node : registry_.Nodes()) {
    const Status reconciled = ReconcileMember(node, servers, report);
    errors.Add(node.node_id, reconciled);
    // HAProxy itself unreachable: every other server would wait out the same timeout.
    if (reconciled.code() == base::StatusCode::kUnavailable) return errors.status();
  }

  // A server of no member: after a restart, a node that has not reported yet. Once a node would
  // have been found offline, nothing vouches for it any more and it leaves service.
  if (clock_.NowUnixMs() - started_ms_ > registry_.rules().offline_after_ms) {
    for (const auto& [name, state] : servers) {
      if (registry_.Node(name) || state.InMaintenance()) continue;
      const Status disabled =
          haproxy_.SetServerState(options_.backend, name, ServerAdminState::kMaint);
      if (disabled.ok()) ++report.disabled;
      errors.Add(name, disabled);
    }
  }
  return errors.status();
}

Result<TickReport> PoolController::Tick() {
  base::MutexLock lock(mutex_);
  registry_.Evaluate();
  TickReport report;
  // Each step is tried even when an earlier one failed, so a dead HAProxy does not keep penalties
  // out of the history; the first error is reported.
  const Status recorded = Record({});
  const Status counted = CountRequests(report);
  const Status reconciled = Reconcile(report);
  SIGNER_RETURN_IF_ERROR(recorded);
  SIGNER_RETURN_IF_ERROR(counted);
  SIGNER_RETURN_IF_ERROR(reconciled);
  return report;
}

Result<PointsPeriod> PoolController::ClosePointsPeriod() {
  base::MutexLock lock(mutex_);
  PointsPeriod period = registry_.ClosePeriod();
  SIGNER_RETURN_IF_ERROR(Record(MakePointsRecords(period)));
  return period;
}

std::vector<NodeView> PoolController::Nodes() const {
  base::MutexLock lock(mutex_);
  return registry_.Nodes();
}

uint64_t PoolController::PoolBest() const {
  base::MutexLock lock(mutex_);
  return registry_.PoolBest();
}

ControllerOverview PoolController::Overview() const {
  base::MutexLock lock(mutex_);
  return {.at_ms = clock_.NowUnixMs(),
          .nodes = registry_.Nodes(),
          .pool_best = registry_.PoolBest(),
          .pool_finalized = registry_.PoolFinalized(),
          .servers = server_stats_};
}

}  // namespace rpc_pool
