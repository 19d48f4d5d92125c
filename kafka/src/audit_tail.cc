// Audit tail: per-signer reordering and chain verification, and the consumer loop that feeds it.
#include "kafka/audit_tail.h"

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <cstdio>
#include <limits>
#include <memory>
#include <set>

#include "audit/audit_format.h"
#include "base/thread_annotations.h"

namespace kafka {
namespace {

using base::Result;
using base::Status;

// Enough released hashes per signer to tell a replayed record from a forged one well beyond any
// reorder window; older seqs are only known to be behind the chain.
constexpr size_t kRecentHashesPerSigner = 4'096;
constexpr int kPollTimeoutMs = 100;
constexpr auto kExpireInterval = std::chrono::milliseconds(50);
constexpr auto kWarningInterval = std::chrono::seconds(10);

// RateLimitedWarning passes at most one message per kWarningInterval; librdkafka calls it from its
// own threads while a broker is unreachable.
class RateLimitedWarning {
 public:
  explicit RateLimitedWarning(std::function<void(std::string_view)> sink)
      : sink_(std::move(sink)) {}

  void operator()(const std::string& message) EXCLUDES(mutex_) {
    base::MutexLock lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (warned_once_ && now - last_ < kWarningInterval) {
      return;
    }
    warned_once_ = true;
    last_ = now;
    if (sink_) {
      sink_(message);
    } else {
      std::fprintf(stderr, "audit tail: warning: %s\n", message.c_str());
    }
  }

 private:
  std::function<void(std::string_view)> sink_;
  base::Mutex mutex_;  // guards the fields below and serialises calls to the sink
  bool warned_once_ GUARDED_BY(mutex_) = false;
  std::chrono::steady_clock::time_point last_ GUARDED_BY(mutex_);
};

void OnConsumerError(rd_kafka_t*, int error, const char* reason, void* opaque) {
  (*static_cast<RateLimitedWarning*>(opaque))(
      std::string(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(error))) + ": " + reason);
}

void OnConsumerLog(const rd_kafka_t* consumer, int level, const char* facility,
                   const char* message) {
  auto* warning = static_cast<RateLimitedWarning*>(rd_kafka_opaque(consumer));
  if (warning != nullptr && level <= 4) {
    (*warning)(std::string("librdkafka ") + facility + ": " + message);
  }
}

// Consumer owns the librdkafka handle so every exit path closes it.
struct Consumer {
  rd_kafka_t* handle = nullptr;
  ~Consumer() {
    if (handle != nullptr) {
      rd_kafka_consumer_close(handle);
      rd_kafka_destroy(handle);
    }
  }
};

}  // namespace

std::string_view ChainStatusName(ChainStatus status) {
  switch (status) {
    case ChainStatus::kOk:
      return "ok";
    case ChainStatus::kGap:
      return "gap";
    case ChainStatus::kBroken:
      return "broken";
  }
  return "broken";
}

AuditChainChecker::AuditChainChecker(Options options) : options_(options) {
  if (options_.max_buffered_per_signer == 0) {
    options_.max_buffered_per_signer = 1;
  }
}

