// Prometheus metrics of the pool controller, on the project's metrics registry: the members'
// states and blocks (read from the controller at scrape time) and the ticks' outcomes.
//
// Thread safety: PoolMetrics is thread-safe.
#pragma once

#include <memory>

#include "base/status.h"
#include "metrics/registry.h"
#include "rpc_pool/controller.h"

namespace rpc_pool {

class PoolMetrics {
 public:
  // Create registers the pool's families in `registry` and a scrape hook that reads
  // `controller`; both must outlive the registry's last Render. Fails with kInvalidArgument if
  // the names are taken.
  [[nodiscard]] static base::Result<std::unique_ptr<PoolMetrics>> Create(
      signer::MetricsRegistry& registry, const PoolController& controller);

  // RecordTick counts one tick by outcome and the requests it counted into points.
  void RecordTick(const base::Result<TickReport>& report);

 private:
  PoolMetrics() = default;
  void Scrape(const PoolController& controller);

  signer::Family<signer::Gauge>* nodes_ = nullptr;       // by state
  signer::Family<signer::Gauge>* in_service_ = nullptr;  // by node: 1 or 0
  signer::Family<signer::Gauge>* best_block_ = nullptr;  // by node
  signer::Family<signer::Gauge>* finalized_block_ = nullptr;
  signer::Family<signer::Counter>* penalties_ = nullptr;  // by node
  signer::Family<signer::Gauge>* pool_best_block_ = nullptr;
  signer::Family<signer::Counter>* ticks_ = nullptr;  // by result
  signer::Family<signer::Counter>* requests_ = nullptr;
};

}  // namespace rpc_pool
