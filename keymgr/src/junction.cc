// Junction text to chain code, byte-exact with sp_core's `impl From<&str> for DeriveJunction`.
#include "keymgr/junction.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "base/hash.h"

namespace keymgr {
namespace {

// ParseU64 mirrors Rust's `str::parse::<u64>`: ASCII digits with an optional leading '+', no
// whitespace, and no overflow. Leading zeros are fine, so "007" and "7" name the same junction.
std::optional<uint64_t> ParseU64(std::string_view text) {
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
  }
  if (text.empty()) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const auto digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 + digit;
  }
  return value;
}

// AppendScaleCompact appends SCALE's compact encoding of a length (the prefix of a SCALE String).
void AppendScaleCompact(std::vector<uint8_t>& out, uint64_t value) {
  if (value < (uint64_t{1} << 6)) {
    out.push_back(static_cast<uint8_t>(value << 2));
  } else if (value < (uint64_t{1} << 14)) {
    const auto encoded = static_cast<uint16_t>((value << 2) | 0b01);
    out.push_back(static_cast<uint8_t>(encoded));
    out.push_back(static_cast<uint8_t>(encoded >> 8));
  } else if (value < (uint64_t{1} << 30)) {
    const auto encoded = static_cast<uint32_t>((value << 2) | 0b10);
    for (int shift = 0; shift < 32; shift += 8) {
      out.push_back(static_cast<uint8_t>(encoded >> shift));
    }
  } else {
    // Big-integer mode: the low six bits of the first byte carry (number of value bytes - 4).
    uint8_t value_bytes = 4;
    while (value_bytes < 8 && (value >> (8 * value_bytes)) != 0) {
      ++value_bytes;
    }
    out.push_back(static_cast<uint8_t>(((value_bytes - 4) << 2) | 0b11));
    for (uint8_t i = 0; i < value_bytes; ++i) {
      out.push_back(static_cast<uint8_t>(value >> (8 * i)));
    }
  }
}

}  // namespace

DeriveJunction DeriveJunction::FromText(std::string_view text, bool hard) {
  std::vector<uint8_t> encoded;
  if (const std::optional<uint64_t> number = ParseU64(text)) {
    for (int shift = 0; shift < 64; shift += 8) {
      encoded.push_back(static_cast<uint8_t>(*number >> shift));
    }
  } else {
    AppendScaleCompact(encoded, text.size());
    encoded.insert(encoded.end(), text.begin(), text.end());
  }

  DeriveJunction junction;
  junction.hard = hard;
  if (encoded.size() > kChainCodeSize) {
    junction.chain_code = base::Blake2b256(encoded);
  } else {
    std::copy(encoded.begin(), encoded.end(), junction.chain_code.begin());
  }
  return junction;
}

}  // namespace keymgr
