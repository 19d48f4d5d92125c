// ReplicatedHistoryLog: precheck locally, produce the claim, let the applier decide in topic order.
#include "kafka/replicated_log.h"

#include <librdkafka/rdkafka.h>
#include <sys/random.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <optional>
#include <thread>

#include "base/thread_annotations.h"
#include "big_endian.h"
#include "claims_properties.h"
#include "kafka/claim_record.h"
#include "kafka/replicated_admin.h"
#include "slashing/claim_batch.h"
#include "slashing/history.h"
#include "slashing/interchange.h"
#include "slashing/record.h"

namespace kafka {
namespace {

using base::Result;
using base::Status;

constexpr uint8_t kMetaValueVersion = 1;
constexpr size_t kApplyBatchSize = 1024;
constexpr auto kRetryPause = std::chrono::milliseconds(200);

// Meta keys of our own under the store's meta tag (signerctl history skips meta keys).
std::string TopicMetaKey() { return std::string(1, slashing::kMetaKeyTag) + "kafka/claims"; }

std::string OffsetMetaKey(int32_t partition) {
  std::string key = std::string(1, slashing::kMetaKeyTag) + "kafka/offset/";
  AppendBigEndian<uint32_t>(key, static_cast<uint32_t>(partition));
  return key;
}

std::span<const uint8_t> AsBytes(std::string_view bytes) {
  return {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
}

std::string EncodeOffset(int64_t next_offset) {
  std::string out(1, static_cast<char>(kMetaValueVersion));
  AppendBigEndian<uint64_t>(out, static_cast<uint64_t>(next_offset));
  return out;
}

std::optional<int64_t> DecodeOffset(std::string_view bytes) {
  if (bytes.size() != 9 || static_cast<uint8_t>(bytes[0]) != kMetaValueVersion) return std::nullopt;
  const uint64_t value = LoadBigEndian<uint64_t>(AsBytes(bytes.substr(1)));
  if (value > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(value);
}

// The topic binding's second version also names the Kafka cluster: stored offsets mean nothing
// in another cluster's topic of the same name.
constexpr uint8_t kTopicMetaWithClusterVersion = 2;
constexpr size_t kMaxClusterIdSize = 256;

std::string EncodeTopicMeta(int32_t partitions, const std::string& topic,
                            const std::string& cluster_id) {
  std::string out(1, static_cast<char>(kTopicMetaWithClusterVersion));
  AppendBigEndian<uint32_t>(out, static_cast<uint32_t>(partitions));
  AppendBigEndian<uint16_t>(out, static_cast<uint16_t>(topic.size()));
  out += topic;
  out += cluster_id;
  return out;
}

struct TopicMeta {
  int32_t partitions = 0;
  std::string topic;
  std::string cluster_id;  // empty in a binding written before clusters were recorded
};

std::optional<TopicMeta> DecodeTopicMeta(std::string_view bytes) {
  if (bytes.size() < 5) return std::nullopt;
  const uint8_t version = static_cast<uint8_t>(bytes[0]);
  const uint32_t value = LoadBigEndian<uint32_t>(AsBytes(bytes.substr(1, 4)));
  if (value == 0 || value > INT32_MAX) return std::nullopt;
  if (version == kMetaValueVersion) {
    return TopicMeta{static_cast<int32_t>(value), std::string(bytes.substr(5)), ""};
  }
  if (version != kTopicMetaWithClusterVersion || bytes.size() < 7) return std::nullopt;
  const uint16_t topic_size = LoadBigEndian<uint16_t>(AsBytes(bytes.substr(5, 2)));
  if (bytes.size() < 7u + topic_size) return std::nullopt;
  const std::string_view cluster_id = bytes.substr(7u + topic_size);
  if (cluster_id.empty() || cluster_id.size() > kMaxClusterIdSize) return std::nullopt;
  return TopicMeta{static_cast<int32_t>(value), std::string(bytes.substr(7, topic_size)),
                   std::string(cluster_id)};
}

// Pending is one own record waiting for the applier. `record_bytes` and `partition` are fixed at
// creation; the other fields are written by the applier and read by the waiter with
// ReplicatedHistoryLog::Impl::mutex_ held (a GUARDED_BY here cannot name a member of another
// class).
struct Pending {
  Pending(std::string produced_bytes, int32_t produced_partition)
      : record_bytes(std::move(produced_bytes)), partition(produced_partition) {}

  // What was produced, and where. Anyone who may write the claims topic can copy our signer id
  // and request id into a record of other claims or another key (hence another partition); only
  // the record we produced, found where we produced it, may answer the waiter, or it would be
  // told the verdict of claims it never made.
  const std::string record_bytes;
  const int32_t partition;
  bool done = false;
  Status status;
  std::vector<slashing::Verdict> verdicts;
};

// OwnOutcome is what the applier found for a record naming this signer, handed to its waiter
// after the batch is written if it is the very record the waiter produced.
struct OwnOutcome {
  RequestId request_id;
  int32_t partition = 0;
  // The record as consumed: it points into the batch's messages, which the applier destroys only
  // after TryApply has returned.
  std::span<const uint8_t> record_bytes;
  std::string where;  // "partition P offset O", for the warning about a mismatch
  std::vector<slashing::Verdict> verdicts;
};

// IsTheProducedRecord is true when `outcome` is byte for byte the record `pending` produced, on the
// partition it was produced to.
bool IsTheProducedRecord(const Pending& pending, const OwnOutcome& outcome) {
  return outcome.partition == pending.partition &&
         std::ranges::equal(outcome.record_bytes, AsBytes(pending.record_bytes));
}

// PartitionStore shows PruneBelow only the history of the keys of one claims partition: a prune
// record is ordered with that partition's claims alone, so it may touch no other key. Reads and
// writes pass through; Scan hides the record and watermark keys of other partitions' keys.
class PartitionStore final : public slashing::HistoryStore {
 public:
  PartitionStore(slashing::HistoryStore& store, int32_t partition, int32_t partition_count)
      : store_(store), partition_(partition), partition_count_(partition_count) {}

  Result<std::optional<std::string>> Get(std::string_view key) override { return store_.Get(key); }
  Status WriteSynced(const slashing::StoreBatch& batch) override {
    return store_.WriteSynced(batch);
  }
  Status Write(const slashing::StoreBatch& batch) override { return store_.Write(batch); }
  Status SyncWrites() override { return store_.SyncWrites(); }
  Status Scan(std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& visit) override {
    return store_.Scan(prefix, [&](std::string_view key, std::string_view value) {
      std::optional<std::vector<uint8_t>> public_key;
      if (!key.empty() && key[0] == slashing::kRecordKeyTag) {
        auto decoded = slashing::DecodeRecordKey(key);
        if (decoded.ok()) public_key = std::move(decoded->public_key);
      } else if (!key.empty() && key[0] == slashing::kWatermarkKeyTag) {
        auto decoded = slashing::DecodeWatermarkKey(key);
        if (decoded.ok()) public_key = std::move(decoded->public_key);
      }
      // Undecodable keys are passed on so PruneBelow reports the corruption as it would.
      if (public_key && ClaimPartition(*public_key, partition_count_) != partition_) return true;
      return visit(key, value);
    });
  }

 private:
  slashing::HistoryStore& store_;
  const int32_t partition_;
  const int32_t partition_count_;
};

bool SetProperty(rd_kafka_conf_t* conf, const std::string& name, const std::string& value,
                 std::string& error) {
  char buffer[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), buffer, sizeof(buffer)) !=
      RD_KAFKA_CONF_OK) {
    error = name + ": " + buffer;
    return false;
  }
  return true;
}

}  // namespace

class ReplicatedHistoryLog::Impl {
 public:
  Impl(slashing::HistoryStore& store, ReplicatedHistoryLogOptions options)
      : store_(store), options_(std::move(options)) {}
  ~Impl() { Close(); }

