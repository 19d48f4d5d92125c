// ClaimBatch: the one protection rule applied to a batch of claims against a HistoryStore.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "slashing/history_store.h"
#include "slashing/record.h"
#include "slashing/types.h"

namespace slashing {

// EvaluateClaim is the one rule, shared by every HistoryLog: below the watermark is refused; then a
// conflicted position is refused; then the same digest is a re-sign and another digest an
// equivocation (typed by domain). `existing_digests` is null when nothing is recorded. Pure and
// thread-safe; it cannot fail.
Verdict EvaluateClaim(const Claim& claim, const std::vector<std::vector<uint8_t>>* existing_digests,
                      const std::optional<Watermark>& watermark);

// ClaimBatch decides the requests that one synced store batch will record, in the order they are
// applied, and collects the writes that record them. A request is every claim of one public key
// (one HistoryLog::CheckAndRecord call, one claims record): it is decided all-or-nothing against
// the store plus every record staged earlier in the same batch (earlier requests and its own
// earlier claims), so two conflicting requests in one batch cannot both win. The batch never
// writes: its owner writes writes() with HistoryStore::WriteSynced and reports "allowed" only once
// that succeeded. The store must not be changed by anyone else between the first Apply and that
// write, or the verdicts may be stale. Thread-compatible: one thread at a time.
class ClaimBatch {
 public:
  // ClaimBatch reads `store`, which must outlive it. It never writes to it.
  explicit ClaimBatch(HistoryStore& store);

  // Apply decides one request: one verdict per claim, in order, each claim seeing the records
  // staged before it (including those of this request's earlier claims). If every verdict is
  // allowed the request's new records (recorded_at_ms = `now_unix_ms`) are staged: later requests
  // see them and writes() holds them. If any verdict is a refusal nothing of the request is staged;
  // identical re-signs never stage anything. Fails with kIoError or kCorruption if the store cannot
  // be read or holds a record or watermark that does not decode; then nothing of this request is
  // staged and the batch stays usable for other requests. Arguments are not validated here (the
  // HistoryLog checks key and digest sizes).
  base::Result<std::vector<Verdict>> Apply(std::span<const uint8_t> public_key,
                                           std::span<const Claim> claims, uint64_t now_unix_ms);

  // Evaluate returns the verdict one claim would get now against the store plus what is staged,
  // and stages nothing (a precheck). Fails as Apply does.
  base::Result<Verdict> Evaluate(std::span<const uint8_t> public_key, const Claim& claim);

  // writes returns the encoded records staged so far, in staging order (request by request, each
  // request's records in key order). Empty when nothing was staged. Never fails.
  const StoreBatch& writes() const { return writes_; }

  // TakeWrites moves writes() out (for an owner that appends writes of its own, such as consumer
  // offsets). Later Apply calls still see what was staged; writes() then holds only what is staged
  // after this call. Never fails.
  StoreBatch TakeWrites();

 private:
  base::Result<std::optional<Watermark>> LoadWatermark(std::span<const uint8_t> public_key,
                                                       Domain domain);
  base::Result<std::optional<StoredRecord>> LoadRecord(const std::string& key);

  HistoryStore& store_;
  // Staged records by encoded record key: what earlier requests of this batch will write.
  std::map<std::string, StoredRecord> staged_;
  // Watermarks read so far by encoded watermark key (nullopt: none stored); a batch never writes
  // watermarks, so what was read stays true for the batch.
  std::map<std::string, std::optional<Watermark>> watermarks_;
  StoreBatch writes_;
};

}  // namespace slashing
