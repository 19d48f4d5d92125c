// Replication: standalone (a LocalHistoryLog over the store) or replicated through the Kafka claims
// topic (kafka::ReplicatedHistoryLog), with the audit stream attached in Kafka mode.
#include "signerd/replication.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/thread_annotations.h"
#include "kafka/audit_stream.h"
#include "kafka/replicated_admin.h"
#include "kafka/replicated_log.h"
#include "slashing/history.h"

namespace signer {
namespace {

class StandaloneReplication final : public Replication {
 public:
  explicit StandaloneReplication(slashing::HistoryStore& store) : store_(store), log_(store) {}

  slashing::HistoryLog& history_log() override { return log_; }
  AuditLog::LineObserver AuditStreamPublisher() override { return {}; }
  void DeferHistorySyncs() override { log_.DeferSyncs(); }
  base::Status WaitUntilCaughtUp(std::chrono::milliseconds /*timeout*/) override {
    return base::Status::Ok();
  }
  void SetClaimRoundTripObserver(
      std::function<void(std::chrono::nanoseconds)> /*observer*/) override {}
  void SetStoppedHandler(std::function<void(const base::Status&)> /*handler*/) override {}
  ReplicationStats stats() const override { return {}; }
  base::Result<Identity> HistoryIdentity() override EXCLUDES(mutex_) {
    base::MutexLock lock(mutex_);
    if (instance_id_.empty()) {
      SIGNER_ASSIGN_OR_RETURN(instance_id_, slashing::HistoryInstanceId(store_));
    }
    return Identity{"standalone", instance_id_};
  }

 private:
  slashing::HistoryStore& store_;
  slashing::LocalHistoryLog log_;
  base::Mutex mutex_;
  std::string instance_id_ GUARDED_BY(mutex_);  // read (or created) once, on the first question
};

// RateLimitedWarning writes key=value warning lines to stderr (signerd's log format), at most one
// per second per instance, and says how many it held back: a poisoned topic or a dead broker must
// not flood the log.
class RateLimitedWarning {
 public:
  explicit RateLimitedWarning(std::string component) : component_(std::move(component)) {}

  void operator()(std::string_view message) EXCLUDES(mutex_) {
    base::MutexLock lock(mutex_);
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
  base::Mutex mutex_;
  std::chrono::steady_clock::time_point last_ GUARDED_BY(mutex_){};
  uint64_t suppressed_ GUARDED_BY(mutex_) = 0;
};

// ConnectingHistoryLog is the HistoryLog the Protector holds in Kafka mode. Until the replicated
// log is open and has caught up once it refuses every call (the pipeline answers UNAVAILABLE and
// signs nothing): a signer that started during a broker outage must not decide from a history
// that may be missing claims other signers already won.
class ConnectingHistoryLog final : public slashing::HistoryLog {
 public:
  base::Result<std::vector<slashing::Verdict>> CheckAndRecord(
      std::span<const uint8_t> public_key, std::span<const slashing::Claim> claims,
      uint64_t now_unix_ms) override {
    kafka::ReplicatedHistoryLog* log = ready_.load(std::memory_order_acquire);
    if (log == nullptr) {
      return base::Status::IoError(
          "kafka: the history has not caught up with the claims topic yet");
    }
    return log->CheckAndRecord(public_key, claims, now_unix_ms);
  }

  // Open lets calls through to `log`, which must outlive this object.
  void Open(kafka::ReplicatedHistoryLog& log) { ready_.store(&log, std::memory_order_release); }

 private:
  std::atomic<kafka::ReplicatedHistoryLog*> ready_{nullptr};
};

// KafkaReplication connects to the claims topic on a thread of its own, retrying for as long as
// the brokers are unreachable, so signerd starts (NOT_SERVING) during an outage instead of exiting
// and serves once the brokers return and the history has caught up.
class KafkaReplication final : public Replication {
 public:
  KafkaReplication(const SignerConfig& config, slashing::HistoryStore& store,
                   kafka::ReplicatedHistoryLogOptions options)
      : config_(config), store_(store), options_(WithStoppedForwarded(std::move(options))) {
    connector_ = std::thread([this] { ConnectLoop(); });
  }

  ~KafkaReplication() override {
    {
      base::MutexLock lock(mutex_);
      stopping_ = true;
    }
    changed_.SignalAll();
    connector_.join();
  }