  Status Start() EXCLUDES(mutex_);
  void Close();
  Result<std::vector<slashing::Verdict>> CheckAndRecord(std::span<const uint8_t> public_key,
                                                        std::span<const slashing::Claim> claims,
                                                        uint64_t now_unix_ms) EXCLUDES(mutex_);
  Status WaitUntilCaughtUp(std::chrono::milliseconds timeout) EXCLUDES(mutex_);
  ReplicatedHistoryLogStats Stats() const EXCLUDES(mutex_);

  void Warn(const std::string& message) const {
    if (options_.warning) {
      options_.warning(message);
    } else {
      std::fprintf(stderr, "replicated history: %s\n", message.c_str());
    }
  }

  int32_t partitions() const { return partitions_; }
  // The consumer is created by Open and lives until the destructor, so reading it here is safe.
  std::string ClusterId(std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) const {
    char* id = rd_kafka_clusterid(consumer_, static_cast<int>(timeout.count()));
    if (id == nullptr) return "";
    std::string copy(id);
    rd_kafka_mem_free(consumer_, id);
    return copy;
  }
  std::function<void(std::chrono::nanoseconds)> observer_;
  std::atomic<bool> defer_syncs_{false};  // see ReplicatedHistoryLog::DeferSyncs

 private:
  Status CreateClients();
  Status ReadPartitionCount();
  // BindTopic checks (or, on the first start, records) the topic binding, then loads the offsets.
  Status BindTopic() EXCLUDES(mutex_);
  Status CheckTopicBinding();
  // HoldsRecords is true when the store has any protection record or watermark.
  Result<bool> HoldsRecords();
  Result<std::optional<int64_t>> ReadStoredOffset(int32_t partition);
  void ApplierLoop();
  void PollerLoop();
  // TryApply evaluates and writes one batch of claims records; false if the store failed (then
  // nothing changed).
  bool TryApply(std::span<rd_kafka_message_t* const> messages) EXCLUDES(mutex_);
  // TryApplyAdmin applies one import or prune record and stores its offset; false if the store
  // failed (then it is retried: both operations are idempotent, so a partial first try is safe).
  bool TryApplyAdmin(rd_kafka_message_t* message) EXCLUDES(mutex_);
  // SkipAdmin stores the offset past an admin record that every signer skips alike.
  bool SkipAdmin(int32_t partition, int64_t offset, const std::string& why) EXCLUDES(mutex_);
  static void OnDelivery(rd_kafka_t* producer, const rd_kafka_message_t* message, void* opaque);
  void Fail(Status status) EXCLUDES(mutex_);
  // CaughtUpOrFailed is true once the applier has reached every one of `targets` (per partition)
  // or has stopped for good.
  bool CaughtUpOrFailed(const std::vector<int64_t>& targets) const REQUIRES(mutex_);

  slashing::HistoryStore& store_;
  const ReplicatedHistoryLogOptions options_;
  int32_t partitions_ = 0;

  rd_kafka_t* producer_ = nullptr;
  rd_kafka_topic_t* producer_topic_ = nullptr;
  rd_kafka_t* consumer_ = nullptr;
  rd_kafka_topic_t* consumer_topic_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;
  bool consuming_ = false;

  std::atomic<bool> stop_{false};
  std::thread applier_;
  std::thread poller_;

