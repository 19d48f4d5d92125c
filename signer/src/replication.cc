// Replication: standalone (a LocalHistoryLog over the store) or replicated through the Kafka claims
// topic (kafka::ReplicatedHistoryLog), with the audit stream attached in Kafka mode.
#include "replication.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "kafka/audit_stream.h"
#include "kafka/replicated_log.h"

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

// RateLimitedWarning writes key=value warning lines to stderr (signerd's log format), at most one
// per second per instance, and says how many it held back: a poisoned topic or a dead broker must
// not flood the log.
class RateLimitedWarning {
 public:
  explicit RateLimitedWarning(std::string component) : component_(std::move(component)) {}

  void operator()(std::string_view message) {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::seconds(1)) {
      ++suppressed_;
      return;
    }
    last_ = now;
    const std::time_t wall = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&wall, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &utc);
    std::fprintf(stderr, "time=%s level=warning component=%s suppressed=%llu msg=\"%.*s\"\n", stamp,
                 component_.c_str(), static_cast<unsigned long long>(suppressed_),
                 static_cast<int>(message.size()), message.data());
    suppressed_ = 0;
  }

 private:
  const std::string component_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point last_{};
  uint64_t suppressed_ = 0;
};

class KafkaReplication final : public Replication {
 public:
  KafkaReplication(const SignerConfig& config, std::unique_ptr<kafka::ReplicatedHistoryLog> log)
      : config_(config), log_(std::move(log)) {}

  slashing::HistoryLog& history_log() override { return *log_; }

  void AttachAuditStream(AuditLog& audit) override {
    const KafkaConfig& kafka_config = *config_.kafka;
    if (kafka_config.audit_topic.empty()) return;
    kafka::AuditStreamOptions options;
    options.brokers = kafka_config.brokers;
    options.topic = kafka_config.audit_topic;
    options.signer_id = config_.signer_id;
    options.properties = kafka_config.properties;
    auto warning = std::make_shared<RateLimitedWarning>("audit_stream");
    options.warning = [warning](std::string_view message) { (*warning)(message); };
    auto stream = kafka::AuditStream::Open(std::move(options));
    if (!stream.ok()) {
      // The local audit log stays complete; only the copy is missing, and every line counts failed.
      (*warning)("audit stream not started: " + stream.status().message());
    } else {
      audit_stream_ = std::move(*stream);
    }
    audit.SetLineObserver([this](std::string_view line, const AuditRecord& record) {
      if (!audit_stream_) {
        audit_dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      audit_stream_->Publish(line, record.public_key.empty() ? record.identity : record.public_key);
    });
  }

  keymgr::Status WaitUntilCaughtUp(std::chrono::milliseconds timeout) override {
    slashing::Status caught_up = log_->WaitUntilCaughtUp(timeout);
    if (!caught_up.ok()) return keymgr::Status::Unavailable(caught_up.message());
    return keymgr::Status::Ok();
  }

  void SetClaimRoundTripObserver(std::function<void(std::chrono::nanoseconds)> observer) override {
    log_->SetClaimRoundTripObserver(std::move(observer));
  }

  ReplicationStats stats() const override {
    const kafka::ReplicatedHistoryLogStats log_stats = log_->stats();
    ReplicationStats stats;
    stats.replicated = true;
    stats.consumer_lag = log_stats.consumer_lag;
    stats.claims_produced = log_stats.claims_produced;
    stats.claims_won = log_stats.claims_won;
    stats.claims_lost = log_stats.claims_lost;
    stats.claims_timed_out = log_stats.claims_timed_out + log_stats.claims_failed;
    stats.records_applied = log_stats.records_applied;
    if (audit_stream_) {
      stats.audit_published = audit_stream_->published();
      stats.audit_failed = audit_stream_->failed();
    }
    stats.audit_failed += audit_dropped_.load(std::memory_order_relaxed);
    return stats;
  }

 private:
  const SignerConfig config_;
  // The stream is declared after the log so it is destroyed first (it flushes on destruction).
  std::unique_ptr<kafka::ReplicatedHistoryLog> log_;
  std::unique_ptr<kafka::AuditStream> audit_stream_;
  std::atomic<uint64_t> audit_dropped_{0};
};

}  // namespace

keymgr::Result<std::unique_ptr<Replication>> Replication::Open(const SignerConfig& config,
                                                               slashing::HistoryStore& store) {
  if (!config.kafka) return std::unique_ptr<Replication>(new StandaloneReplication(store));
  const KafkaConfig& kafka_config = *config.kafka;
  kafka::ReplicatedHistoryLogOptions options;
  options.brokers = kafka_config.brokers;
  options.claims_topic = kafka_config.claims_topic;
  options.signer_id = config.signer_id;
  options.genesis_hash = config.history.genesis_hash;
  options.claim_timeout = std::chrono::milliseconds(kafka_config.claim_timeout_ms);
  options.properties = kafka_config.properties;
  auto warning = std::make_shared<RateLimitedWarning>("replication");
  options.warning = [warning](std::string_view message) { (*warning)(message); };
  auto log = kafka::ReplicatedHistoryLog::Open(store, std::move(options));
  if (!log.ok()) {
    const slashing::Status& status = log.status();
    if (status.code() == slashing::StatusCode::kInvalidArgument) {
      return keymgr::Status::InvalidArgument("kafka: " + status.message());
    }
    if (status.code() == slashing::StatusCode::kIoError) {
      return keymgr::Status::Unavailable("kafka: " + status.message());
    }
    return keymgr::Status::Internal("kafka: " + status.message());
  }
  return std::unique_ptr<Replication>(new KafkaReplication(config, std::move(*log)));
}

}  // namespace signer
