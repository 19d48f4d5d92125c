// Fuzz target: the parachain classifier (BKNG, APPR, DISP, VCPC, bitfields) on arbitrary messages.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "slashing/classify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto result = slashing::ClassifyPara(std::span<const uint8_t>(data, size), std::nullopt);
  if (result.kind == slashing::ClassificationKind::kProtected) {
    if (result.claims.empty()) std::abort();
    for (const auto& claim : result.claims) {
      // Every parachain claim lives in the dispute domain with a one-byte valid/invalid digest.
      if (claim.domain != slashing::Domain::kDispute || claim.digest.size() != 1 ||
          claim.digest[0] > 1 || claim.position.minor != 0) {
        std::abort();
      }
    }
  }
  return 0;
}
