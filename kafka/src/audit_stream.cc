// AuditStream: an idempotent librdkafka producer fed by the audit log's line observer.
#include "kafka/audit_stream.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>

#include "base/thread_annotations.h"

namespace kafka {
namespace {

using base::Result;
using base::Status;

constexpr std::chrono::seconds kWarningInterval{10};
constexpr int kPollIntervalMs = 200;

// Settings the stream's guarantees rest on: per-partition order (idempotence, acks=all), the
// bounded queue that keeps Publish from blocking, and the timeout after which a line counts as
// failed. The connection itself is `brokers`.
constexpr std::array<std::string_view, 14> kRefusedProperties = {
    "acks",
    "request.required.acks",
    "enable.idempotence",
    "enable.gapless.guarantee",
    "max.in.flight.requests.per.connection",
    "max.in.flight",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "queue.buffering.max.messages",
    "queue.buffering.max.kbytes",
    "bootstrap.servers",
    "metadata.broker.list",
    "transactional.id",
    "retries",
};

bool IsRefused(std::string_view name) {
  return std::find(kRefusedProperties.begin(), kRefusedProperties.end(), name) !=
         kRefusedProperties.end();
}

void WarnToStderr(std::string_view message) {
  std::fprintf(stderr, "level=warn component=audit_stream msg=\"%.*s\"\n",
               static_cast<int>(message.size()), message.data());
}

}  // namespace

class AuditStream::Impl {
 public:
  explicit Impl(AuditStreamOptions options) : options_(std::move(options)) {
    if (!options_.warning) {
      options_.warning = WarnToStderr;
    }
  }

