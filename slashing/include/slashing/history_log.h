// HistoryLog: atomic check-and-record of claims; LocalHistoryLog group-commits into a HistoryStore.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <vector>

#include "base/status.h"
#include "base/thread_annotations.h"
#include "slashing/claim_batch.h"
#include "slashing/history_store.h"
#include "slashing/types.h"

namespace slashing {

// HistoryLog is where decisions are made and remembered. The Kafka issue puts an ordered log in
// front of it; standalone, LocalHistoryLog is the implementation. Both decide with ClaimBatch
// (claim_batch.h), so the rule and how a batch stages it exist once. Implementations are
// thread-safe.
class HistoryLog {
 public:
  virtual ~HistoryLog() = default;

  // CheckAndRecord applies the rule to every claim of one public key, atomically: it returns one
  // verdict per claim, and if every verdict is allowed the new claims are durably recorded before
  // it returns; if any is refused nothing is recorded. A failed Status means nothing may be
  // assumed recorded and the caller must not sign.
  virtual base::Result<std::vector<Verdict>> CheckAndRecord(std::span<const uint8_t> public_key,
                                                            std::span<const Claim> claims,
                                                            uint64_t now_unix_ms) = 0;
};

struct LocalHistoryLogOptions {
  // max_group_size caps how many callers one synced write batch serves.
  size_t max_group_size = 1024;
};

// LocalHistoryLog group-commits concurrent callers in the manner of LevelDB's DBImpl::Write:
// callers queue; the caller at the front becomes the leader, decides for everyone queued behind it
// (in queue order, each seeing the claims staged before it), writes all new records in one
// synced batch, then wakes the followers with their verdicts and hands leadership to the next
// queued caller. One fsync serves the whole group. Followers sleep on their own atomic state, not
// on the queue mutex, so waking hundreds of them does not convoy on one lock.
// If the batch fails every caller of the group gets the error. The store must not be written by
// anyone else while the log is in use. Thread-safe.
//
// After DeferSyncs the group's batch is written without a sync (HistoryStore::Write): an allowed
// verdict is then recorded and binding for every later decision, but durable only after the next
// successful HistoryStore::SyncWrites. The caller takes that duty on: signerd syncs the history
// once per audit group, before the audit lines of the decisions are written and before any of
// their signatures leaves (docs/signerd.md, "One synced write per request").
class LocalHistoryLog : public HistoryLog {
 public:
  explicit LocalHistoryLog(HistoryStore& store, LocalHistoryLogOptions options = {});

  base::Result<std::vector<Verdict>> CheckAndRecord(std::span<const uint8_t> public_key,
                                                    std::span<const Claim> claims,
                                                    uint64_t now_unix_ms) override EXCLUDES(mutex_);

  // GroupStats reports how many groups were committed and how many callers they served.
  struct GroupStats {
    uint64_t groups = 0;
    uint64_t callers = 0;
    uint64_t synced_batches = 0;
  };
  GroupStats stats() const EXCLUDES(mutex_);

  // DeferSyncs makes later groups write without a sync (see the class comment). Call it before
  // the first decision; it cannot be undone.
  void DeferSyncs() { defer_syncs_.store(true, std::memory_order_release); }

 private:
  struct Writer;
  void CommitGroup(std::span<const std::shared_ptr<Writer>> group) EXCLUDES(mutex_);

  HistoryStore& store_;
  const LocalHistoryLogOptions options_;
  std::atomic<bool> defer_syncs_{false};
  mutable base::Mutex mutex_;
  // The queue; a Writer's own fields are handed over through its atomic state, not this lock.
  std::deque<std::shared_ptr<Writer>> writers_ GUARDED_BY(mutex_);
  GroupStats stats_ GUARDED_BY(mutex_);
};

}  // namespace slashing
