// Fuzzes SURI parsing and key derivation (ParseSuri, RootSecretFromSuri, KeypairFromSuri).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "keymgr/keypair.h"
#include "keymgr/suri.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  // The first byte picks the scheme: each derivation runs PBKDF2, so doing all three per input
  // would cut the fuzzer's speed to a third for little extra coverage.
  constexpr base::Scheme kSchemes[] = {base::Scheme::kSr25519, base::Scheme::kEd25519,
                                       base::Scheme::kEcdsa};
  const base::Scheme scheme = kSchemes[data[0] % 3];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  auto parsed = keymgr::ParseSuri(text);
  if (parsed.ok()) {
    auto root = keymgr::RootSecretFromSuri(*parsed);
    if (root.ok() && root->size() != 32) {
      __builtin_trap();  // every root secret is a 32-byte seed or mini-secret
    }
  }
  auto keypair = keymgr::KeypairFromSuri(scheme, text);
  if (keypair.ok()) {
    // A SURI that yields a key must also parse, and the key must have the scheme's shape.
    if (!parsed.ok() || keypair->scheme() != scheme ||
        keypair->public_key().size() != base::PublicKeySize(scheme)) {
      __builtin_trap();
    }
  }
  return 0;
}