void AuditChainChecker::Add(AuditEvent event, Clock::time_point now,
                            std::vector<CheckedEvent>& out) {
  // Kafka values are untrusted; the tail judges a record by its place in the chain only.
  Result<signer::AuditChainLink> link = signer::ParseAuditChainLink(event.line);
  if (!link.ok()) {
    out.push_back(CheckedEvent{std::move(event), ChainStatus::kBroken, false, 0,
                               "value is not an audit line (a JSON object with seq and prev)"});
    return;
  }
  const uint64_t seq = link->seq;
  if (event.signer_id.empty()) {
    out.push_back(CheckedEvent{std::move(event), ChainStatus::kBroken, true, seq,
                               "record has no signer_id header: no chain to check it against"});
    return;
  }
  // No audit log reaches the last seq; one that claims it would wrap the chain's next seq to 0.
  if (seq == std::numeric_limits<uint64_t>::max()) {
    out.push_back(CheckedEvent{std::move(event), ChainStatus::kBroken, true, seq,
                               "seq is the largest 64-bit number, which no audit log reaches"});
    return;
  }
  if (!chains_.contains(event.signer_id) && chains_.size() >= options_.max_signers) {
    out.push_back(CheckedEvent{std::move(event), ChainStatus::kBroken, true, seq,
                               "more than " + std::to_string(options_.max_signers) +
                                   " signer ids on the topic: this one's chain is not followed"});
    return;
  }
  std::string hash = signer::AuditLineHash(event.line);
  auto [entry, created] = chains_.try_emplace(event.signer_id);
  Chain& chain = entry->second;
  if (created && options_.from_beginning) {
    chain.started = true;
    chain.next_seq = 0;
    chain.last_hash = signer::kAuditFirstLinePrev;
  }
  auto verdict_for_copy = [&](const std::string& known_hash, const char* where) {
    if (known_hash == hash) {
      return CheckedEvent{std::move(event), ChainStatus::kOk, true, seq,
                          std::string("duplicate of an event already ") + where};
    }
    return CheckedEvent{
        std::move(event), ChainStatus::kBroken, true, seq,
        "a different event with seq " + std::to_string(seq) + " was already " + where};
  };
  if (chain.started && seq < chain.next_seq) {
    const auto known = chain.recent.find(seq);
    if (known != chain.recent.end()) {
      out.push_back(verdict_for_copy(known->second, "verified"));
    } else {
      out.push_back(CheckedEvent{std::move(event), ChainStatus::kGap, true, seq,
                                 "seq " + std::to_string(seq) +
                                     " arrived after the chain moved past it (to seq " +
                                     std::to_string(chain.next_seq) + ")"});
    }
    return;
  }
  const auto held = chain.held.find(seq);
  if (held != chain.held.end()) {
    out.push_back(verdict_for_copy(held->second.hash, "received"));
    return;
  }
  chain.held.emplace(seq, Held{std::move(event), std::move(hash), std::move(link->prev), now});
  Drain(chain, out);
  while (chain.held.size() > options_.max_buffered_per_signer) {
    ReleaseOldest(chain, out);
  }
}

void AuditChainChecker::Expire(Clock::time_point now, std::vector<CheckedEvent>& out) {
  for (auto& [signer_id, chain] : chains_) {
    for (;;) {
      bool expired = false;
      for (const auto& [seq, held] : chain.held) {
        if (now - held.arrived >= options_.reorder_window) {
          expired = true;
          break;
        }
      }
      if (!expired) {
        break;
      }
      ReleaseOldest(chain, out);
    }
  }
}

void AuditChainChecker::Flush(std::vector<CheckedEvent>& out) {
  for (auto& [signer_id, chain] : chains_) {
    while (!chain.held.empty()) {
      ReleaseOldest(chain, out);
    }
  }
}

size_t AuditChainChecker::buffered() const {
  size_t total = 0;
  for (const auto& [signer_id, chain] : chains_) {
    total += chain.held.size();
  }
  return total;
}

void AuditChainChecker::Drain(Chain& chain, std::vector<CheckedEvent>& out) {
  while (chain.started && !chain.held.empty() && chain.held.begin()->first == chain.next_seq) {
    auto node = chain.held.extract(chain.held.begin());
    Release(chain, node.key(), std::move(node.mapped()), out);
  }
}

// ReleaseOldest gives up waiting for whatever precedes the lowest held seq.
void AuditChainChecker::ReleaseOldest(Chain& chain, std::vector<CheckedEvent>& out) {
  auto node = chain.held.extract(chain.held.begin());
  Release(chain, node.key(), std::move(node.mapped()), out);
  Drain(chain, out);
}