  mutable base::Mutex mutex_;
  base::CondVar applied_;  // signalled when the applier moves on, settles a Pending, or fails
  std::map<RequestId, std::shared_ptr<Pending>> pending_ GUARDED_BY(mutex_);
  // Per partition, what the store holds (applier writes).
  std::vector<int64_t> next_offsets_ GUARDED_BY(mutex_);
  // The ends of the claims partitions a catch-up waits for, read once and kept across calls until
  // reached: under sustained load the end moves on, and a waiter that re-read it on every call
  // would never arrive (a restarted signer in a busy set would stay NOT_SERVING).
  std::vector<int64_t> catch_up_targets_ GUARDED_BY(mutex_);
  Status fatal_ GUARDED_BY(mutex_);
  ReplicatedHistoryLogStats stats_ GUARDED_BY(mutex_);
};

Status ReplicatedHistoryLog::Impl::CreateClients() {
  std::string error;
  char buffer[512];
  rd_kafka_conf_t* consumer_conf = rd_kafka_conf_new();
  rd_kafka_conf_t* producer_conf = rd_kafka_conf_new();
  auto free_confs = [&] {
    if (consumer_conf) rd_kafka_conf_destroy(consumer_conf);
    if (producer_conf) rd_kafka_conf_destroy(producer_conf);
  };
  // No consumer group: each signer reads every partition itself from offsets it keeps in its
  // store; a record that is gone (retention) must stop the applier, never be skipped silently.
  const std::pair<const char*, std::string> consumer_settings[] = {
      {"bootstrap.servers", options_.brokers},
      {"client.id", "signer-claims-applier-" + options_.signer_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"allow.auto.create.topics", "false"},
      {"fetch.wait.max.ms", "5"},
      {"fetch.error.backoff.ms", "100"},
      {"log_level", "3"},
  };
  const std::pair<const char*, std::string> producer_settings[] = {
      {"bootstrap.servers", options_.brokers},
      {"client.id", "signer-claims-" + options_.signer_id},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", "0"},
      {"message.timeout.ms", std::to_string(std::max<int64_t>(options_.claim_timeout.count(), 1))},
      {"log_level", "3"},
  };
  bool good = true;
  for (const auto& [name, value] : consumer_settings) {
    good = good && SetProperty(consumer_conf, name, value, error);
  }
  for (const auto& [name, value] : producer_settings) {
    good = good && SetProperty(producer_conf, name, value, error);
  }
  for (const auto& [name, value] : options_.properties) {
    good = good && SetProperty(consumer_conf, name, value, error) &&
           SetProperty(producer_conf, name, value, error);
  }
  if (!good) {
    free_confs();
    return Status::InvalidArgument("kafka property " + error);
  }
  rd_kafka_conf_set_opaque(producer_conf, this);
  rd_kafka_conf_set_dr_msg_cb(producer_conf, &Impl::OnDelivery);

  consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, consumer_conf, buffer, sizeof(buffer));
  if (consumer_ == nullptr) {
    free_confs();
    return Status::InvalidArgument(std::string("kafka consumer: ") + buffer);
  }
  consumer_conf = nullptr;  // owned by the handle now
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, producer_conf, buffer, sizeof(buffer));
  if (producer_ == nullptr) {
    free_confs();
    return Status::InvalidArgument(std::string("kafka producer: ") + buffer);
  }
  producer_conf = nullptr;

  rd_kafka_topic_conf_t* topic_conf = rd_kafka_topic_conf_new();
  if (rd_kafka_topic_conf_set(topic_conf, "auto.offset.reset", "error", buffer, sizeof(buffer)) !=
          RD_KAFKA_CONF_OK ||
      rd_kafka_topic_conf_set(topic_conf, "auto.commit.enable", "false", buffer, sizeof(buffer)) !=
          RD_KAFKA_CONF_OK) {
    rd_kafka_topic_conf_destroy(topic_conf);
    return Status::Internal(std::string("kafka topic config: ") + buffer);
  }
  consumer_topic_ = rd_kafka_topic_new(consumer_, options_.claims_topic.c_str(), topic_conf);
  producer_topic_ = rd_kafka_topic_new(producer_, options_.claims_topic.c_str(), nullptr);
  if (consumer_topic_ == nullptr || producer_topic_ == nullptr) {
    return Status::Internal("kafka: cannot create topic handles");
  }
  queue_ = rd_kafka_queue_new(consumer_);
  return Status::Ok();
}

