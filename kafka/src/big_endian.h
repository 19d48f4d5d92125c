// Big-endian unsigned integers: the byte order of claims topic records and the applier's meta keys.
#pragma once

#include <cassert>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>

namespace kafka {

// AppendBigEndian appends the sizeof(T) bytes of `value` to `out`, most significant first. T is
// named at every call (AppendBigEndian<uint32_t>(out, x)) because it is the field's width on the
// wire and must never be deduced from whatever type the argument happens to have. Never fails;
// thread-compatible.
template <std::unsigned_integral T>
void AppendBigEndian(std::string& out, std::type_identity_t<T> value) {
  for (size_t shift = sizeof(T) * 8; shift > 0;) {
    shift -= 8;
    out.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

// LoadBigEndian reads a T from the first sizeof(T) bytes of `bytes`, most significant first. The
// caller has checked that they are there (asserted in debug builds). Never fails; thread-safe.
template <std::unsigned_integral T>
T LoadBigEndian(std::span<const uint8_t> bytes) {
  assert(bytes.size() >= sizeof(T));
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    value = static_cast<T>((static_cast<uintmax_t>(value) << 8) | bytes[i]);
  }
  return value;
}

}  // namespace kafka