void AuditChainChecker::Release(Chain& chain, uint64_t seq, Held held,
                                std::vector<CheckedEvent>& out) {
  CheckedEvent checked{std::move(held.event), ChainStatus::kOk, true, seq, {}};
  if (!chain.started) {
    chain.started = true;  // tailing from the end: the first event starts the chain
  } else if (seq == chain.next_seq) {
    if (held.prev != chain.last_hash) {
      checked.chain = ChainStatus::kBroken;
      checked.problem = seq == 0 ? "seq 0 does not start a chain (its prev is not the zero hash)"
                                 : "prev is not the hash of seq " + std::to_string(seq - 1) +
                                       ": this event or the one before it was altered";
    }
  } else {
    checked.chain = ChainStatus::kGap;
    checked.problem = seq == chain.next_seq + 1
                          ? "seq " + std::to_string(chain.next_seq) + " is missing"
                          : "seq " + std::to_string(chain.next_seq) + " to " +
                                std::to_string(seq - 1) + " are missing";
  }
  chain.next_seq = seq + 1;
  chain.last_hash = held.hash;
  chain.recent[seq] = std::move(held.hash);
  while (chain.recent.size() > kRecentHashesPerSigner) {
    chain.recent.erase(chain.recent.begin());
  }
  out.push_back(std::move(checked));
}

