// Views between text and bytes, for protobuf bytes fields, PEM text and signatures in tests.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace support {

// AsBytes views the characters of `text` as bytes (no copy; `text` must outlive the view).
inline std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// AsString copies bytes into a string, as protobuf bytes fields hold them.
inline std::string AsString(std::span<const uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace support
