// Fuzz target: claims-topic record decoding; a record that decodes re-encodes to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "kafka/claim_record.h"
#include "slashing/record.h"
#include "slashing/types.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  auto record = kafka::DecodeClaimRecord(bytes);
  if (!record.ok()) return 0;
  // The decoder is the applier's only gate: whatever it accepts the encoder must accept too, and
  // a format with one encoding per record means every signer stores the same bytes for it.
  auto encoded = kafka::EncodeClaimRecord(*record);
  if (!encoded.ok()) std::abort();
  if (std::string_view(*encoded) != std::string_view(reinterpret_cast<const char*>(data), size)) {
    std::abort();
  }
  // A decoded record is within the bounds the header promises to every reader.
  if (record->public_key.empty() || record->public_key.size() > slashing::kMaxPublicKeySize ||
      record->signer_id.size() > kafka::kMaxSignerIdSize || record->claims.empty() ||
      record->claims.size() > kafka::kMaxClaimsPerRecord) {
    std::abort();
  }
  for (const slashing::Claim& claim : record->claims) {
    if (claim.digest.empty() || claim.digest.size() > slashing::kMaxDigestSize) std::abort();
  }
  auto again = kafka::DecodeClaimRecord(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(encoded->data()), encoded->size()));
  if (!again.ok() || !(*again == *record)) std::abort();
  return 0;
}