Result<AuditTailSummary> RunAuditTail(const AuditTailOptions& options,
                                      const std::function<void(const CheckedEvent&)>& on_event,
                                      const std::atomic<bool>* stop) {
  if (options.brokers.empty() || options.topic.empty()) {
    return Status::InvalidArgument("audit tail needs brokers and a topic");
  }
  if (options.idle_exit_ms < 0 || options.metadata_timeout_ms <= 0) {
    return Status::InvalidArgument("audit tail timeouts must not be negative");
  }
  RateLimitedWarning warning(options.warning);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> settings = {
      {"bootstrap.servers", options.brokers},
      {"client.id", "signerctl-audit-tail"},
      // librdkafka needs a group for assign() even though the tail never joins or commits to it.
      {"group.id", "signerctl-audit-tail-" + std::to_string(::getpid())},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", options.from_beginning ? "earliest" : "latest"},
  };
  settings.insert(settings.end(), options.properties.begin(), options.properties.end());
  // After the caller's properties: the idle exit counts from the end of every partition, which
  // only these events tell.
  settings.emplace_back("enable.partition.eof", "true");
  for (const auto& [name, value] : settings) {
    char error[512];
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof(error)) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::InvalidArgument("audit tail property " + name + ": " + error);
    }
  }
  rd_kafka_conf_set_opaque(conf, &warning);
  rd_kafka_conf_set_error_cb(conf, OnConsumerError);
  rd_kafka_conf_set_log_cb(conf, OnConsumerLog);
  char error[512];
  Consumer consumer;
  consumer.handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
  if (consumer.handle == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("audit tail consumer: ") + error);
  }

  std::vector<int32_t> partitions;
  {
    rd_kafka_topic_t* topic = rd_kafka_topic_new(consumer.handle, options.topic.c_str(), nullptr);
    const rd_kafka_metadata_t* metadata = nullptr;
    const rd_kafka_resp_err_t err = rd_kafka_metadata(
        consumer.handle, 0, topic, &metadata, static_cast<int>(options.metadata_timeout_ms));
    rd_kafka_topic_destroy(topic);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("cannot list the partitions of topic " + options.topic + ": " +
                                 rd_kafka_err2str(err));
    }
    std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> owned(
        metadata, rd_kafka_metadata_destroy);
    if (metadata->topic_cnt != 1 || metadata->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR ||
        metadata->topics[0].partition_cnt <= 0) {
      return Status::Unavailable("topic " + options.topic + " is not available: " +
                                 rd_kafka_err2str(metadata->topic_cnt == 1
                                                      ? metadata->topics[0].err
                                                      : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
    }
    for (int i = 0; i < metadata->topics[0].partition_cnt; ++i) {
      partitions.push_back(metadata->topics[0].partitions[i].id);
    }
  }

  rd_kafka_topic_partition_list_t* assignment =
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
  for (int32_t partition : partitions) {
    int64_t start = RD_KAFKA_OFFSET_BEGINNING;
    if (!options.from_beginning) {
      // The high watermark now, rather than RD_KAFKA_OFFSET_END resolved later, so that "from the
      // end" means from the moment on_ready runs.
      int64_t low = 0;
      int64_t high = 0;
      const rd_kafka_resp_err_t err =
          rd_kafka_query_watermark_offsets(consumer.handle, options.topic.c_str(), partition, &low,
                                           &high, static_cast<int>(options.metadata_timeout_ms));
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(assignment);
        return Status::Unavailable("cannot read the end of partition " + std::to_string(partition) +
                                   ": " + rd_kafka_err2str(err));
      }
      start = high;
    }
    rd_kafka_topic_partition_list_add(assignment, options.topic.c_str(), partition)->offset = start;
  }
  const rd_kafka_resp_err_t assign_err = rd_kafka_assign(consumer.handle, assignment);
  rd_kafka_topic_partition_list_destroy(assignment);
  if (assign_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(std::string("cannot assign the audit topic's partitions: ") +
                               rd_kafka_err2str(assign_err));
  }
  if (options.on_ready) {
    options.on_ready();
  }

  AuditChainChecker::Options checker_options = options.checker;
  checker_options.from_beginning = options.from_beginning;
  AuditChainChecker checker(checker_options);
  AuditTailSummary summary;
  std::vector<CheckedEvent> released;
  // Emit reports released events; false once max_events is reached.
  auto emit = [&]() {
    for (CheckedEvent& checked : released) {
      ++summary.verified;
      summary.gaps += checked.chain == ChainStatus::kGap ? 1 : 0;
      summary.broken += checked.chain == ChainStatus::kBroken ? 1 : 0;
      if (!options.key.empty() && checked.event.key != options.key) {
        continue;
      }
      on_event(checked);
      ++summary.reported;
      if (options.max_events != 0 && summary.reported >= options.max_events) {
        released.clear();
        return false;
      }
    }
    released.clear();
    return true;
  };

  // The idle clock runs only while every partition has been read to its end: records already in
  // the topic are always read, however slowly the fetches go, before an idle exit.
  std::set<int32_t> read_to_end;
  auto busy_until = std::chrono::steady_clock::now();
  auto last_expire = busy_until;
  while (stop == nullptr || !stop->load()) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer.handle, kPollTimeoutMs);
    const auto now = std::chrono::steady_clock::now();
    if (message != nullptr) {
      if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        read_to_end.insert(message->partition);
      } else if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        read_to_end.erase(message->partition);  // so the idle clock restarts below
        AuditEvent event;
        event.partition = message->partition;
        event.offset = message->offset;
        if (message->payload != nullptr) {
          event.line.assign(static_cast<const char*>(message->payload), message->len);
        }
        if (message->key != nullptr) {
          event.key.assign(static_cast<const char*>(message->key), message->key_len);
        }
        rd_kafka_headers_t* headers = nullptr;
        const void* value = nullptr;
        size_t size = 0;
        if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_header_get_last(headers, "signer_id", &value, &size) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            value != nullptr) {
          event.signer_id.assign(static_cast<const char*>(value), size);
        }
        checker.Add(std::move(event), now, released);
      } else {
        warning(std::string("consumer: ") + rd_kafka_message_errstr(message));
      }
      rd_kafka_message_destroy(message);
    }
    // Expiry scans every held event, so a bulk read past a hole checks it only now and then.
    if (now - last_expire >= kExpireInterval) {
      checker.Expire(now, released);
      last_expire = now;
    }
    if (!emit()) {
      return summary;
    }
    if (read_to_end.size() < partitions.size()) {
      busy_until = now;
    }
    if (options.idle_exit_ms > 0 &&
        now - busy_until >= std::chrono::milliseconds(options.idle_exit_ms)) {
      checker.Flush(released);
      emit();
      return summary;
    }
  }
  return summary;
}

}  // namespace kafka
