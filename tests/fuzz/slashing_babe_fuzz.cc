// Fuzz target: the BABE seal classifier, with the input as the header preimage.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "base/hash.h"
#include "slashing/classify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> preimage(data, size);
  // With the right hash the fuzzer reaches the header decoder.
  const auto hash = base::Blake2b256(preimage);
  const auto result = slashing::ClassifyBabeSeal(hash, preimage);
  if (result.kind == slashing::ClassificationKind::kPreimageMismatch) std::abort();
  if (result.kind == slashing::ClassificationKind::kProtected &&
      (result.claims.size() != 1 ||
       !std::equal(hash.begin(), hash.end(), result.claims[0].digest.begin()))) {
    std::abort();
  }
  // With a wrong hash nothing may be protected.
  auto wrong = hash;
  wrong[0] ^= 1;
  if (slashing::ClassifyBabeSeal(wrong, preimage).kind ==
      slashing::ClassificationKind::kProtected) {
    std::abort();
  }
  return 0;
}
