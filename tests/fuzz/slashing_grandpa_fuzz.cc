// Fuzz target: the GRANDPA classifier on arbitrary messages.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "slashing/classify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto result = slashing::ClassifyGrandpa(std::span<const uint8_t>(data, size), std::nullopt);
  if (result.kind == slashing::ClassificationKind::kProtected) {
    // Only a 53-byte prevote or precommit is protected, with a 36-byte (hash, number) digest.
    if (size != 53 || data[0] > 1 || result.claims.size() != 1 ||
        result.claims[0].digest.size() != 36) {
      std::abort();
    }
  }
  return 0;
}