  slashing::HistoryLog& history_log() override { return gate_; }
  void DeferHistorySyncs() override EXCLUDES(mutex_) {
    base::MutexLock lock(mutex_);
    // Kept for a log opened later; the gate lets no decision through before the log has it.
    defer_syncs_ = true;
    if (log_) log_->DeferSyncs();
  }

  AuditLog::LineObserver AuditStreamPublisher() override {
    const KafkaConfig& kafka_config = *config_.kafka;
    if (kafka_config.audit_topic.empty()) return {};
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
    return [this](std::string_view line, const AuditRecord& record) {
      if (!audit_stream_) {
        audit_dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      audit_stream_->Publish(line, record.public_key.empty() ? record.identity : record.public_key);
    };
  }

  base::Status WaitUntilCaughtUp(std::chrono::milliseconds timeout) override EXCLUDES(mutex_) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    kafka::ReplicatedHistoryLog* log = nullptr;
    {
      base::MutexLock lock(mutex_);
      while (log_ == nullptr && fatal_.ok()) {
        if (!changed_.WaitUntil(mutex_, deadline)) break;
      }
      if (!fatal_.ok()) return fatal_;
      if (log_ == nullptr) {
        return base::Status::Unavailable("kafka: not connected to the claims topic yet" +
                                         (last_error_.empty() ? "" : ": " + last_error_));
      }
      log = log_.get();
    }
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (remaining.count() <= 0) {
      return base::Status::Unavailable("kafka: connected, catching up with the claims topic");
    }
    base::Status caught_up = log->WaitUntilCaughtUp(remaining);
    if (!caught_up.ok()) return base::Status::Unavailable(caught_up.message());
    gate_.Open(*log);
    return base::Status::Ok();
  }

  void SetStoppedHandler(std::function<void(const base::Status&)> handler) override
      EXCLUDES(mutex_) {
    base::MutexLock lock(mutex_);
    stopped_handler_ = std::move(handler);
  }

  void SetClaimRoundTripObserver(std::function<void(std::chrono::nanoseconds)> observer) override
      EXCLUDES(mutex_) {
    base::MutexLock lock(mutex_);
    // Kept for a log opened later; the gate lets no call through before the log has it.
    observer_ = std::move(observer);
    if (log_) log_->SetClaimRoundTripObserver(observer_);
  }

  ReplicationStats stats() const override EXCLUDES(mutex_) {
    ReplicationStats stats;
    stats.replicated = true;
    kafka::ReplicatedHistoryLog* log = nullptr;
    {
      base::MutexLock lock(mutex_);
      log = log_.get();
    }
    if (log != nullptr) {
      const kafka::ReplicatedHistoryLogStats log_stats = log->stats();
      stats.consumer_lag = log_stats.consumer_lag;
      stats.claims_produced = log_stats.claims_produced;
      stats.claims_won = log_stats.claims_won;
      stats.claims_lost = log_stats.claims_lost;
      stats.claims_timed_out = log_stats.claims_timed_out + log_stats.claims_failed;
      stats.records_applied = log_stats.records_applied;
    }
    if (audit_stream_) {
      stats.audit_published = audit_stream_->published();
      stats.audit_failed = audit_stream_->failed();
    }
    stats.audit_failed += audit_dropped_.load(std::memory_order_relaxed);
    return stats;
  }

  base::Result<Identity> HistoryIdentity() override EXCLUDES(mutex_) {
    kafka::ReplicatedHistoryLog* log = nullptr;
    {
      base::MutexLock lock(mutex_);
      log = log_.get();
    }
    const std::string cluster = log == nullptr ? "" : log->ClusterId();
    if (cluster.empty()) {
      return base::Status::Unavailable("kafka: the claims topic's cluster is not known yet");
    }
    return Identity{"replicated", "kafka:" + cluster + "/" + config_.kafka->claims_topic};
  }

