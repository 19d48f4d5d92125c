// Replicated history administration: import and prune records produced to the claims topic.
#include "kafka/replicated_admin.h"

#include <librdkafka/rdkafka.h>
#include <sys/random.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <span>
#include <string_view>
#include <thread>

#include "claims_properties.h"
#include "kafka/claim_record.h"

namespace kafka {
namespace {

using base::Result;
using base::Status;

// kRecordsPerImport is where an import starts splitting a domain's records; a part whose text is
// still larger than kMaxImportJsonSize is halved until it fits.
constexpr size_t kRecordsPerImport = 2'000;

// OutgoingRecord is one encoded record and the partition it must go to.
struct OutgoingRecord {
  int32_t partition = 0;
  std::string key;  // the public key, or empty for a prune record
  std::string value;
};

// Producer is one idempotent acks=all producer that counts failed deliveries.
class Producer {
 public:
  ~Producer() {
    if (topic_ != nullptr) rd_kafka_topic_destroy(topic_);
    if (handle_ != nullptr) rd_kafka_destroy(handle_);
  }

  Status Open(const ReplicatedAdminOptions& options) {
    if (options.brokers.empty()) return Status::InvalidArgument("kafka: brokers is required");
    if (options.claims_topic.empty())
      return Status::InvalidArgument("kafka: claims topic is empty");
    if (options.signer_id.size() > kMaxSignerIdSize) {
      return Status::InvalidArgument("kafka: signer id longer than 128 bytes");
    }
    if (options.timeout.count() <= 0) return Status::InvalidArgument("kafka: timeout not positive");
    for (const auto& [name, value] : options.properties) {
      if (IsClaimsProducerProperty(name)) {
        return Status::InvalidArgument("kafka property " + name +
                                       " is set by the replication itself and cannot be changed");
      }
    }
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    std::vector<std::pair<std::string, std::string>> settings = {
        {"bootstrap.servers", options.brokers},
        {"client.id", "signerctl-history-" + options.signer_id},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"message.timeout.ms", std::to_string(options.timeout.count())},
        {"log_level", "3"},
    };
    settings.insert(settings.end(), options.properties.begin(), options.properties.end());
    for (const auto& [name, value] : settings) {
      if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof(error)) !=
          RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return Status::InvalidArgument("kafka property " + name + ": " + error);
      }
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &Producer::OnDelivery);
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
    if (handle_ == nullptr) {
      rd_kafka_conf_destroy(conf);
      return Status::InvalidArgument(std::string("kafka producer: ") + error);
    }
    topic_ = rd_kafka_topic_new(handle_, options.claims_topic.c_str(), nullptr);
    if (topic_ == nullptr) return Status::Internal("kafka: cannot create the topic handle");
    return Status::Ok();
  }

  // PartitionCount waits up to `timeout` for the topic's partition count.
  Result<int32_t> PartitionCount(const std::string& topic_name, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string last_error = "no answer";
    for (;;) {
      const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (remaining.count() <= 0) break;
      const rd_kafka_metadata_t* metadata = nullptr;
      const rd_kafka_resp_err_t err =
          rd_kafka_metadata(handle_, 0, topic_, &metadata,
                            static_cast<int>(std::min<int64_t>(remaining.count(), 2'000)));
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        int32_t count = 0;
        if (metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          count = metadata->topics[0].partition_cnt;
        } else {
          last_error = metadata->topic_cnt == 1 ? rd_kafka_err2str(metadata->topics[0].err)
                                                : "topic missing from metadata";
        }
        rd_kafka_metadata_destroy(metadata);
        if (count > 0) return count;
      } else {
        last_error = rd_kafka_err2str(err);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Status::IoError("kafka: cannot read the partitions of topic " + topic_name + ": " +
                           last_error);
  }

  // ProduceAll sends every record and waits until each is acknowledged or failed.
  Status ProduceAll(const std::vector<OutgoingRecord>& records, std::chrono::milliseconds timeout) {
    for (const OutgoingRecord& record : records) {
      for (;;) {
        const rd_kafka_resp_err_t err = rd_kafka_producev(
            handle_, RD_KAFKA_V_RKT(topic_), RD_KAFKA_V_PARTITION(record.partition),
            RD_KAFKA_V_KEY(const_cast<char*>(record.key.data()), record.key.size()),
            RD_KAFKA_V_VALUE(const_cast<char*>(record.value.data()), record.value.size()),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          return Status::IoError(std::string("kafka: cannot produce: ") + rd_kafka_err2str(err));
        }
        rd_kafka_poll(handle_, 100);  // the local queue drains as the brokers acknowledge
      }
    }
    // message.timeout.ms bounds every record, so the flush ends; the margin covers the last ones.
    const rd_kafka_resp_err_t flushed =
        rd_kafka_flush(handle_, static_cast<int>(timeout.count()) + 5'000);
    if (flushed != RD_KAFKA_RESP_ERR_NO_ERROR || failed_.load() > 0) {
      return Status::IoError("kafka: " + std::to_string(failed_.load()) +
                             " records not acknowledged (" + last_failure_ +
                             "); running the same command again is harmless");
    }
    return Status::Ok();
  }

 private:
  static void OnDelivery(rd_kafka_t* /*handle*/, const rd_kafka_message_t* message, void* opaque) {
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    auto* self = static_cast<Producer*>(opaque);
    self->failed_.fetch_add(1);
    self->last_failure_ = rd_kafka_err2str(message->err);  // delivery reports run in flush/poll
  }

  rd_kafka_t* handle_ = nullptr;
  rd_kafka_topic_t* topic_ = nullptr;
  std::atomic<uint64_t> failed_{0};
  std::string last_failure_ = "timed out";
};

Result<RequestId> NewRequestId() {
  RequestId id{};
  if (getrandom(id.data(), id.size(), 0) != static_cast<ssize_t>(id.size())) {
    return Status::Internal("no randomness for the request id");
  }
  return id;
}

uint64_t NowUnixMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// AppendImportParts serialises `domain` of `public_key` into interchange texts that each fit one
// record, halving the record range until they do. The watermark travels with every part: merging
// takes the maximum, so repeating it changes nothing.
Status AppendImportParts(const base::Hash256& genesis, const std::vector<uint8_t>& public_key,
                         const slashing::InterchangeDomain& domain, size_t begin, size_t end,
                         std::vector<std::string>& out) {
  slashing::Interchange part;
  part.genesis_hash = genesis;
  slashing::InterchangeDomain piece;
  piece.domain = domain.domain;
  piece.watermark = domain.watermark;
  piece.records.assign(domain.records.begin() + static_cast<std::ptrdiff_t>(begin),
                       domain.records.begin() + static_cast<std::ptrdiff_t>(end));
  part.keys.push_back(slashing::InterchangeKey{public_key, {std::move(piece)}});
  std::string text = slashing::SerializeInterchange(part);
  if (text.size() <= kMaxImportJsonSize) {
    out.push_back(std::move(text));
    return Status::Ok();
  }
  if (end - begin <= 1) {
    return Status::InvalidArgument("one history record is too large for a claims record");
  }
  const size_t middle = begin + (end - begin) / 2;
  SIGNER_RETURN_IF_ERROR(AppendImportParts(genesis, public_key, domain, begin, middle, out));
  return AppendImportParts(genesis, public_key, domain, middle, end, out);
}

}  // namespace

Result<ReplicatedAdminReport> ProduceImport(const ReplicatedAdminOptions& options,
                                            const slashing::Interchange& interchange) {
  Producer producer;
  SIGNER_RETURN_IF_ERROR(producer.Open(options));
  auto partitions = producer.PartitionCount(options.claims_topic, options.timeout);
  if (!partitions.ok()) return partitions.status();

  ReplicatedAdminReport report;
  report.partitions = *partitions;
  std::vector<OutgoingRecord> outgoing;
  const uint64_t now = NowUnixMs();
  for (const slashing::InterchangeKey& key : interchange.keys) {
    ++report.public_keys;
    std::vector<std::string> parts;
    for (const slashing::InterchangeDomain& domain : key.domains) {
      report.interchange_records += domain.records.size();
      if (domain.records.empty()) {
        if (!domain.watermark) continue;  // nothing to merge
        if (Status split =
                AppendImportParts(interchange.genesis_hash, key.public_key, domain, 0, 0, parts);
            !split.ok()) {
          return split;
        }
        continue;
      }
      for (size_t begin = 0; begin < domain.records.size(); begin += kRecordsPerImport) {
        const size_t end = std::min(domain.records.size(), begin + kRecordsPerImport);
        SIGNER_RETURN_IF_ERROR(
            AppendImportParts(interchange.genesis_hash, key.public_key, domain, begin, end, parts));
      }
    }
    const int32_t partition = ClaimPartition(key.public_key, *partitions);
    for (std::string& text : parts) {
      ImportRecord record;
      record.public_key = key.public_key;
      record.genesis_hash = interchange.genesis_hash;
      record.signer_id = options.signer_id;
      auto request_id = NewRequestId();
      if (!request_id.ok()) return request_id.status();
      record.request_id = *request_id;
      record.time_unix_ms = now;
      record.interchange_json = std::move(text);
      SIGNER_ASSIGN_OR_RETURN(auto encoded, EncodeImportRecord(record));
      outgoing.push_back(OutgoingRecord{partition,
                                        std::string(key.public_key.begin(), key.public_key.end()),
                                        std::move(encoded)});
    }
  }
  SIGNER_RETURN_IF_ERROR(producer.ProduceAll(outgoing, options.timeout));
  report.records_produced = outgoing.size();
  return report;
}

Result<ReplicatedAdminReport> ProducePrune(const ReplicatedAdminOptions& options,
                                           const base::Hash256& genesis_hash,
                                           slashing::Domain domain,
                                           const slashing::Watermark& below) {
  Producer producer;
  SIGNER_RETURN_IF_ERROR(producer.Open(options));
  auto partitions = producer.PartitionCount(options.claims_topic, options.timeout);
  if (!partitions.ok()) return partitions.status();
  std::vector<OutgoingRecord> outgoing;
  const uint64_t now = NowUnixMs();
  for (int32_t partition = 0; partition < *partitions; ++partition) {
    PruneRecord record;
    record.genesis_hash = genesis_hash;
    record.signer_id = options.signer_id;
    auto request_id = NewRequestId();
    if (!request_id.ok()) return request_id.status();
    record.request_id = *request_id;
    record.time_unix_ms = now;
    record.partition = partition;
    record.partition_count = *partitions;
    record.domain = domain;
    record.below = below;
    SIGNER_ASSIGN_OR_RETURN(auto encoded, EncodePruneRecord(record));
    outgoing.push_back(OutgoingRecord{partition, std::string(), std::move(encoded)});
  }
  SIGNER_RETURN_IF_ERROR(producer.ProduceAll(outgoing, options.timeout));
  ReplicatedAdminReport report;
  report.partitions = *partitions;
  report.records_produced = outgoing.size();
  return report;
}

}  // namespace kafka
