// LocalHistoryLog: the protection rule applied under a leader/follower group commit.
#include <atomic>
#include <map>
#include <string>

#include "slashing/history_log.h"
#include "slashing/record.h"

namespace slashing {
namespace {

Verdict EquivocationFor(Domain domain) {
  switch (domain) {
    case Domain::kBabe:
      return Verdict::kRefusedBabeEquivocation;
    case Domain::kGrandpaPrevote:
    case Domain::kGrandpaPrecommit:
      return Verdict::kRefusedGrandpaEquivocation;
    case Domain::kBeefy:
      return Verdict::kRefusedBeefyEquivocation;
    case Domain::kDispute:
      return Verdict::kRefusedDisputeConflict;
  }
  return Verdict::kRefusedUndecodable;
}

}  // namespace

Verdict EvaluateClaim(const Claim& claim, const std::vector<std::vector<uint8_t>>* existing_digests,
                      const std::optional<Watermark>& watermark) {
  if (watermark && IsBelow(claim.position, *watermark)) return Verdict::kRefusedBelowWatermark;
  if (existing_digests == nullptr) return Verdict::kAllowedNew;
  if (existing_digests->size() > 1) return Verdict::kRefusedConflictedPosition;
  if (existing_digests->front() == claim.digest) return Verdict::kAllowedResign;
  return EquivocationFor(claim.domain);
}

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
  std::lock_guard lock(mutex_);
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
    std::lock_guard lock(mutex_);
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
    std::lock_guard lock(mutex_);
    for (const auto& writer : writers_) {
      if (group.size() == options_.max_group_size) break;
      group.push_back(writer);
    }
  }
  CommitGroup(group);
  std::shared_ptr<Writer> next_leader;
  {
    std::lock_guard lock(mutex_);
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
  // Records staged by earlier members of this group: later members must see them, so two
  // conflicting requests in one group cannot both win.
  std::map<std::string, StoredRecord> staged;
  std::map<std::string, std::optional<Watermark>> watermarks;
  StoreBatch batch;

  auto load_watermark = [&](const std::string& key) -> base::Result<std::optional<Watermark>> {
    if (auto it = watermarks.find(key); it != watermarks.end()) return it->second;
    auto stored = store_.Get(key);
    if (!stored.ok()) return stored.status();
    std::optional<Watermark> watermark;
    if (stored->has_value()) {
      auto decoded = DecodeWatermarkValue(**stored);
      if (!decoded.ok()) return decoded.status();
      watermark = *decoded;
    }
    watermarks.emplace(key, watermark);
    return watermark;
  };

  for (const auto& writer : group) {
    std::map<std::string, StoredRecord> own;  // this writer's new records, all-or-nothing
    bool all_allowed = true;
    for (const Claim& claim : writer->claims) {
      auto watermark = load_watermark(EncodeWatermarkKey(writer->public_key, claim.domain));
      if (!watermark.ok()) {
        writer->status = watermark.status();
        break;
      }
      std::string key = EncodeRecordKey(RecordKey{
          {writer->public_key.begin(), writer->public_key.end()}, claim.domain, claim.position});
      std::optional<StoredRecord> existing;
      if (auto it = own.find(key); it != own.end()) {
        existing = it->second;
      } else if (auto staged_it = staged.find(key); staged_it != staged.end()) {
        existing = staged_it->second;
      } else {
        auto stored = store_.Get(key);
        if (!stored.ok()) {
          writer->status = stored.status();
          break;
        }
        if (stored->has_value()) {
          auto decoded = DecodeRecordValue(**stored);
          if (!decoded.ok()) {
            writer->status = decoded.status();
            break;
          }
          existing = std::move(*decoded);
        }
      }
      const Verdict verdict =
          EvaluateClaim(claim, existing ? &existing->digests : nullptr, *watermark);
      writer->verdicts.push_back(verdict);
      if (!IsAllowed(verdict)) all_allowed = false;
      if (verdict == Verdict::kAllowedNew) {
        own.emplace(std::move(key), StoredRecord{{claim.digest}, writer->now_unix_ms});
      }
    }
    if (!writer->status.ok() || !all_allowed) continue;
    for (auto& [key, record] : own) {
      batch.push_back({key, EncodeRecordValue(record)});
      staged.insert_or_assign(key, std::move(record));
    }
  }

  if (batch.empty()) return;
  base::Status written = store_.WriteSynced(batch);
  {
    std::lock_guard lock(mutex_);
    ++stats_.synced_batches;
  }
  if (written.ok()) return;
  // Nothing of this group is known durable, so nobody in it may be told "allowed".
  for (const auto& writer : group) {
    if (writer->status.ok()) writer->status = written;
  }
}

}  // namespace slashing
