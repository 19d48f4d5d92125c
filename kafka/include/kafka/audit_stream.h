// AuditStream: publishes each durable audit-log line to the Kafka audit topic without ever
// blocking.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace kafka {

// AuditStreamOptions configures an AuditStream (record format: docs/kafka.md, "Audit stream").
struct AuditStreamOptions {
  std::string brokers;                 // bootstrap servers, comma-separated HOST:PORT; required
  std::string topic = "signer-audit";  // required
  std::string signer_id;               // sent in every record's `signer_id` header; required
  // Extra librdkafka properties (TLS, SASL, ...), passed as they are. Ones the stream's guarantees
  // depend on (acks, idempotence, in-flight limits, timeouts, queue bounds) are refused by Open.
  std::vector<std::pair<std::string, std::string>> properties;
  int64_t message_timeout_ms = 30'000;     // a line not acknowledged by then counts as failed
  int64_t max_queued_messages = 100'000;   // lines beyond this many unacknowledged are dropped
  int64_t close_flush_timeout_ms = 5'000;  // the destructor waits at most this long for the queue
  // warning receives one-line warnings about dropped or failed lines, at most one per 10 s, on the
  // stream's own thread. Empty: they go to stderr.
  std::function<void(std::string_view message)> warning;
};

// AuditStream owns an idempotent librdkafka producer (acks=all, so a partition keeps the order in
// which one signer published) and a thread that serves its delivery reports. The local audit log
// is the record of truth: the stream only copies it, so a slow or dead topic costs a counted,
// warned-about loss in the copy, never a blocked or failed signing request.
// Thread-safe: Publish and the counters may be called from any thread.
class AuditStream {
 public:
  // Open validates `options` and starts the producer. It does not wait for a broker (one may come
  // up later). Fails with kInvalidArgument on a missing field, a refused or unknown property, or a
  // value librdkafka rejects.
  static base::Result<std::unique_ptr<AuditStream>> Open(AuditStreamOptions options);

  // The destructor waits up to close_flush_timeout_ms for queued lines to be acknowledged; lines
  // still unacknowledged then are counted as failed.
  ~AuditStream();
  AuditStream(const AuditStream&) = delete;
  AuditStream& operator=(const AuditStream&) = delete;

  // Publish enqueues `line` (one audit line, without its newline: sent byte for byte as the value)
  // with record key `key` (the event's public key hex, or the client identity when the event has
  // no key; empty sends no key). Never blocks: when the queue is full or the producer has failed,
  // the line is counted in failed() and the call returns.
  void Publish(std::string_view line, std::string_view key);

  // published is the number of lines the topic acknowledged.
  uint64_t published() const;
  // failed is the number of lines dropped (queue full, producer failure) or not acknowledged
  // within message_timeout_ms.
  uint64_t failed() const;

 private:
  class Impl;
  explicit AuditStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kafka
