// The protection rule and its all-or-nothing application to the requests of one store batch.
#include "slashing/claim_batch.h"

#include <utility>

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

ClaimBatch::ClaimBatch(HistoryStore& store) : store_(store) {}

base::Result<std::optional<Watermark>> ClaimBatch::LoadWatermark(
    std::span<const uint8_t> public_key, Domain domain) {
  std::string key = EncodeWatermarkKey(public_key, domain);
  if (auto it = watermarks_.find(key); it != watermarks_.end()) return it->second;
  SIGNER_ASSIGN_OR_RETURN(const std::optional<std::string> stored, store_.Get(key));
  std::optional<Watermark> watermark;
  if (stored.has_value()) {
    SIGNER_ASSIGN_OR_RETURN(watermark, DecodeWatermarkValue(*stored));
  }
  // Only a watermark that was read is remembered: a failed read is tried again by the next claim.
  watermarks_.emplace(std::move(key), watermark);
  return watermark;
}

base::Result<std::optional<StoredRecord>> ClaimBatch::LoadRecord(const std::string& key) {
  if (auto it = staged_.find(key); it != staged_.end()) {
    return std::optional<StoredRecord>(it->second);
  }
  SIGNER_ASSIGN_OR_RETURN(const std::optional<std::string> stored, store_.Get(key));
  if (!stored.has_value()) return std::optional<StoredRecord>();
  SIGNER_ASSIGN_OR_RETURN(StoredRecord decoded, DecodeRecordValue(*stored));
  return std::optional<StoredRecord>(std::move(decoded));
}

base::Result<std::vector<Verdict>> ClaimBatch::Apply(std::span<const uint8_t> public_key,
                                                     std::span<const Claim> claims,
                                                     uint64_t now_unix_ms) {
  // This request's new records, kept apart until every claim is allowed (all-or-nothing).
  std::map<std::string, StoredRecord> own;
  std::vector<Verdict> verdicts;
  verdicts.reserve(claims.size());
  bool all_allowed = true;
  for (const Claim& claim : claims) {
    SIGNER_ASSIGN_OR_RETURN(const std::optional<Watermark> watermark,
                            LoadWatermark(public_key, claim.domain));
    std::string key = EncodeRecordKey(
        RecordKey{{public_key.begin(), public_key.end()}, claim.domain, claim.position});
    std::optional<StoredRecord> existing;
    if (auto it = own.find(key); it != own.end()) {
      existing = it->second;
    } else {
      SIGNER_ASSIGN_OR_RETURN(existing, LoadRecord(key));
    }
    const Verdict verdict =
        EvaluateClaim(claim, existing ? &existing->digests : nullptr, watermark);
    verdicts.push_back(verdict);
    if (!IsAllowed(verdict)) all_allowed = false;
    if (verdict == Verdict::kAllowedNew) {
      own.emplace(std::move(key), StoredRecord{{claim.digest}, now_unix_ms});
    }
  }
  if (!all_allowed) return verdicts;
  for (auto& [key, record] : own) {
    writes_.push_back({key, EncodeRecordValue(record)});
    staged_.insert_or_assign(key, std::move(record));
  }
  return verdicts;
}

base::Result<Verdict> ClaimBatch::Evaluate(std::span<const uint8_t> public_key,
                                           const Claim& claim) {
  SIGNER_ASSIGN_OR_RETURN(const std::optional<Watermark> watermark,
                          LoadWatermark(public_key, claim.domain));
  SIGNER_ASSIGN_OR_RETURN(
      const std::optional<StoredRecord> existing,
      LoadRecord(EncodeRecordKey(
          RecordKey{{public_key.begin(), public_key.end()}, claim.domain, claim.position})));
  return EvaluateClaim(claim, existing ? &existing->digests : nullptr, watermark);
}

StoreBatch ClaimBatch::TakeWrites() { return std::exchange(writes_, {}); }

}  // namespace slashing
