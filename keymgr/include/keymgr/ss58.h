// SS58 address encoding and decoding (base58 with a blake2b-512 checksum and a network prefix).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace keymgr {

inline constexpr uint16_t kSs58GenericPrefix = 42;
inline constexpr uint16_t kSs58PolkadotPrefix = 0;
inline constexpr uint16_t kSs58KusamaPrefix = 2;

// Ss58Encode encodes `public_key` (32 or 33 bytes) for network `prefix` (0..16383; 46 and 47 are
// reserved). Fails with kInvalidArgument on a reserved or out-of-range prefix or a wrong key
// length.
base::Result<std::string> Ss58Encode(std::span<const uint8_t> public_key, uint16_t prefix);

struct Ss58Address {
  uint16_t prefix = 0;
  std::vector<uint8_t> public_key;  // 32 or 33 bytes
};

// Ss58Decode parses an address produced by Ss58Encode. Fails with kInvalidArgument on a bad base58
// character, a bad checksum, a reserved prefix or an unsupported length. Never crashes on any
// input.
base::Result<Ss58Address> Ss58Decode(std::string_view address);

}  // namespace keymgr
