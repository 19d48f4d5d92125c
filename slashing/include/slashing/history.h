// Whole-history operations on a HistoryStore: genesis binding, pruning and a summary for operators.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>

#include "base/status.h"
#include "slashing/history_store.h"
#include "slashing/types.h"

namespace slashing {

// kStoreFormatVersion is written under the format meta key of every store.
inline constexpr uint8_t kStoreFormatVersion = 1;

// BindGenesis ties a store to one chain: an empty store records `genesis` (synced); a store bound
// to another genesis hash, or written in an unknown format, fails with kFailedPrecondition.
// Not safe to run concurrently with writers of the same store.
base::Status BindGenesis(HistoryStore& store, const base::Hash256& genesis);
// ReadGenesis returns the bound genesis hash, nullopt for an unbound store.
base::Result<std::optional<base::Hash256>> ReadGenesis(HistoryStore& store);

// HistoryInstanceId names this store among all histories: 32 lower-case hex digits, drawn at random
// and written (synced) the first time it is asked for, then read back. Two stores share an id only
// if one was copied from the other; a gateway pools signers by it (docs/gateway.md). Interchange
// export and import do not carry it. Not safe to run concurrently with itself on one store.
base::Result<std::string> HistoryInstanceId(HistoryStore& store);

// ReadWatermark returns the watermark of (public key, domain), nullopt if none.
base::Result<std::optional<Watermark>> ReadWatermark(HistoryStore& store,
                                                     std::span<const uint8_t> public_key,
                                                     Domain domain);

struct PruneReport {
  uint64_t keys = 0;             // public keys whose watermark was raised
  uint64_t records_deleted = 0;  // records below the new watermark that were deleted
};

// PruneBelow raises to `below` the watermark of every public key that has history in `domain`,
// then deletes that domain's records below it. The watermarks are synced first, the deletions
// second (as Web3Signer's pruner does), so a crash in between leaves refusing watermarks rather
// than a forgotten position. Not safe to run concurrently with writers of the same store.
base::Result<PruneReport> PruneBelow(HistoryStore& store, Domain domain, const Watermark& below);

// HistorySummary is what `signerctl history inspect` prints.
struct HistorySummary {
  std::optional<base::Hash256> genesis;
  uint64_t public_keys = 0;
  std::map<Domain, uint64_t> records;     // records per domain
  std::map<Domain, uint64_t> conflicted;  // conflicted positions per domain
  std::map<Domain, uint64_t> watermarks;  // keys with a watermark per domain
  std::optional<uint64_t> oldest_recorded_at_ms;
  std::optional<uint64_t> newest_recorded_at_ms;
};

// Summarize walks the whole store. kCorruption if any key or value does not decode.
base::Result<HistorySummary> Summarize(HistoryStore& store);

}  // namespace slashing
