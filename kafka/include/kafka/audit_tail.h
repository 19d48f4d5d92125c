// Audit tail: reads the Kafka audit topic and verifies every signer's hash chain as it goes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace kafka {

// AuditEvent is one record of the audit topic.
struct AuditEvent {
  std::string signer_id;  // the record's `signer_id` header; empty if it had none
  std::string key;        // the record key (public key hex or client identity)
  int32_t partition = 0;
  int64_t offset = 0;
  std::string line;  // the value: one audit line exactly as the signer's audit log holds it
};

// ChainStatus is what the tail concluded about one event's place in its signer's chain.
enum class ChainStatus {
  kOk,      // it follows the previous event (seq + 1, prev = hash of it), or starts the chain
  kGap,     // events of this signer before it never arrived (or it arrived after its gap was
            // reported): the stream lost lines, the chain could not be checked across the hole
  kBroken,  // tampering or corruption: prev does not match the previous event, another event
            // claims the same seq, or the value is not an audit line
};

// ChainStatusName is "ok", "gap" or "broken".
std::string_view ChainStatusName(ChainStatus status);

// CheckedEvent is an event with its verdict. `seq` is meaningful only when `parsed`.
struct CheckedEvent {
  AuditEvent event;
  ChainStatus chain = ChainStatus::kOk;
  bool parsed = false;  // signer::ParseAuditChainLink accepted the value (seq and prev read)
  uint64_t seq = 0;
  std::string problem;  // one line when chain is not ok (or for a duplicate); empty otherwise
};

// AuditChainChecker puts each signer's events back in seq order and verifies the chain. A signer's
// events travel on several partitions (they are keyed by public key), so they arrive interleaved:
// an event that is not next is held until the missing ones arrive, at most `reorder_window` (by
// the clock passed in) and at most `max_buffered_per_signer` events; then the hole is reported as
// a gap and the chain goes on from the held event. Not thread-safe; no I/O, so tests drive it.
class AuditChainChecker {
 public:
  struct Options {
    // from_beginning: every chain must start at seq 0 with a zero prev. Otherwise the first event
    // released for a signer (the lowest seq seen within the reorder window) starts its chain.
    bool from_beginning = true;
    size_t max_buffered_per_signer = 10'000;
    std::chrono::milliseconds reorder_window{1'000};
    // max_signers bounds the chains followed: the signer_id header is untrusted, and a topic writer
    // naming a new signer in every record would otherwise grow the checker without end. Events of
    // signers beyond it are reported broken, not followed.
    size_t max_signers = 1'024;
  };
  using Clock = std::chrono::steady_clock;

  explicit AuditChainChecker(Options options);

  // Add takes one event and appends to `out` every event it releases, in chain order per signer.
  void Add(AuditEvent event, Clock::time_point now, std::vector<CheckedEvent>& out);
  // Expire releases held events that waited longer than the reorder window (reporting the gap).
  void Expire(Clock::time_point now, std::vector<CheckedEvent>& out);
  // Flush releases every held event, reporting gaps; for the end of a run.
  void Flush(std::vector<CheckedEvent>& out);
  // buffered is the number of events held, over all signers.
  size_t buffered() const;

 private:
  struct Held {
    AuditEvent event;
    std::string hash;
    std::string prev;
    Clock::time_point arrived;
  };
  struct Chain {
    bool started = false;
    uint64_t next_seq = 0;
    std::string last_hash;
    std::map<uint64_t, Held> held;
    std::map<uint64_t, std::string> recent;  // released seq -> hash, to tell replays from forgeries
  };

  void Release(Chain& chain, uint64_t seq, Held held, std::vector<CheckedEvent>& out);
  void Drain(Chain& chain, std::vector<CheckedEvent>& out);
  void ReleaseOldest(Chain& chain, std::vector<CheckedEvent>& out);

  Options options_;
  std::map<std::string, Chain> chains_;
};

// AuditTailOptions configures RunAuditTail.
struct AuditTailOptions {
  std::string brokers;  // required
  std::string topic = "signer-audit";
  bool from_beginning = false;  // otherwise start at each partition's current end
  std::string key;              // when set, only events with this record key are reported
  uint64_t max_events = 0;      // stop once this many events were reported; 0: no limit
  // Stop once every partition was read to its end and no record arrived for this long; 0: never.
  // While a partition cannot be read (its broker is down) the tail does not count as idle.
  int64_t idle_exit_ms = 0;
  std::vector<std::pair<std::string, std::string>> properties;  // extra librdkafka properties
  AuditChainChecker::Options checker;                           // from_beginning is overridden
  int64_t metadata_timeout_ms = 10'000;  // how long to wait for the topic's partitions
  // on_ready runs once every partition is assigned at a known offset: anything published after
  // it returns is read. For tests; may be empty.
  std::function<void()> on_ready;
  // warning receives one-line consumer warnings (broker unreachable, ...). Empty: stderr.
  std::function<void(std::string_view message)> warning;
};

// AuditTailSummary counts what a run reported and verified. Events of other keys are verified but
// not reported; their verdicts count here too.
struct AuditTailSummary {
  uint64_t reported = 0;
  uint64_t verified = 0;
  uint64_t gaps = 0;
  uint64_t broken = 0;
  bool intact() const { return gaps == 0 && broken == 0; }
};

// RunAuditTail consumes every partition of the topic (assigned directly, no consumer group, no
// committed offsets), verifies every event through an AuditChainChecker and hands the ones that
// match `key` to `on_event`, in chain order per signer. It returns when max_events were reported,
// when it was idle for idle_exit_ms (above; held events are flushed first), or when `stop` becomes
// true. Events still held when it stops at max_events or `stop` are not reported. Fails with
// kInvalidArgument on bad options or properties, kUnavailable when the topic's partitions cannot
// be listed within metadata_timeout_ms or consuming fails for good.
base::Result<AuditTailSummary> RunAuditTail(
    const AuditTailOptions& options, const std::function<void(const CheckedEvent&)>& on_event,
    const std::atomic<bool>* stop = nullptr);

}  // namespace kafka
