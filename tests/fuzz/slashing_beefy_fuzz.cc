// Fuzz target: the BEEFY classifier, with the input as the commitment preimage.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "base/hash.h"
#include "slashing/classify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> preimage(data, size);
  const auto prehash = base::Keccak256(preimage);
  const auto result = slashing::ClassifyBeefy(prehash, preimage);
  if (result.kind == slashing::ClassificationKind::kPreimageMismatch) std::abort();
  if (result.kind == slashing::ClassificationKind::kProtected &&
      (result.claims.size() != 1 || result.claims[0].position.minor > UINT32_MAX)) {
    std::abort();
  }
  auto wrong = prehash;
  wrong[31] ^= 1;
  if (slashing::ClassifyBeefy(wrong, preimage).kind == slashing::ClassificationKind::kProtected) {
    std::abort();
  }
  return 0;
}
