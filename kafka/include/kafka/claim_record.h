// ClaimRecord: the versioned record of the claims topic, its strict codec and its partition rule.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "slashing/status.h"
#include "slashing/types.h"

namespace kafka {

// kClaimRecordVersion is the first byte of every claims record (docs/kafka.md, "Claim record").
// A decoder meeting another version refuses the record.
inline constexpr uint8_t kClaimRecordVersion = 1;
// kMaxClaimsPerRecord bounds one record: one CheckAndRecord call (a multi-candidate approval
// yields one dispute claim per candidate).
inline constexpr size_t kMaxClaimsPerRecord = 64;
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
  slashing::KeyType key_type{};
  std::vector<uint8_t> public_key;  // 1..slashing::kMaxPublicKeySize bytes
  slashing::Hash256
      genesis_hash{};         // the chain the claim is for: other chains' records are skipped
  std::string signer_id;      // 0..kMaxSignerIdSize bytes, who produced it
  RequestId request_id{};     // random per call
  uint64_t time_unix_ms = 0;  // producer's clock: becomes the record's recorded_at_ms
  std::vector<slashing::Claim> claims;  // 1..kMaxClaimsPerRecord
  friend bool operator==(const ClaimRecord&, const ClaimRecord&) = default;
};

// KeyTypeForDomain is the key type whose signatures a domain protects.
slashing::KeyType KeyTypeForDomain(slashing::Domain domain);

// EncodeClaimRecord serialises `record` (format in docs/kafka.md). Fails with kInvalidArgument
// when a field is out of the bounds the decoder enforces, so nothing is produced that no signer
// would apply.
slashing::Result<std::string> EncodeClaimRecord(const ClaimRecord& record);

// DecodeClaimRecord is strict: known version, bounded sizes, known domains, digests 1..64 bytes,
// no trailing bytes. Anything else is kInvalidArgument (the bytes come from the network).
slashing::Result<ClaimRecord> DecodeClaimRecord(std::span<const uint8_t> bytes);

// ClaimPartition is the claims-topic partition of `public_key`: FNV-1a (64-bit) of the key bytes
// modulo `partition_count` (> 0). Producers set the partition themselves with it, so a key's order
// never depends on a client library's partitioner; appliers skip a record found elsewhere.
int32_t ClaimPartition(std::span<const uint8_t> public_key, int32_t partition_count);

}  // namespace kafka