  ~Impl() {
    if (producer_ == nullptr) {
      return;
    }
    stopping_.store(true);
    if (poller_.joinable()) {
      poller_.join();
    }
    rd_kafka_flush(producer_, static_cast<int>(options_.close_flush_timeout_ms));
    if (rd_kafka_outq_len(producer_) > 0) {
      // What is still queued will not be delivered: purging makes librdkafka report each such line
      // through the delivery callback, so it is counted as failed.
      rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_flush(producer_, 1'000);
    }
    MaybeWarn(/*force=*/true);
    rd_kafka_destroy(producer_);
  }

  Status Start() {
    if (options_.brokers.empty() || options_.topic.empty() || options_.signer_id.empty()) {
      return Status::InvalidArgument("audit stream needs brokers, a topic and a signer_id");
    }
    if (options_.message_timeout_ms <= 0 || options_.max_queued_messages <= 0 ||
        options_.close_flush_timeout_ms < 0) {
      return Status::InvalidArgument("audit stream timeouts and queue bound must be positive");
    }
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    auto set = [&](const std::string& name, const std::string& value) -> Status {
      char error[512];
      if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof(error)) !=
          RD_KAFKA_CONF_OK) {
        return Status::InvalidArgument("audit stream property " + name + ": " + error);
      }
      return Status::Ok();
    };
    std::vector<std::pair<std::string, std::string>> settings = {
        {"bootstrap.servers", options_.brokers},
        {"client.id", "signerd-audit-" + options_.signer_id},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"message.timeout.ms", std::to_string(options_.message_timeout_ms)},
        {"queue.buffering.max.messages", std::to_string(options_.max_queued_messages)},
        {"linger.ms", "5"},
    };
    for (const auto& [name, value] : options_.properties) {
      if (IsRefused(name)) {
        rd_kafka_conf_destroy(conf);
        return Status::InvalidArgument("audit stream property " + name +
                                       " is set by the signer and cannot be overridden");
      }
      settings.emplace_back(name, value);
    }
    for (const auto& [name, value] : settings) {
      Status status = set(name, value);
      if (!status.ok()) {
        rd_kafka_conf_destroy(conf);
        return status;
      }
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &Impl::OnDelivery);
    rd_kafka_conf_set_error_cb(conf, &Impl::OnError);
    rd_kafka_conf_set_log_cb(conf, &Impl::OnLog);
    char error[512];
    producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
    if (producer_ == nullptr) {
      rd_kafka_conf_destroy(conf);  // rd_kafka_new owns conf only on success
      return Status::InvalidArgument(std::string("audit stream producer: ") + error);
    }
    poller_ = std::thread([this] { PollLoop(); });
    return Status::Ok();
  }

  void Publish(std::string_view line, std::string_view key) {
    std::array<rd_kafka_vu_t, 5> fields{};
    fields[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    fields[0].u.cstr = options_.topic.c_str();
    fields[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    fields[1].u.i = RD_KAFKA_MSG_F_COPY;
    fields[2].vtype = RD_KAFKA_VTYPE_VALUE;
    fields[2].u.mem.ptr = const_cast<char*>(line.data());  // copied (RD_KAFKA_MSG_F_COPY)
    fields[2].u.mem.size = line.size();
    fields[3].vtype = RD_KAFKA_VTYPE_HEADER;
    fields[3].u.header.name = "signer_id";
    fields[3].u.header.val = options_.signer_id.data();
    fields[3].u.header.size = static_cast<ssize_t>(options_.signer_id.size());
    size_t count = 4;
    if (!key.empty()) {
      fields[4].vtype = RD_KAFKA_VTYPE_KEY;
      fields[4].u.mem.ptr = const_cast<char*>(key.data());
      fields[4].u.mem.size = key.size();
      count = 5;
    }
    rd_kafka_error_t* error = rd_kafka_produceva(producer_, fields.data(), count);
    if (error != nullptr) {
      // Queue full or a failed producer: the line stays in the local log only. Warning happens on
      // the poll thread, so this path only touches atomics (it runs under the audit log's lock).
      last_error_.store(rd_kafka_error_code(error));
      rd_kafka_error_destroy(error);
      failed_.fetch_add(1);
    }
  }

  uint64_t published() const { return published_.load(); }
  uint64_t failed() const { return failed_.load(); }

 private:
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      self->last_error_.store(message->err);
      self->failed_.fetch_add(1);
    } else {
      self->published_.fetch_add(1);
    }
  }

  static void OnError(rd_kafka_t* producer, int error, const char* reason, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    self->last_error_.store(static_cast<rd_kafka_resp_err_t>(error));
    if (error == RD_KAFKA_RESP_ERR__FATAL) {
      char fatal[512];
      rd_kafka_fatal_error(producer, fatal, sizeof(fatal));
      self->Warn(std::string("audit stream producer failed for good, further lines are dropped: ") +
                 fatal);
    } else {
      base::MutexLock lock(self->warning_mutex_);
      self->last_error_reason_ = reason;
    }
  }

  // OnLog keeps librdkafka's own chatter (reconnect attempts while a broker is down) within the
  // same warning budget instead of flooding stderr.
  static void OnLog(const rd_kafka_t* producer, int level, const char* facility,
                    const char* message) {
    auto* self = static_cast<Impl*>(rd_kafka_opaque(producer));
    if (self == nullptr || level > 4) {  // keep emergencies to warnings (syslog levels 0..4)
      return;
    }
    self->Warn(std::string("librdkafka ") + facility + ": " + message);
  }

  void PollLoop() {
    while (!stopping_.load()) {
      rd_kafka_poll(producer_, kPollIntervalMs);
      MaybeWarn(/*force=*/false);
    }
  }

  // Warn passes `message` on unless another warning went out less than kWarningInterval ago.
  void Warn(const std::string& message) EXCLUDES(warning_mutex_) {
    base::MutexLock lock(warning_mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (warned_once_ && now - last_warning_ < kWarningInterval) {
      return;
    }
    warned_once_ = true;
    last_warning_ = now;
    options_.warning(message);
  }

  // MaybeWarn reports lines lost since the last report, so each loss is announced once.
  void MaybeWarn(bool force) EXCLUDES(warning_mutex_) {
    const uint64_t failed_now = failed_.load();
    std::string reason;
    {
      base::MutexLock lock(warning_mutex_);
      if (failed_now == failed_reported_) {
        return;
      }
      const auto now = std::chrono::steady_clock::now();
      if (!force && loss_warned_once_ && now - last_loss_warning_ < kWarningInterval) {
        return;
      }
      loss_warned_once_ = true;
      last_loss_warning_ = now;
      reason = last_error_reason_;
      const uint64_t newly_failed = failed_now - failed_reported_;
      failed_reported_ = failed_now;
      std::string message =
          "audit stream: " + std::to_string(newly_failed) + " audit lines not delivered to topic " +
          options_.topic + " (they remain in the local audit log); failed " +
          std::to_string(failed_now) + ", published " + std::to_string(published_.load()) +
          ", last error: " + rd_kafka_err2str(last_error_.load());
      if (!reason.empty()) {
        message += " (" + reason + ")";
      }
      options_.warning(message);
    }
  }

  AuditStreamOptions options_;
  rd_kafka_t* producer_ = nullptr;
  std::thread poller_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<rd_kafka_resp_err_t> last_error_{RD_KAFKA_RESP_ERR_NO_ERROR};

  base::Mutex warning_mutex_;  // guards the fields below and serialises calls to the warning sink
  // Lost lines and librdkafka's own errors have separate budgets, so reconnect chatter during an
  // outage cannot crowd out the count of lost lines.
  bool warned_once_ GUARDED_BY(warning_mutex_) = false;
  std::chrono::steady_clock::time_point last_warning_ GUARDED_BY(warning_mutex_);
  bool loss_warned_once_ GUARDED_BY(warning_mutex_) = false;
  std::chrono::steady_clock::time_point last_loss_warning_ GUARDED_BY(warning_mutex_);
  uint64_t failed_reported_ GUARDED_BY(warning_mutex_) = 0;
  std::string last_error_reason_ GUARDED_BY(warning_mutex_);
};

Result<std::unique_ptr<AuditStream>> AuditStream::Open(AuditStreamOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  Status status = impl->Start();
  if (!status.ok()) {
    return status;
  }
  return std::unique_ptr<AuditStream>(new AuditStream(std::move(impl)));
}

AuditStream::AuditStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AuditStream::~AuditStream() = default;

void AuditStream::Publish(std::string_view line, std::string_view key) {
  impl_->Publish(line, key);
}

uint64_t AuditStream::published() const { return impl_->published(); }

uint64_t AuditStream::failed() const { return impl_->failed(); }

}  // namespace kafka
