// ReplicatedHistoryLog: a HistoryLog whose decisions are made in the order of a Kafka claims topic.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "slashing/history_log.h"
#include "slashing/history_store.h"
#include "slashing/types.h"

namespace kafka {

// ReplicatedHistoryLogOptions configures a ReplicatedHistoryLog (docs/kafka.md).
struct ReplicatedHistoryLogOptions {
  std::string brokers;  // bootstrap servers, comma-separated HOST:PORT; required
  std::string claims_topic = "signer-claims";
  std::string signer_id;         // written into every claim this signer produces
  base::Hash256 genesis_hash{};  // the store's chain; records of other chains are skipped
  std::chrono::milliseconds claim_timeout{2'000};
  // How long Open waits for the topic's metadata (partition count) before failing.
  std::chrono::milliseconds metadata_timeout{10'000};
  // Extra librdkafka properties (TLS, SASL, ...) for both clients. The ones the ordering and
  // durability depend on (acks, idempotence, retries, partitioner, offsets) are refused.
  std::vector<std::pair<std::string, std::string>> properties;
  // warning receives one-line reports of skipped records and applier trouble (rate-limited by the
  // caller if it wants). Empty: stderr. Called on the log's own threads.
  std::function<void(std::string_view message)> warning;
  // stopped is called once, on the applier's thread, when the applier stops for good (the topic no
  // longer holds records the history needs): every later claim fails until the history is rebuilt,
  // so the caller can stop reporting itself able to sign.
  std::function<void(const base::Status& cause)> stopped;
};

// ReplicatedHistoryLogStats is a snapshot of the counters (all since Open).
struct ReplicatedHistoryLogStats {
  int64_t consumer_lag = 0;        // high watermark minus applied offset, summed over partitions
  uint64_t claims_produced = 0;    // own records sent
  uint64_t claims_won = 0;         // own records applied with every claim allowed
  uint64_t claims_lost = 0;        // own records applied with a refused claim
  uint64_t claims_timed_out = 0;   // own records not applied within claim_timeout
  uint64_t claims_failed = 0;      // own records the producer could not deliver
  uint64_t precheck_refused = 0;   // calls refused by the local history, nothing produced
  uint64_t precheck_resigned = 0;  // identical re-signs answered locally, nothing produced
  uint64_t records_applied = 0;    // records applied from every signer
  uint64_t history_records_applied = 0;  // of those, imports and prunes (signerctl history)
  uint64_t records_skipped = 0;          // undecodable, other genesis, or on the wrong partition
  uint64_t synced_batches = 0;           // store batches written by the applier
  uint64_t store_write_failures = 0;     // failed applier batches (retried)
  // Records naming this signer and one of its waiting requests that are not the record it
  // produced (another key, claims or partition): applied like any record, but they answer no one.
  uint64_t own_records_mismatched = 0;
};

// ReplicatedHistoryLog sends each CheckAndRecord call that the local history does not already
// answer to the claims topic as one ClaimRecord, and answers with the verdicts the record got when
// the applier reached it. The applier thread reads every partition of the topic in order and
// applies every record (from every signer) to the store with the one rule, decided by
// slashing::ClaimBatch as LocalHistoryLog decides, writing the records and the next offset of each
// partition in one synced batch, so a restart resumes exactly where it stopped. Import and prune
// records (`signerctl history import|prune` in Kafka mode, see replicated_admin.h) are applied in
// the same order, each on its own between two groups, so every signer's history holds the same
// records. The store must not be written by anyone else while the log is open.
// Thread-safe.
class ReplicatedHistoryLog : public slashing::HistoryLog {
 public:
  // Open binds `store` (which must outlive the log and already be bound to the genesis hash) to
  // the topic: the first start records the topic name and partition count; a later start with
  // another topic name or count fails with kFailedPrecondition (keys would move between
  // partitions). Fails with kIoError if the topic's metadata cannot be read within
  // metadata_timeout, kInvalidArgument on bad options. Starts the producer and the applier.
  static base::Result<std::unique_ptr<ReplicatedHistoryLog>> Open(
      slashing::HistoryStore& store, ReplicatedHistoryLogOptions options);
  ~ReplicatedHistoryLog() override;
  ReplicatedHistoryLog(const ReplicatedHistoryLog&) = delete;
  ReplicatedHistoryLog& operator=(const ReplicatedHistoryLog&) = delete;

  // CheckAndRecord: a local refusal or an identical re-sign is answered from the store without
  // producing. Otherwise the claims go to the topic and the verdicts are those the record got in
  // log order; only the record produced here (the same bytes, on its key's partition) answers,
  // never another record that copies this signer's id and request id. kIoError if the record
  // could not be produced or was not applied within claim_timeout, or if the applier has stopped:
  // the caller must not sign. A record applied after its caller gave up still takes its positions
  // (safe: nothing was signed for it).
  base::Result<std::vector<slashing::Verdict>> CheckAndRecord(
      std::span<const uint8_t> public_key, std::span<const slashing::Claim> claims,
      uint64_t now_unix_ms) override;

  // WaitUntilCaughtUp reads every partition's high watermark and returns once the applier has
  // applied up to them. kIoError after `timeout` or if the applier has stopped. A call that times
  // out keeps the watermarks it read for the next call, so a caller that retries in short slices
  // arrives even while the topic keeps growing; a call that succeeds forgets them.
  base::Status WaitUntilCaughtUp(std::chrono::milliseconds timeout);

  // SetClaimRoundTripObserver receives, for each own record applied, the time from produce to
  // applied. Set it before the first CheckAndRecord; it runs on the caller's thread.
  void SetClaimRoundTripObserver(std::function<void(std::chrono::nanoseconds)> observer);

  // DeferSyncs makes the applier write its batches of claims without a sync (the records and the
  // offsets they advance, in one atomic batch, so a power cut loses both together and the lost
  // records are consumed again from the topic). An own claim is then applied and binding when
  // CheckAndRecord returns, and durable on this machine after the caller's next
  // HistoryStore::SyncWrites: signerd makes that sync in each audit group before any signature of
  // the group leaves (docs/signerd.md, "One synced write per request"). Cannot be undone.
  void DeferSyncs();

  ReplicatedHistoryLogStats stats() const;

  // partition_count is the claims topic's partition count, fixed for the store's life.
  int32_t partition_count() const;

  // ClusterId is the id of the Kafka cluster the claims topic lives in, as its brokers report it;
  // "" while the client has not learnt it yet. Two signers share one history only if they read
  // the same topic of the same cluster.
  std::string ClusterId() const;

 private:
  class Impl;
  explicit ReplicatedHistoryLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kafka
