// ClaimRecord: the versioned record of the claims topic, its strict codec and its partition rule.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "slashing/types.h"

namespace kafka {

// kClaimRecordVersion1 and kClaimRecordVersion2 are the first byte of a claims record
// (docs/kafka.md, "Claim record"); a decoder meeting any other version refuses the record.
// Version 1 carries at most kMaxClaimsPerRecordVersion1 claims. Version 2 adds a kind byte and a
// 16-bit claim count. Each record has exactly one encoding: version 1 whenever it fits, so signers
// not yet upgraded keep applying everything they could apply before.
inline constexpr uint8_t kClaimRecordVersion1 = 1;
inline constexpr uint8_t kClaimRecordVersion2 = 2;
// The version 2 kind byte: a record of claims, or a history administration record (an import of
// one key's interchange data, or a prune of one partition's keys) that every signer applies in
// the topic's order like claims.
inline constexpr uint8_t kClaimRecordKindClaims = 1;
inline constexpr uint8_t kClaimRecordKindImport = 2;
inline constexpr uint8_t kClaimRecordKindPrune = 3;
// kMaxImportJsonSize bounds the interchange text of one import record, below Kafka's default
// 1 MB message size with room for the header.
inline constexpr size_t kMaxImportJsonSize = 900 * 1024;
// kMaxClaimsPerRecordVersion1 is the most claims a version 1 record carries (its count is a byte,
// and signers before version 2 refused more).
inline constexpr size_t kMaxClaimsPerRecordVersion1 = 64;
// kMaxClaimsPerRecord bounds one record: one CheckAndRecord call. A multi-candidate approval
// yields one dispute claim per candidate and the classifier accepts up to 1024 candidates; 4096
// leaves room while the largest record (4096 claims with 64-byte digests, about 470 KB) stays
// below Kafka's default 1 MB message size.
inline constexpr size_t kMaxClaimsPerRecord = 4096;
// kMaxSignerIdSize bounds the signer id carried in a record.
inline constexpr size_t kMaxSignerIdSize = 128;
// kRequestIdSize is the size of the random id that lets a signer find its own record.
inline constexpr size_t kRequestIdSize = 16;
using RequestId = std::array<uint8_t, kRequestIdSize>;

// ClaimRecord is one CheckAndRecord call of one signer: every claim of one public key, applied
// atomically by every signer in the topic's order.
struct ClaimRecord {
  // key_type is the key type the claims' domain belongs to (babe, gran, beef, para), for readers
  // of the topic; the rule itself is keyed by (public key, domain).
  base::KeyTypeId key_type{};
  std::vector<uint8_t> public_key;  // 1..slashing::kMaxPublicKeySize bytes
  base::Hash256 genesis_hash{};     // the chain the claim is for: other chains' records are skipped
  std::string signer_id;            // 0..kMaxSignerIdSize bytes, who produced it
  RequestId request_id{};           // random per call
  uint64_t time_unix_ms = 0;        // producer's clock: becomes the record's recorded_at_ms
  std::vector<slashing::Claim> claims;  // 1..kMaxClaimsPerRecord
  friend bool operator==(const ClaimRecord&, const ClaimRecord&) = default;
};

// ImportRecord merges interchange data of one public key into every signer's history
// (slashing::ImportHistory: union of records, conflicting digests kept and refused from then on,
// watermarks raised to the maximum). Produced by `signerctl history import` in Kafka mode, on the
// key's partition, so it is ordered with the key's claims.
struct ImportRecord {
  std::vector<uint8_t> public_key;  // 1..slashing::kMaxPublicKeySize bytes
  base::Hash256 genesis_hash{};
  std::string signer_id;  // 0..kMaxSignerIdSize bytes, who produced it
  RequestId request_id{};
  uint64_t time_unix_ms = 0;
  // An interchange document (docs/interchange.md) holding exactly this public key, at most
  // kMaxImportJsonSize bytes. The applier parses it strictly; one that does not parse, or holds
  // another key or chain, is skipped by every signer alike.
  std::string interchange_json;
  friend bool operator==(const ImportRecord&, const ImportRecord&) = default;
};

// PruneRecord raises one domain's watermark to `below` for every key of its partition that has
// history in that domain and deletes the records below it (slashing::PruneBelow, restricted to
// the partition's keys). `signerctl history prune` produces one per partition: each partition's
// keys are then pruned at one point of that partition's order, the same on every signer.
struct PruneRecord {
  base::Hash256 genesis_hash{};
  std::string signer_id;
  RequestId request_id{};
  uint64_t time_unix_ms = 0;
  int32_t partition = 0;        // the partition it was produced to; elsewhere it is skipped
  int32_t partition_count = 0;  // the topic's count when produced; another count is skipped
  slashing::Domain domain = slashing::Domain::kBabe;
  slashing::Watermark below;
  friend bool operator==(const PruneRecord&, const PruneRecord&) = default;
};

// ClaimsTopicRecordKind is what PeekClaimsTopicRecordKind finds in a record's first bytes.
enum class ClaimsTopicRecordKind { kClaims, kImport, kPrune, kUnknown };

// PeekClaimsTopicRecordKind looks only at the version and kind bytes; the matching decoder still
// checks everything.
ClaimsTopicRecordKind PeekClaimsTopicRecordKind(std::span<const uint8_t> bytes);

// EncodeImportRecord / EncodePruneRecord serialise (docs/kafka.md); kInvalidArgument for a field
// out of the bounds the decoders enforce.
base::Result<std::string> EncodeImportRecord(const ImportRecord& record);
base::Result<std::string> EncodePruneRecord(const PruneRecord& record);

// DecodeImportRecord / DecodePruneRecord are strict like DecodeClaimRecord (the interchange text
// itself is parsed by the applier). kInvalidArgument for anything else.
base::Result<ImportRecord> DecodeImportRecord(std::span<const uint8_t> bytes);
base::Result<PruneRecord> DecodePruneRecord(std::span<const uint8_t> bytes);

// KeyTypeForDomain is the key type whose signatures a domain protects.
base::KeyTypeId KeyTypeForDomain(slashing::Domain domain);

// EncodeClaimRecord serialises `record` (format in docs/kafka.md): version 1 for at most
// kMaxClaimsPerRecordVersion1 claims, version 2 above. Fails with kInvalidArgument when a field is
// out of the bounds the decoder enforces, so nothing is produced that no signer would apply.
base::Result<std::string> EncodeClaimRecord(const ClaimRecord& record);

// DecodeClaimRecord is strict: known version (and kind), bounded sizes, known domains, positions of
// the shape their domain allows in the history store (a candidate hash only for disputes, a minor
// part only for GRANDPA and BEEFY), digests 1..64 bytes, no trailing bytes, and a version 2 record
// only for what version 1 cannot carry (one encoding per record). Anything else is
// kInvalidArgument (the bytes come from the network).
base::Result<ClaimRecord> DecodeClaimRecord(std::span<const uint8_t> bytes);

// ClaimPartition is the claims-topic partition of `public_key`: FNV-1a (64-bit) of the key bytes
// modulo `partition_count` (> 0). Producers set the partition themselves with it, so a key's order
// never depends on a client library's partitioner; appliers skip a record found elsewhere.
int32_t ClaimPartition(std::span<const uint8_t> public_key, int32_t partition_count);

}  // namespace kafka
