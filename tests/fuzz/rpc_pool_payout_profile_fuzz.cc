// Fuzzes the payout's readers of operator-supplied text: the chain profile and payee accounts.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rpc_pool/payout.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto profile = rpc_pool::ParseChainProfile(text);
  if (profile.ok()) {
    // A profile the parser accepts always binds the transaction to a chain, runtime and nonce.
    if (profile->signed_extensions.size() < 5) __builtin_trap();
  }
  // The first byte picks the network prefix, the rest is an account as a points file gives it.
  if (size > 0) {
    (void)rpc_pool::ParseAccount(text.substr(1), static_cast<uint16_t>(data[0] % 4));
  }
  return 0;
}
