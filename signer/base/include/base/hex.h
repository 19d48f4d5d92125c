// Strict hex encoding and decoding of byte strings for CLI, config and test-vector input.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace base {

// HexEncode returns lower-case hex without a prefix.
std::string HexEncode(std::span<const uint8_t> bytes);

// HexDecode accepts an optional "0x" prefix and an even number of hex digits (either case).
// Fails with kInvalidArgument on anything else, including whitespace.
Result<std::vector<uint8_t>> HexDecode(std::string_view text);

}  // namespace base
