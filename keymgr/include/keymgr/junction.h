// Derivation junctions: the 32-byte chain codes that `//hard` and `/soft` path segments become.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace keymgr {

inline constexpr size_t kChainCodeSize = 32;
using ChainCode = std::array<uint8_t, kChainCodeSize>;

// DeriveJunction is one path segment: a chain code and whether it is hard (`//`) or soft (`/`).
struct DeriveJunction {
  ChainCode chain_code{};
  bool hard = false;

  // FromText encodes `text` as Substrate does: a decimal that fits in u64 becomes its 8-byte LE
  // form, anything else SCALE(String); the result is zero-padded to 32 bytes, or blake2_256'd if
  // longer.
  static DeriveJunction FromText(std::string_view text, bool hard);
};

}  // namespace keymgr
