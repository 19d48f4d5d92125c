// The pool controller's Prometheus families and the scrape hook that fills them.
#include "rpc_pool/pool_metrics.h"

#include <map>

namespace rpc_pool {

base::Result<std::unique_ptr<PoolMetrics>> PoolMetrics::Create(signer::MetricsRegistry& registry,
                                                               const PoolController& controller) {
  std::unique_ptr<PoolMetrics> metrics(new PoolMetrics());
  SIGNER_ASSIGN_OR_RETURN(metrics->nodes_,
                          registry.AddGauge("rpc_pool_nodes", "Member nodes by state", {"state"}));
  SIGNER_ASSIGN_OR_RETURN(
      metrics->in_service_,
      registry.AddGauge("rpc_pool_node_in_service", "1 while the node receives traffic", {"node"}));
  SIGNER_ASSIGN_OR_RETURN(
      metrics->best_block_,
      registry.AddGauge("rpc_pool_node_best_block", "The node's last reported best", {"node"}));
  SIGNER_ASSIGN_OR_RETURN(metrics->finalized_block_,
                          registry.AddGauge("rpc_pool_node_finalized_block",
                                            "The node's last reported finalized", {"node"}));
  SIGNER_ASSIGN_OR_RETURN(
      metrics->penalties_,
      registry.AddCounter("rpc_pool_node_penalties_total", "Penalties of the node", {"node"}));
  SIGNER_ASSIGN_OR_RETURN(
      metrics->pool_best_block_,
      registry.AddGauge("rpc_pool_best_block", "The highest best block of the members heard", {}));
  SIGNER_ASSIGN_OR_RETURN(
      metrics->ticks_, registry.AddCounter("rpc_pool_ticks_total", "Ticks by result", {"result"}));
  SIGNER_ASSIGN_OR_RETURN(
      metrics->requests_,
      registry.AddCounter("rpc_pool_requests_total", "Requests counted into points", {}));
  PoolMetrics* raw = metrics.get();
  registry.AddScrapeHook([raw, &controller] { raw->Scrape(controller); });
  return metrics;
}

void PoolMetrics::RecordTick(const base::Result<TickReport>& report) {
  ticks_->With({report.ok() ? "ok" : "error"}).Increment();
  if (report.ok()) requests_->With({}).Increment(report->requests);
}

void PoolMetrics::Scrape(const PoolController& controller) {
  std::map<std::string_view, double> by_state = {{NodeStateName(NodeState::kInService), 0},
                                                 {NodeStateName(NodeState::kCooldown), 0},
                                                 {NodeStateName(NodeState::kRemoved), 0}};
  for (const NodeView& node : controller.Nodes()) {
    by_state[NodeStateName(node.state)] += 1;
    const std::string_view id = node.node_id;
    in_service_->With({id}).Set(node.state == NodeState::kInService ? 1 : 0);
    best_block_->With({id}).Set(static_cast<double>(node.last.best_block));
    finalized_block_->With({id}).Set(static_cast<double>(node.last.finalized_block));
    penalties_->With({id}).Set(node.penalties);
  }
  for (const auto& [state, count] : by_state) nodes_->With({state}).Set(count);
  pool_best_block_->With({}).Set(static_cast<double>(controller.PoolBest()));
}

}  // namespace rpc_pool
