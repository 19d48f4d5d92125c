// Fuzzes SS58 decoding; whatever decodes must re-encode to exactly the same address.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "keymgr/ss58.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view address(reinterpret_cast<const char*>(data), size);
  auto decoded = keymgr::Ss58Decode(address);
  if (!decoded.ok()) {
    return 0;
  }
  // Accepting two spellings of one key would let an address compare unequal to itself elsewhere.
  auto encoded = keymgr::Ss58Encode(decoded->public_key, decoded->prefix);
  if (!encoded.ok() || *encoded != address) {
    __builtin_trap();
  }
  return 0;
}