 private:
  // kConnectAttemptTimeout bounds one attempt to read the topic's metadata, and so how long a
  // shutdown waits for an attempt in progress.
  static constexpr std::chrono::milliseconds kConnectAttemptTimeout{2'000};
  static constexpr std::chrono::milliseconds kConnectRetryPause{500};

  // WithStoppedForwarded makes the log's `stopped` call the handler SetStoppedHandler sets (the
  // options are fixed before the daemon sets it).
  kafka::ReplicatedHistoryLogOptions WithStoppedForwarded(
      kafka::ReplicatedHistoryLogOptions options) {
    options.stopped = [this](const base::Status& cause) {
      std::function<void(const base::Status&)> handler;
      {
        base::MutexLock lock(mutex_);
        handler = stopped_handler_;
      }
      if (handler) handler(cause);
    };
    return options;
  }

  // ConnectLoop opens the replicated log until it succeeds, or until an error that retrying cannot
  // fix (bad options, a store bound to another topic or partition count), which is kept for
  // WaitUntilCaughtUp to report.
  void ConnectLoop() EXCLUDES(mutex_) {
    auto warning = std::make_shared<RateLimitedWarning>("replication");
    for (;;) {
      {
        base::MutexLock lock(mutex_);
        if (stopping_) return;
      }
      kafka::ReplicatedHistoryLogOptions options = options_;
      options.metadata_timeout = kConnectAttemptTimeout;
      auto log = kafka::ReplicatedHistoryLog::Open(store_, std::move(options));
      const base::Status& status = log.status();
      {
        base::MutexLock lock(mutex_);
        if (log.ok()) {
          if (observer_) (*log)->SetClaimRoundTripObserver(observer_);
          if (defer_syncs_) (*log)->DeferSyncs();
          log_ = std::move(*log);
          changed_.SignalAll();
          return;
        }
        if (status.code() != base::StatusCode::kIoError) {
          fatal_ = status.code() == base::StatusCode::kInvalidArgument
                       ? base::Status::InvalidArgument("kafka: " + status.message())
                       : base::Status::Internal("kafka: " + status.message());
          changed_.SignalAll();
          return;
        }
        last_error_ = status.message();
      }
      (*warning)("not connected to the claims topic, retrying: " + status.message());
      base::MutexLock lock(mutex_);
      const auto deadline = std::chrono::steady_clock::now() + kConnectRetryPause;
      while (!stopping_) {
        if (!changed_.WaitUntil(mutex_, deadline)) break;
      }
    }
  }

  const SignerConfig config_;
  slashing::HistoryStore& store_;
  const kafka::ReplicatedHistoryLogOptions options_;
  ConnectingHistoryLog gate_;

  mutable base::Mutex mutex_;
  base::CondVar changed_;  // signalled on stopping_, log_ and fatal_
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::unique_ptr<kafka::ReplicatedHistoryLog> log_ GUARDED_BY(mutex_);
  base::Status fatal_ GUARDED_BY(mutex_);
  std::string last_error_ GUARDED_BY(mutex_);
  std::function<void(std::chrono::nanoseconds)> observer_ GUARDED_BY(mutex_);
  std::function<void(const base::Status&)> stopped_handler_ GUARDED_BY(mutex_);
  bool defer_syncs_ GUARDED_BY(mutex_) = false;
  // The stream is declared after the log so it is destroyed first (it flushes on destruction).
  std::unique_ptr<kafka::AuditStream> audit_stream_;
  std::atomic<uint64_t> audit_dropped_{0};
  // Declared last: it is started when everything above exists and joined in the destructor.
  std::thread connector_;
};

}  // namespace

base::Result<std::unique_ptr<Replication>> Replication::Open(const SignerConfig& config,
                                                             slashing::HistoryStore& store) {
  if (!config.kafka) {
    // A history built from a claims topic is the cluster's: signing alone on it, unseen by the
    // other signers, is what replication exists to prevent (a config that lost its kafka section,
    // or one edited to keep signing through a broker outage). signerctl refuses local changes to
    // such a history for the same reason.
    SIGNER_ASSIGN_OR_RETURN(const bool replicated, kafka::IsReplicatedHistory(store));
    if (replicated) {
      return base::Status::FailedPrecondition(
          "the history in " + config.history.data_dir +
          " belongs to a replicated signer (it was built from a Kafka claims topic), and the "
          "config has no kafka section: signing alone would go unseen by the other signers. Put "
          "the kafka section back; to leave the cluster for good, export the history "
          "(signerctl history export) and import it into a new, empty history directory");
    }
    return std::unique_ptr<Replication>(new StandaloneReplication(store));
  }
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
  // Never blocks on the brokers: the connection is made (and retried) in the background, and
  // WaitUntilCaughtUp reports whether it succeeded.
  return std::unique_ptr<Replication>(new KafkaReplication(config, store, std::move(options)));
}

}  // namespace signer
