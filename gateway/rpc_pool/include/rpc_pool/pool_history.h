// The pool's append-only history (heartbeats, pool events, points, payouts) on the project's
// synced key-value store, with retention by age. The on-disk layout is in docs/rpc-pool.md.
//
// Thread safety: PoolHistory is thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/thread_annotations.h"
#include "rpc_pool/registry.h"
#include "slashing/history_store.h"

namespace rpc_pool {

// HistoryKind is the closed set of record kinds.
enum class HistoryKind {
  kHeartbeat,  // a heartbeat the pool accepted (with the node's telemetry)
  kEvent,      // a PoolEvent: joined, refused, penalised, restored, removed
  kPoints,     // one node's points for a closed points period
  kPayout,     // a payout's progress (recorded before and after the payout program runs)
};
std::string_view HistoryKindName(HistoryKind kind);

// HistoryRecord is one stored record. `data` is a JSON object whose fields depend on the kind
// (the Make* functions below build them).
struct HistoryRecord {
  uint64_t at_ms = 0;
  uint64_t sequence = 0;  // set by Append; unique and increasing across the history
  HistoryKind kind = HistoryKind::kEvent;
  std::string node_id;  // empty for records about the whole pool
  nlohmann::json data = nlohmann::json::object();
  bool operator==(const HistoryRecord&) const = default;
};

HistoryRecord MakeHeartbeatRecord(uint64_t at_ms, const Heartbeat& heartbeat);
HistoryRecord MakeEventRecord(const PoolEvent& event);
std::vector<HistoryRecord> MakePointsRecords(const PointsPeriod& period);

// HistoryQuery selects records with from_ms <= at_ms <= to_ms, optionally of one kind and one
// node, oldest first, at most `limit`.
struct HistoryQuery {
  uint64_t from_ms = 0;
  uint64_t to_ms = UINT64_MAX;
  std::optional<HistoryKind> kind;
  std::optional<std::string> node_id;
  size_t limit = 10'000;
};

// kDefaultRetentionMs is the seed's default history age: 30 days.
inline constexpr uint64_t kDefaultRetentionMs = uint64_t{30} * 24 * 3600 * 1000;
// kMaxRecordBytes bounds one encoded record; a bigger one is refused.
inline constexpr size_t kMaxRecordBytes = size_t{64} * 1024;

class PoolHistory {
 public:
  // Open reads the last sequence number from `store`, which must outlive the history. Fails with
  // kIoError when the store cannot be read and kCorruption when its metadata does not decode.
  [[nodiscard]] static base::Result<std::unique_ptr<PoolHistory>> Open(
      slashing::HistoryStore& store, uint64_t retention_ms = kDefaultRetentionMs);

  // Append stores `records` in one atomic, synced write and returns their sequence numbers; on
  // success every one of them survives a crash, on failure none may be assumed stored. Fails with
  // kInvalidArgument on a bad node ID or a record over kMaxRecordBytes (nothing is written), and
  // with the store's error (kIoError) when the write fails.
  [[nodiscard]] base::Result<std::vector<uint64_t>> Append(std::span<const HistoryRecord> records);

  // Read returns the records `query` selects. Fails with kIoError when the store fails and
  // kCorruption on a stored record that does not decode.
  [[nodiscard]] base::Result<std::vector<HistoryRecord>> Read(const HistoryQuery& query) const;

  // Prune deletes the records older than the retention (at_ms < now_ms - retention), oldest
  // first, in synced batches, and returns how many it deleted. Fails as the store does; what was
  // deleted before a failure stays deleted.
  [[nodiscard]] base::Result<uint64_t> Prune(uint64_t now_ms);

  uint64_t retention_ms() const { return retention_ms_; }

 private:
  PoolHistory(slashing::HistoryStore& store, uint64_t retention_ms, uint64_t next_sequence,
              uint64_t newest_ms)
      : store_(store),
        retention_ms_(retention_ms),
        next_sequence_(next_sequence),
        newest_ms_(newest_ms) {}

  slashing::HistoryStore& store_;
  const uint64_t retention_ms_;
  mutable base::Mutex append_mutex_;  // orders sequence numbers and their writes
  uint64_t next_sequence_ GUARDED_BY(append_mutex_);
  uint64_t newest_ms_ GUARDED_BY(append_mutex_);  // the newest at_ms stored: where reads stop
};

}  // namespace rpc_pool
