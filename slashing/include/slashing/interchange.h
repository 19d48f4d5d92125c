// Interchange: the JSON file that moves protection history between signers (docs/interchange.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "slashing/history_store.h"
#include "slashing/types.h"

namespace slashing {

// kInterchangeFormat / kInterchangeVersion identify the file format in its metadata.
inline constexpr std::string_view kInterchangeFormat = "substrate-slashing-protection";
inline constexpr std::string_view kInterchangeVersion = "1";
// kMaxInterchangeSize bounds the JSON text we agree to parse.
inline constexpr size_t kMaxInterchangeSize = 256u << 20;

struct InterchangeRecord {
  Position position;
  std::vector<std::vector<uint8_t>> digests;  // one normally; several = conflicted position
  uint64_t recorded_at_ms = 0;
  friend bool operator==(const InterchangeRecord&, const InterchangeRecord&) = default;
};

struct InterchangeDomain {
  Domain domain = Domain::kBabe;
  std::optional<Watermark> watermark;
  std::vector<InterchangeRecord> records;
  friend bool operator==(const InterchangeDomain&, const InterchangeDomain&) = default;
};

struct InterchangeKey {
  std::vector<uint8_t> public_key;
  std::vector<InterchangeDomain> domains;
  friend bool operator==(const InterchangeKey&, const InterchangeKey&) = default;
};

struct Interchange {
  base::Hash256 genesis_hash{};
  std::vector<InterchangeKey> keys;
  friend bool operator==(const Interchange&, const Interchange&) = default;
};

// ParseInterchange parses untrusted JSON strictly: unknown fields, wrong types, malformed hex or
// decimal strings, out-of-range sizes and duplicate keys/domains/positions all fail with
// kInvalidArgument. Never throws. Thread-safe.
base::Result<Interchange> ParseInterchange(std::string_view json);
// SerializeInterchange writes the canonical JSON form (what ParseInterchange accepts).
std::string SerializeInterchange(const Interchange& interchange);

// ExportWindow selects records by recorded_at_ms in [from_ms, to_ms); empty bounds are open.
// Watermarks are always exported.
struct ExportWindow {
  std::optional<uint64_t> from_ms;
  std::optional<uint64_t> to_ms;
};

// ExportHistory reads the store (bound to `genesis`, else kFailedPrecondition) into an
// Interchange. Not safe concurrently with writers of the same store.
base::Result<Interchange> ExportHistory(HistoryStore& store, const base::Hash256& genesis,
                                        const ExportWindow& window = {});

struct ImportReport {
  uint64_t records_added = 0;      // positions that were new to the store
  uint64_t records_unchanged = 0;  // positions already recorded with the same digest(s)
  uint64_t conflicts = 0;          // positions that became (or stayed) conflicted
  uint64_t watermarks_raised = 0;
  uint64_t records_below_watermark = 0;  // skipped: refused by the merged watermark anyway
};

// ImportHistory merges `interchange` into the store in one synced batch: union of records; a
// different digest at a recorded position keeps both and marks the position conflicted (refused
// from then on); watermarks move to the maximum. A file for another genesis hash, or a store bound
// to another one, fails with kFailedPrecondition and changes nothing. Not safe concurrently with
// writers of the same store.
base::Result<ImportReport> ImportHistory(HistoryStore& store, const base::Hash256& genesis,
                                         const Interchange& interchange);

}  // namespace slashing
