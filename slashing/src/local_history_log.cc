// LocalHistoryLog: ClaimBatch decisions under a leader/follower group commit, one synced write
// each.
#include "slashing/history_log.h"

#include <atomic>
#include <utility>

#include "slashing/claim_batch.h"
#include "slashing/record.h"

namespace slashing {

// Writer is one queued caller. It is shared between the caller and the leader so the leader can
// still notify it after the caller has seen its result and returned.
struct LocalHistoryLog::Writer {
  enum State : int { kWaiting = 0, kLeader = 1, kDone = 2 };
  std::span<const uint8_t> public_key;
  std::span<const Claim> claims;
  uint64_t now_unix_ms = 0;
  std::atomic<int> state{kWaiting};
  base::Status status;
  std::vector<Verdict> verdicts;
};

LocalHistoryLog::LocalHistoryLog(HistoryStore& store, LocalHistoryLogOptions options)
    : store_(store), options_(options) {}

LocalHistoryLog::GroupStats LocalHistoryLog::stats() const {
  base::MutexLock lock(mutex_);
  return stats_;
}

base::Result<std::vector<Verdict>> LocalHistoryLog::CheckAndRecord(
    std::span<const uint8_t> public_key, std::span<const Claim> claims, uint64_t now_unix_ms) {
  if (public_key.empty() || public_key.size() > kMaxPublicKeySize) {
    return base::Status::InvalidArgument("public key size out of range");
  }
  for (const Claim& claim : claims) {
    if (claim.digest.empty() || claim.digest.size() > kMaxDigestSize) {
      return base::Status::InvalidArgument("digest size out of range");
    }
  }
  auto self = std::make_shared<Writer>();
  self->public_key = public_key;
  self->claims = claims;
  self->now_unix_ms = now_unix_ms;
  {
    base::MutexLock lock(mutex_);
    writers_.push_back(self);
    if (writers_.size() == 1) self->state.store(Writer::kLeader, std::memory_order_relaxed);
  }
  int state = self->state.load(std::memory_order_acquire);
  while (state == Writer::kWaiting) {
    self->state.wait(Writer::kWaiting, std::memory_order_acquire);
    state = self->state.load(std::memory_order_acquire);
  }
  if (state == Writer::kDone) {
    if (!self->status.ok()) return self->status;
    return std::move(self->verdicts);
  }

  // This caller leads: take everyone queued so far. Later arrivals queue behind the group; the
  // group stays at the front of the queue until it is done, so nobody else leads meanwhile.
  std::vector<std::shared_ptr<Writer>> group;
  {
    base::MutexLock lock(mutex_);
    for (const auto& writer : writers_) {
      if (group.size() == options_.max_group_size) break;
      group.push_back(writer);
    }
  }
  CommitGroup(group);
  std::shared_ptr<Writer> next_leader;
  {
    base::MutexLock lock(mutex_);
    ++stats_.groups;
    stats_.callers += group.size();
    for (size_t i = 0; i < group.size(); ++i) writers_.pop_front();
    if (!writers_.empty()) next_leader = writers_.front();
  }
  if (next_leader) {
    next_leader->state.store(Writer::kLeader, std::memory_order_release);
    next_leader->state.notify_one();
  }
  for (const auto& member : group) {
    if (member == self) continue;
    member->state.store(Writer::kDone, std::memory_order_release);
    member->state.notify_one();
  }
  if (!self->status.ok()) return self->status;
  return std::move(self->verdicts);
}

void LocalHistoryLog::CommitGroup(std::span<const std::shared_ptr<Writer>> group) {
  // One batch for the whole group: later members see what earlier members staged, so two
  // conflicting requests in one group cannot both win. A member whose reads fail gets the error
  // alone; the others are still decided.
  ClaimBatch batch(store_);
  for (const auto& writer : group) {
    auto verdicts = batch.Apply(writer->public_key, writer->claims, writer->now_unix_ms);
    if (!verdicts.ok()) {
      writer->status = verdicts.status();
      continue;
    }
    writer->verdicts = std::move(*verdicts);
  }

  if (batch.writes().empty()) return;
  base::Status written = defer_syncs_.load(std::memory_order_acquire)
                             ? store_.Write(batch.writes())
                             : store_.WriteSynced(batch.writes());
  {
    base::MutexLock lock(mutex_);
    ++stats_.synced_batches;
  }
  if (written.ok()) return;
  // Nothing of this group is known durable, so nobody in it may be told "allowed".
  for (const auto& writer : group) {
    if (writer->status.ok()) writer->status = written;
  }
}

}  // namespace slashing
