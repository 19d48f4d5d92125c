// Fuzz target: claims-topic record decoding (claims, import and prune records); a record that
// decodes re-encodes to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "kafka/claim_record.h"
#include "slashing/interchange.h"
#include "slashing/record.h"
#include "slashing/types.h"

namespace {

bool SameBytes(const std::string& encoded, const uint8_t* data, size_t size) {
  return std::string_view(encoded) == std::string_view(reinterpret_cast<const char*>(data), size);
}

std::span<const uint8_t> AsBytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

void CheckClaims(const uint8_t* data, size_t size) {
  auto record = kafka::DecodeClaimRecord(std::span(data, size));
  if (!record.ok()) return;
  // The decoder is the applier's only gate: whatever it accepts the encoder must accept too, and
  // a format with one encoding per record means every signer stores the same bytes for it.
  auto encoded = kafka::EncodeClaimRecord(*record);
  if (!encoded.ok() || !SameBytes(*encoded, data, size)) std::abort();
  // A decoded record is within the bounds the header promises to every reader.
  if (record->public_key.empty() || record->public_key.size() > slashing::kMaxPublicKeySize ||
      record->signer_id.size() > kafka::kMaxSignerIdSize || record->claims.empty() ||
      record->claims.size() > kafka::kMaxClaimsPerRecord) {
    std::abort();
  }
  for (const slashing::Claim& claim : record->claims) {
    if (claim.digest.empty() || claim.digest.size() > slashing::kMaxDigestSize) std::abort();
  }
  auto again = kafka::DecodeClaimRecord(AsBytes(*encoded));
  if (!again.ok() || !(*again == *record)) std::abort();
}

void CheckImport(const uint8_t* data, size_t size) {
  auto record = kafka::DecodeImportRecord(std::span(data, size));
  if (!record.ok()) return;
  auto encoded = kafka::EncodeImportRecord(*record);
  if (!encoded.ok() || !SameBytes(*encoded, data, size)) std::abort();
  if (record->public_key.empty() || record->public_key.size() > slashing::kMaxPublicKeySize ||
      record->interchange_json.empty() ||
      record->interchange_json.size() > kafka::kMaxImportJsonSize) {
    std::abort();
  }
  // The applier parses the text next; it must refuse, never crash.
  (void)slashing::ParseInterchange(record->interchange_json);
}

void CheckPrune(const uint8_t* data, size_t size) {
  auto record = kafka::DecodePruneRecord(std::span(data, size));
  if (!record.ok()) return;
  auto encoded = kafka::EncodePruneRecord(*record);
  if (!encoded.ok() || !SameBytes(*encoded, data, size)) std::abort();
  if (record->partition < 0 || record->partition >= record->partition_count) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Every decoder sees every input: each must refuse what is not its kind.
  CheckClaims(data, size);
  CheckImport(data, size);
  CheckPrune(data, size);
  const auto kind = kafka::PeekClaimsTopicRecordKind(std::span(data, size));
  if (kind == kafka::ClaimsTopicRecordKind::kImport &&
      kafka::DecodeClaimRecord(std::span(data, size)).ok()) {
    std::abort();
  }
  return 0;
}
