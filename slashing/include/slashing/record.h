// The stored form of protection history: keys and versioned values (docs/history-format.md).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "slashing/types.h"

namespace slashing {

// kMaxPublicKeySize bounds stored public keys (sr25519/ed25519 32 bytes, ecdsa 33).
inline constexpr size_t kMaxPublicKeySize = 64;
// kMaxDigestsPerRecord bounds how many conflicting digests one imported position may carry.
inline constexpr size_t kMaxDigestsPerRecord = 16;
// kRecordFormatVersion is the version byte written in every record and watermark value.
inline constexpr uint8_t kRecordFormatVersion = 1;

// StoredRecord is what is remembered at one (public key, domain, position). Normally one digest;
// an import that met a different digest keeps both and marks the position conflicted, after which
// every request at that position is refused.
struct StoredRecord {
  std::vector<std::vector<uint8_t>> digests;  // distinct, 1..kMaxDigestsPerRecord
  uint64_t recorded_at_ms = 0;                // wall clock when first recorded (unix ms)
  bool conflicted() const { return digests.size() > 1; }
  friend bool operator==(const StoredRecord&, const StoredRecord&) = default;
};

// RecordKey names one record; EncodeRecordKey orders keys by public key, domain, then position
// (big-endian), so a prefix scan walks one key's domain in position order.
struct RecordKey {
  std::vector<uint8_t> public_key;
  Domain domain = Domain::kBabe;
  Position position;
  friend bool operator==(const RecordKey&, const RecordKey&) = default;
};

std::string EncodeRecordKey(const RecordKey& key);
// DecodeRecordKey fails with kCorruption on anything EncodeRecordKey could not have produced.
base::Result<RecordKey> DecodeRecordKey(std::string_view bytes);
// RecordKeyPrefix is the prefix of every record of one public key (and domain, if given).
std::string RecordKeyPrefix(std::span<const uint8_t> public_key, std::optional<Domain> domain);
// kRecordKeyTag / kWatermarkKeyTag / kMetaKeyTag are the first byte of each kind of key.
inline constexpr char kRecordKeyTag = 'R';
inline constexpr char kWatermarkKeyTag = 'W';
inline constexpr char kMetaKeyTag = 'M';

std::string EncodeRecordValue(const StoredRecord& record);
// DecodeRecordValue is strict: known version, known flags, bounded and distinct digests, no
// trailing bytes. Anything else is kCorruption.
base::Result<StoredRecord> DecodeRecordValue(std::string_view bytes);

// WatermarkKey: one per (public key, domain).
std::string EncodeWatermarkKey(std::span<const uint8_t> public_key, Domain domain);
struct WatermarkKey {
  std::vector<uint8_t> public_key;
  Domain domain = Domain::kBabe;
};
base::Result<WatermarkKey> DecodeWatermarkKey(std::string_view bytes);
std::string EncodeWatermarkValue(const Watermark& watermark);
base::Result<Watermark> DecodeWatermarkValue(std::string_view bytes);

// Meta keys: the store's format version, the chain genesis hash it protects and the random id it
// was created with.
std::string MetaFormatKey();
std::string MetaGenesisKey();
std::string MetaInstanceKey();

}  // namespace slashing