Status ReplicatedHistoryLog::Impl::ReadPartitionCount() {
  const auto deadline = std::chrono::steady_clock::now() + options_.metadata_timeout;
  std::string last_error = "no answer";
  for (;;) {
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (remaining.count() <= 0) break;
    const rd_kafka_metadata_t* metadata = nullptr;
    const rd_kafka_resp_err_t err =
        rd_kafka_metadata(consumer_, 0, consumer_topic_, &metadata,
                          static_cast<int>(std::min<int64_t>(remaining.count(), 2'000)));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
          metadata->topics[0].partition_cnt > 0) {
        partitions_ = metadata->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(metadata);
        return Status::Ok();
      }
      last_error = metadata->topic_cnt == 1 ? rd_kafka_err2str(metadata->topics[0].err)
                                            : "topic missing from metadata";
      rd_kafka_metadata_destroy(metadata);
    } else {
      last_error = rd_kafka_err2str(err);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::IoError("kafka: cannot read the partitions of topic " + options_.claims_topic +
                         ": " + last_error);
}

Status ReplicatedHistoryLog::Impl::BindTopic() {
  SIGNER_RETURN_IF_ERROR(CheckTopicBinding());
  std::vector<int64_t> next_offsets(static_cast<size_t>(partitions_), 0);
  for (int32_t partition = 0; partition < partitions_; ++partition) {
    SIGNER_ASSIGN_OR_RETURN(auto offset, ReadStoredOffset(partition));
    if (offset.has_value()) next_offsets[static_cast<size_t>(partition)] = *offset;
  }
  base::MutexLock lock(mutex_);
  next_offsets_ = std::move(next_offsets);
  return Status::Ok();
}

Status ReplicatedHistoryLog::Impl::CheckTopicBinding() {
  const std::string cluster_id = ClusterId(options_.metadata_timeout);
  if (cluster_id.empty() || cluster_id.size() > kMaxClusterIdSize) {
    // Retried: the brokers answered metadata, so their cluster id should follow.
    return Status::IoError("kafka: the brokers did not say which cluster they are");
  }
  SIGNER_ASSIGN_OR_RETURN(auto stored, store_.Get(TopicMetaKey()));
  if (!stored.has_value()) {
    // A history that was never bound but holds records was built by a standalone signer. Binding
    // it would keep those records here alone: the other signers would never see them and could
    // sign against them. Its records reach a cluster only through the claims topic.
    SIGNER_ASSIGN_OR_RETURN(const bool holds_records, HoldsRecords());
    if (holds_records) {
      return Status::FailedPrecondition(
          "this history holds records of a standalone signer, which the other signers of claims "
          "topic " +
          options_.claims_topic +
          " have never seen: joining with it could sign against them. Export it (signerctl "
          "history export), import the file through the claims topic (signerctl history import "
          "with the cluster's config), and start this signer on a new, empty history directory");
    }
    return store_.WriteSynced(
        {{TopicMetaKey(), EncodeTopicMeta(partitions_, options_.claims_topic, cluster_id)}});
  }
  auto meta = DecodeTopicMeta(*stored);
  if (!meta) return Status::Corruption("kafka topic binding in the store does not decode");
  if (meta->topic != options_.claims_topic) {
    return Status::FailedPrecondition("this history was built from claims topic " + meta->topic +
                                      ", not " + options_.claims_topic);
  }
  if (!meta->cluster_id.empty() && meta->cluster_id != cluster_id) {
    // Another cluster's topic of the same name (a recreated cluster, a mirror, a typo in
    // brokers): the stored offsets point into other records, and reading on from them could skip
    // claims that cluster's signers won.
    return Status::FailedPrecondition(
        "this history was built from claims topic " + meta->topic + " of Kafka cluster " +
        meta->cluster_id + ", but the brokers are cluster " + cluster_id +
        ": its offsets mean nothing there. Point kafka.brokers at the history's cluster; to move "
        "to another cluster, build the history anew from it (docs/kafka.md)");
  }
  if (meta->partitions != partitions_) {
    return Status::FailedPrecondition(
        "claims topic " + options_.claims_topic + " has " + std::to_string(partitions_) +
        " partitions but this history was built with " + std::to_string(meta->partitions) +
        ": a changed partition count moves keys between partitions, refusing to start");
  }
  if (meta->cluster_id.empty()) {
    // A binding from before clusters were recorded: the cluster it is used with now is taken
    // as its own, once.
    return store_.WriteSynced(
        {{TopicMetaKey(), EncodeTopicMeta(partitions_, options_.claims_topic, cluster_id)}});
  }
  return Status::Ok();
}

Result<bool> ReplicatedHistoryLog::Impl::HoldsRecords() {
  bool found = false;
  for (const char tag : {slashing::kRecordKeyTag, slashing::kWatermarkKeyTag}) {
    SIGNER_RETURN_IF_ERROR(store_.Scan(std::string_view(&tag, 1), [&](auto, auto) {
      found = true;
      return false;
    }));
    if (found) return true;
  }
  return false;
}

Result<std::optional<int64_t>> ReplicatedHistoryLog::Impl::ReadStoredOffset(int32_t partition) {
  SIGNER_ASSIGN_OR_RETURN(auto offset, store_.Get(OffsetMetaKey(partition)));
  if (!offset.has_value()) return std::optional<int64_t>();
  auto decoded = DecodeOffset(*offset);
  if (!decoded) return Status::Corruption("kafka offset in the store does not decode");
  return std::optional<int64_t>(*decoded);
}

Status ReplicatedHistoryLog::Impl::Start() {
  if (options_.brokers.empty()) return Status::InvalidArgument("kafka: brokers is required");
  if (options_.claims_topic.empty()) return Status::InvalidArgument("kafka: claims topic is empty");
  if (options_.claims_topic.size() > 249) {
    return Status::InvalidArgument("kafka: claims topic name longer than Kafka's 249 characters");
  }
  if (options_.signer_id.size() > kMaxSignerIdSize) {
    return Status::InvalidArgument("kafka: signer id longer than 128 bytes");
  }
  if (options_.claim_timeout.count() <= 0) {
    return Status::InvalidArgument("kafka: claim timeout must be positive");
  }
  for (const auto& [name, value] : options_.properties) {
    if (IsClaimsProducerProperty(name) || IsClaimsConsumerProperty(name)) {
      return Status::InvalidArgument("kafka property " + name +
                                     " is set by the replication itself and cannot be changed");
    }
  }
  SIGNER_RETURN_IF_ERROR(CreateClients());
  SIGNER_RETURN_IF_ERROR(ReadPartitionCount());
  SIGNER_RETURN_IF_ERROR(BindTopic());
  std::vector<int64_t> start_offsets;
  {
    base::MutexLock lock(mutex_);
    start_offsets = next_offsets_;
  }
  for (int32_t partition = 0; partition < partitions_; ++partition) {
    if (rd_kafka_consume_start_queue(consumer_topic_, partition,
                                     start_offsets[static_cast<size_t>(partition)], queue_) != 0) {
      return Status::Internal(std::string("kafka: cannot start consuming: ") +
                              rd_kafka_err2str(rd_kafka_last_error()));
    }
  }
  consuming_ = true;
  applier_ = std::thread([this] { ApplierLoop(); });
  poller_ = std::thread([this] { PollerLoop(); });
  return Status::Ok();
}

void ReplicatedHistoryLog::Impl::Close() {
  stop_.store(true);
  if (applier_.joinable()) applier_.join();
  if (poller_.joinable()) poller_.join();
  if (consuming_) {
    for (int32_t partition = 0; partition < partitions_; ++partition) {
      rd_kafka_consume_stop(consumer_topic_, partition);
    }
    consuming_ = false;
  }
  if (queue_) rd_kafka_queue_destroy(queue_);
  if (consumer_topic_) rd_kafka_topic_destroy(consumer_topic_);
  if (producer_topic_) rd_kafka_topic_destroy(producer_topic_);
  queue_ = nullptr;
  consumer_topic_ = producer_topic_ = nullptr;
  if (consumer_) rd_kafka_destroy(consumer_);
  consumer_ = nullptr;
  if (producer_) {
    // Unsent claims are dropped: nobody waits for them any more and nothing was signed for them.
    rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(producer_, 0);
    rd_kafka_destroy(producer_);
    producer_ = nullptr;
  }
}

void ReplicatedHistoryLog::Impl::Fail(Status status) {
  Warn("applier stopped: " + status.message());
  bool first = false;
  {
    base::MutexLock lock(mutex_);
    first = fatal_.ok();
    if (first) fatal_ = status;
    applied_.SignalAll();
  }
  if (first && options_.stopped) options_.stopped(status);
}

void ReplicatedHistoryLog::Impl::PollerLoop() {
  while (!stop_.load()) rd_kafka_poll(producer_, 100);
}

void ReplicatedHistoryLog::Impl::OnDelivery(rd_kafka_t* /*producer*/,
                                            const rd_kafka_message_t* message, void* opaque) {
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  auto* self = static_cast<Impl*>(opaque);
  auto record =
      DecodeClaimRecord(std::span(static_cast<const uint8_t*>(message->payload), message->len));
  base::MutexLock lock(self->mutex_);
  ++self->stats_.claims_failed;
  if (!record.ok()) return;
  auto it = self->pending_.find(record->request_id);
  if (it == self->pending_.end() || it->second->done) return;
  // The record may still have reached the log (an idempotent producer cannot tell after a
  // timeout); then it takes its positions without a signature, which is safe.
  it->second->done = true;
  it->second->status =
      Status::IoError(std::string("claim not delivered: ") + rd_kafka_err2str(message->err));
  self->applied_.SignalAll();
}

namespace {

bool IsAdminMessage(const rd_kafka_message_t* message) {
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  const ClaimsTopicRecordKind kind = PeekClaimsTopicRecordKind(
      std::span(static_cast<const uint8_t*>(message->payload), message->len));
  return kind == ClaimsTopicRecordKind::kImport || kind == ClaimsTopicRecordKind::kPrune;
}

}  // namespace

bool ReplicatedHistoryLog::Impl::SkipAdmin(int32_t partition, int64_t offset,
                                           const std::string& why) {
  Warn("skipped history record at partition " + std::to_string(partition) + " offset " +
       std::to_string(offset) + ": " + why);
  Status written = store_.WriteSynced({{OffsetMetaKey(partition), EncodeOffset(offset + 1)}});
  base::MutexLock lock(mutex_);
  if (!written.ok()) {
    ++stats_.store_write_failures;
    return false;
  }
  ++stats_.synced_batches;
  ++stats_.records_skipped;
  next_offsets_[static_cast<size_t>(partition)] = offset + 1;
  applied_.SignalAll();
  return true;
}

bool ReplicatedHistoryLog::Impl::TryApplyAdmin(rd_kafka_message_t* message) {
  const int32_t partition = message->partition;
  if (partition < 0 || partition >= partitions_) return true;
  {
    base::MutexLock lock(mutex_);
    if (message->offset < next_offsets_[static_cast<size_t>(partition)]) return true;
  }
  const std::span<const uint8_t> bytes(static_cast<const uint8_t*>(message->payload), message->len);
  Status applied;
  if (PeekClaimsTopicRecordKind(bytes) == ClaimsTopicRecordKind::kImport) {
    auto record = DecodeImportRecord(bytes);
    if (!record.ok()) return SkipAdmin(partition, message->offset, record.status().message());
    if (record->genesis_hash != options_.genesis_hash) {
      return SkipAdmin(partition, message->offset, "import for another chain (genesis hash)");
    }
    if (ClaimPartition(record->public_key, partitions_) != partition) {
      return SkipAdmin(partition, message->offset, "import of a key of another partition");
    }
    auto interchange = slashing::ParseInterchange(record->interchange_json);
    if (!interchange.ok()) {
      return SkipAdmin(partition, message->offset,
                       "import does not parse: " + interchange.status().message());
    }
    if (interchange->genesis_hash != options_.genesis_hash || interchange->keys.size() != 1 ||
        interchange->keys[0].public_key != record->public_key) {
      return SkipAdmin(partition, message->offset,
                       "import holds another chain or key than its record says");
    }
    auto report = slashing::ImportHistory(store_, options_.genesis_hash, *interchange);
    if (!report.ok()) {
      // Refused for what the record holds: every signer refuses it alike. Anything else is this
      // store's trouble and is retried, never skipped, or this signer would drift from the rest.
      const base::StatusCode code = report.status().code();
      if (code == base::StatusCode::kFailedPrecondition ||
          code == base::StatusCode::kInvalidArgument) {
        return SkipAdmin(partition, message->offset,
                         "import refused: " + report.status().message());
      }
      applied = report.status();
    }
  } else {
    auto record = DecodePruneRecord(bytes);
    if (!record.ok()) return SkipAdmin(partition, message->offset, record.status().message());
    if (record->genesis_hash != options_.genesis_hash) {
      return SkipAdmin(partition, message->offset, "prune for another chain (genesis hash)");
    }
    if (record->partition != partition || record->partition_count != partitions_) {
      return SkipAdmin(partition, message->offset,
                       "prune produced for another partition or partition count");
    }
    PartitionStore partition_store(store_, partition, partitions_);
    auto report = slashing::PruneBelow(partition_store, record->domain, record->below);
    if (!report.ok()) applied = report.status();
  }
  if (!applied.ok()) {
    // kIoError from the store, or kCorruption: retried like a failed claims batch, never skipped.
    Warn("cannot apply a history record, retrying: " + applied.message());
    base::MutexLock lock(mutex_);
    ++stats_.store_write_failures;
    return false;
  }
  Status written =
      store_.WriteSynced({{OffsetMetaKey(partition), EncodeOffset(message->offset + 1)}});
  base::MutexLock lock(mutex_);
  if (!written.ok()) {
    ++stats_.store_write_failures;
    return false;
  }
  ++stats_.synced_batches;
  ++stats_.records_applied;
  ++stats_.history_records_applied;
  next_offsets_[static_cast<size_t>(partition)] = message->offset + 1;
  applied_.SignalAll();
  return true;
}

void ReplicatedHistoryLog::Impl::ApplierLoop() {
  std::vector<rd_kafka_message_t*> messages(kApplyBatchSize);
  while (!stop_.load()) {
    // consume_batch_queue waits its whole timeout unless the batch fills, which would add that
    // timeout to every claim's round trip; so wait for the first message alone, then take what is
    // already there without waiting.
    rd_kafka_message_t* first = rd_kafka_consume_queue(queue_, 100);
    if (first == nullptr) continue;
    messages[0] = first;
    const ssize_t more =
        rd_kafka_consume_batch_queue(queue_, 0, messages.data() + 1, messages.size() - 1);
    const ssize_t count = 1 + (more > 0 ? more : 0);
    std::span<rd_kafka_message_t* const> batch(messages.data(), static_cast<size_t>(count));
    // Claims records are applied in group commits; an import or prune record changes the store
    // outside the group's staging, so it is applied alone between two groups.
    size_t next = 0;
    while (next < batch.size() && !stop_.load()) {
      size_t end = next;
      while (end < batch.size() && !IsAdminMessage(batch[end])) ++end;
      if (end > next) {
        // The same messages are retried until the store takes them: skipping them would lose
        // claims.
        while (!TryApply(batch.subspan(next, end - next)) && !stop_.load()) {
          std::this_thread::sleep_for(kRetryPause);
        }
        next = end;
        continue;
      }
      while (!TryApplyAdmin(batch[next]) && !stop_.load()) std::this_thread::sleep_for(kRetryPause);
      ++next;
    }
    for (rd_kafka_message_t* message : batch) rd_kafka_message_destroy(message);
  }
}

bool ReplicatedHistoryLog::Impl::TryApply(std::span<rd_kafka_message_t* const> messages) {
  std::vector<int64_t> next_offsets;
  {
    base::MutexLock lock(mutex_);
    next_offsets = next_offsets_;
  }
  // Every record of the poll is decided against the store plus what the records before it staged.
  slashing::ClaimBatch claims(store_);
  std::map<int32_t, int64_t> advanced;
  std::vector<OwnOutcome> outcomes;
  uint64_t applied = 0;
  uint64_t skipped = 0;
  Status failure;

  for (rd_kafka_message_t* message : messages) {
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (message->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
          message->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        Fail(Status::IoError("claims partition " + std::to_string(message->partition) +
                             " no longer holds the records this history needs (" +
                             rd_kafka_message_errstr(message) +
                             "): rebuild the history from an empty store or restore the topic"));
      } else {
        Warn(std::string("consumer: ") + rd_kafka_message_errstr(message));
      }
      continue;
    }
    const int32_t partition = message->partition;
    if (partition < 0 || partition >= partitions_) continue;
    if (message->offset < next_offsets[static_cast<size_t>(partition)]) continue;  // applied before
    next_offsets[static_cast<size_t>(partition)] = message->offset + 1;
    advanced[partition] = message->offset + 1;

    auto record =
        DecodeClaimRecord(std::span(static_cast<const uint8_t*>(message->payload), message->len));
    const std::string where =
        "partition " + std::to_string(partition) + " offset " + std::to_string(message->offset);
    if (!record.ok()) {
      ++skipped;
      Warn("skipped claims record at " + where + ": " + record.status().message());
      continue;
    }
    if (record->genesis_hash != options_.genesis_hash) {
      ++skipped;
      Warn("skipped claims record at " + where + ": it is for another chain (genesis hash)");
      continue;
    }
    if (ClaimPartition(record->public_key, partitions_) != partition) {
      ++skipped;
      Warn("skipped claims record at " + where + ": its key belongs to another partition");
      continue;
    }

    // One record is all-or-nothing, as one LocalHistoryLog caller is.
    auto verdicts = claims.Apply(record->public_key, record->claims, record->time_unix_ms);
    if (!verdicts.ok()) {
      failure = verdicts.status();
      break;
    }
    ++applied;
    if (record->signer_id == options_.signer_id) {
      outcomes.push_back({record->request_id, partition,
                          std::span(static_cast<const uint8_t*>(message->payload), message->len),
                          where, std::move(*verdicts)});
    }
  }
  if (!failure.ok()) {
    Warn("cannot read the history store, retrying: " + failure.message());
    base::MutexLock lock(mutex_);
    ++stats_.store_write_failures;
    return false;
  }
  if (advanced.empty()) return true;
  slashing::StoreBatch batch = claims.TakeWrites();
  for (const auto& [partition, next] : advanced) {
    batch.push_back({OffsetMetaKey(partition), EncodeOffset(next)});
  }
  Status written = defer_syncs_.load(std::memory_order_acquire) ? store_.Write(batch)
                                                                : store_.WriteSynced(batch);
  std::vector<std::string> mismatched_at;
  {
    base::MutexLock lock(mutex_);
    if (!written.ok()) {
      ++stats_.store_write_failures;
      Warn("cannot write the history store, retrying: " + written.message());
      return false;
    }
    ++stats_.synced_batches;
    stats_.records_applied += applied;
    stats_.records_skipped += skipped;
    for (const auto& [partition, next] : advanced) {
      next_offsets_[static_cast<size_t>(partition)] = next;
    }
    for (OwnOutcome& outcome : outcomes) {
      auto it = pending_.find(outcome.request_id);
      if (it == pending_.end() || it->second->done) continue;
      if (!IsTheProducedRecord(*it->second, outcome)) {
        // Applied above like any other signer's record (every signer does so alike), but its
        // verdicts are not ours: the waiter keeps waiting for its own record or times out.
        ++stats_.own_records_mismatched;
        mismatched_at.push_back(std::move(outcome.where));
        continue;
      }
      it->second->done = true;
      it->second->verdicts = std::move(outcome.verdicts);
    }
    applied_.SignalAll();
  }
  for (const std::string& where : mismatched_at) {
    Warn("claims record at " + where +
         " names this signer and a waiting request but is not the record it produced (another "
         "key, claims or partition): applied, answers no request");
  }
  return true;
}

Result<std::vector<slashing::Verdict>> ReplicatedHistoryLog::Impl::CheckAndRecord(
    std::span<const uint8_t> public_key, std::span<const slashing::Claim> claims,
    uint64_t now_unix_ms) {
  if (public_key.empty() || public_key.size() > slashing::kMaxPublicKeySize) {
    return Status::InvalidArgument("public key size out of range");
  }
  if (claims.size() > kMaxClaimsPerRecord) {
    return Status::InvalidArgument("too many claims in one request");
  }
  for (const slashing::Claim& claim : claims) {
    if (claim.digest.empty() || claim.digest.size() > slashing::kMaxDigestSize) {
      return Status::InvalidArgument("digest size out of range");
    }
  }
  if (claims.empty()) return std::vector<slashing::Verdict>();
  {
    base::MutexLock lock(mutex_);
    if (!fatal_.ok()) return Status::IoError(fatal_.message());
  }

  // Local precheck: what the store holds came from the log, so a refusal or an identical re-sign
  // here is also the log's answer; only the rest needs the round trip. Each claim is judged alone
  // against the store (only the applier stages a record's claims for one another); nothing is
  // staged or written here.
  slashing::ClaimBatch precheck(store_);
  std::vector<slashing::Verdict> local;
  bool any_refused = false;
  bool all_resign = true;
  for (const slashing::Claim& claim : claims) {
    SIGNER_ASSIGN_OR_RETURN(const slashing::Verdict verdict, precheck.Evaluate(public_key, claim));
    local.push_back(verdict);
    if (!slashing::IsAllowed(verdict)) any_refused = true;
    if (verdict != slashing::Verdict::kAllowedResign) all_resign = false;
  }
  if (any_refused || all_resign) {
    base::MutexLock lock(mutex_);
    ++(any_refused ? stats_.precheck_refused : stats_.precheck_resigned);
    return local;
  }

  ClaimRecord record;
  record.key_type = KeyTypeForDomain(claims.front().domain);
  record.public_key.assign(public_key.begin(), public_key.end());
  record.genesis_hash = options_.genesis_hash;
  record.signer_id = options_.signer_id;
  record.time_unix_ms = now_unix_ms;
  record.claims.assign(claims.begin(), claims.end());
  if (getrandom(record.request_id.data(), record.request_id.size(), 0) !=
      static_cast<ssize_t>(record.request_id.size())) {
    return Status::Internal("no randomness for the request id");
  }
  SIGNER_ASSIGN_OR_RETURN(auto encoded, EncodeClaimRecord(record));

  const int32_t partition = ClaimPartition(public_key, partitions_);
  auto pending = std::make_shared<Pending>(std::move(encoded), partition);
  {
    base::MutexLock lock(mutex_);
    pending_.emplace(record.request_id, pending);
  }
  const auto started = std::chrono::steady_clock::now();
  const rd_kafka_resp_err_t err =
      rd_kafka_producev(producer_, RD_KAFKA_V_RKT(producer_topic_), RD_KAFKA_V_PARTITION(partition),
                        RD_KAFKA_V_KEY(const_cast<uint8_t*>(public_key.data()), public_key.size()),
                        RD_KAFKA_V_VALUE(const_cast<char*>(pending->record_bytes.data()),
                                         pending->record_bytes.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  {
    base::MutexLock lock(mutex_);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      pending_.erase(record.request_id);
      ++stats_.claims_failed;
      return Status::IoError(std::string("cannot produce the claim: ") + rd_kafka_err2str(err));
    }
    ++stats_.claims_produced;
    const auto deadline = started + options_.claim_timeout;
    bool done = true;
    while (!pending->done && fatal_.ok()) {
      if (!applied_.WaitUntil(mutex_, deadline)) {
        done = pending->done || !fatal_.ok();
        break;
      }
    }
    pending_.erase(record.request_id);
    if (!done) {
      ++stats_.claims_timed_out;
      return Status::IoError("claim not applied within the claim timeout");
    }
    if (!pending->done) return Status::IoError(fatal_.message());
    if (!pending->status.ok()) return pending->status;
    const bool won = std::all_of(pending->verdicts.begin(), pending->verdicts.end(),
                                 [](slashing::Verdict v) { return slashing::IsAllowed(v); });
    ++(won ? stats_.claims_won : stats_.claims_lost);
  }
  if (observer_) observer_(std::chrono::steady_clock::now() - started);
  // Done and out of pending_, so the applier no longer touches it: read without the lock.
  return std::move(pending->verdicts);
}

Status ReplicatedHistoryLog::Impl::WaitUntilCaughtUp(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<int64_t> targets;
  {
    base::MutexLock lock(mutex_);
    targets = catch_up_targets_;
  }
  const bool read_targets = targets.empty();
  if (read_targets) targets.assign(static_cast<size_t>(partitions_), -1);
  for (int32_t partition = 0; read_targets && partition < partitions_; ++partition) {
    std::string last_error;
    for (;;) {
      const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (remaining.count() <= 0) {
        return Status::IoError("cannot read the end of claims partition " +
                               std::to_string(partition) + ": " + last_error);
      }
      int64_t low = 0;
      int64_t high = 0;
      const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
          consumer_, options_.claims_topic.c_str(), partition, &low, &high,
          static_cast<int>(std::min<int64_t>(remaining.count(), 2'000)));
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        targets[static_cast<size_t>(partition)] = high;
        break;
      }
      last_error = rd_kafka_err2str(err);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  base::MutexLock lock(mutex_);
  catch_up_targets_ = targets;
  bool reached = true;
  while (!CaughtUpOrFailed(targets)) {
    if (!applied_.WaitUntil(mutex_, deadline)) {
      reached = CaughtUpOrFailed(targets);
      break;
    }
  }
  if (!fatal_.ok()) return Status::IoError(fatal_.message());
  if (!reached) return Status::IoError("history not caught up with the claims topic in time");
  catch_up_targets_.clear();
  return Status::Ok();
}

bool ReplicatedHistoryLog::Impl::CaughtUpOrFailed(const std::vector<int64_t>& targets) const {
  if (!fatal_.ok()) return true;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (next_offsets_[i] < targets[i]) return false;
  }
  return true;
}

ReplicatedHistoryLogStats ReplicatedHistoryLog::Impl::Stats() const {
  base::MutexLock lock(mutex_);
  ReplicatedHistoryLogStats stats = stats_;
  stats.consumer_lag = 0;
  for (int32_t partition = 0; partition < partitions_; ++partition) {
    int64_t low = 0;
    int64_t high = 0;
    // Cached from the last fetch: no network round trip on the metrics path.
    if (rd_kafka_get_watermark_offsets(consumer_, options_.claims_topic.c_str(), partition, &low,
                                       &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      continue;
    }
    stats.consumer_lag +=
        std::max<int64_t>(0, high - next_offsets_[static_cast<size_t>(partition)]);
  }
  return stats;
}

base::Result<bool> IsReplicatedHistory(slashing::HistoryStore& store) {
  SIGNER_ASSIGN_OR_RETURN(auto stored, store.Get(TopicMetaKey()));
  return stored.has_value();
}

base::Result<std::unique_ptr<ReplicatedHistoryLog>> ReplicatedHistoryLog::Open(
    slashing::HistoryStore& store, ReplicatedHistoryLogOptions options) {
  auto impl = std::make_unique<Impl>(store, std::move(options));
  SIGNER_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<ReplicatedHistoryLog>(new ReplicatedHistoryLog(std::move(impl)));
}

ReplicatedHistoryLog::ReplicatedHistoryLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReplicatedHistoryLog::~ReplicatedHistoryLog() = default;

base::Result<std::vector<slashing::Verdict>> ReplicatedHistoryLog::CheckAndRecord(
    std::span<const uint8_t> public_key, std::span<const slashing::Claim> claims,
    uint64_t now_unix_ms) {
  return impl_->CheckAndRecord(public_key, claims, now_unix_ms);
}

base::Status ReplicatedHistoryLog::WaitUntilCaughtUp(std::chrono::milliseconds timeout) {
  return impl_->WaitUntilCaughtUp(timeout);
}

void ReplicatedHistoryLog::DeferSyncs() {
  impl_->defer_syncs_.store(true, std::memory_order_release);
}

void ReplicatedHistoryLog::SetClaimRoundTripObserver(
    std::function<void(std::chrono::nanoseconds)> observer) {
  impl_->observer_ = std::move(observer);
}

ReplicatedHistoryLogStats ReplicatedHistoryLog::stats() const { return impl_->Stats(); }

int32_t ReplicatedHistoryLog::partition_count() const { return impl_->partitions(); }

std::string ReplicatedHistoryLog::ClusterId() const { return impl_->ClusterId(); }

}  // namespace kafka
