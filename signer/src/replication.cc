// Replication: standalone (a LocalHistoryLog over the store); the Kafka mode lives in kafka/.
#include "replication.h"

#include <utility>

namespace signer {
namespace {

class StandaloneReplication final : public Replication {
 public:
  explicit StandaloneReplication(slashing::HistoryStore& store) : log_(store) {}

  slashing::HistoryLog& history_log() override { return log_; }
  void AttachAuditStream(AuditLog& /*audit*/) override {}
  keymgr::Status WaitUntilCaughtUp(std::chrono::milliseconds /*timeout*/) override {
    return keymgr::Status::Ok();
  }
  void SetClaimRoundTripObserver(
      std::function<void(std::chrono::nanoseconds)> /*observer*/) override {}
  ReplicationStats stats() const override { return {}; }

 private:
  slashing::LocalHistoryLog log_;
};

}  // namespace

keymgr::Result<std::unique_ptr<Replication>> Replication::Open(const SignerConfig& config,
                                                               slashing::HistoryStore& store) {
  if (config.kafka) {
    return keymgr::Status::InvalidArgument(
        "kafka: replicated protection is not built into this signerd yet");
  }
  return std::unique_ptr<Replication>(new StandaloneReplication(store));
}

}  // namespace signer
