// Strict SCALE decoding and canonical encoding.
#include "slashing/scale.h"

namespace slashing {
namespace {

// kCompactSingleMax .. kCompactQuadMax are the largest values each short compact mode holds; a
// value encoded in a longer mode than it needs is overlong and refused.
constexpr uint64_t kCompactSingleMax = (1u << 6) - 1;
constexpr uint64_t kCompactDoubleMax = (1u << 14) - 1;
constexpr uint64_t kCompactQuadMax = (1u << 30) - 1;

uint64_t LoadLe(std::span<const uint8_t> bytes) {
  uint64_t value = 0;
  for (size_t i = bytes.size(); i > 0; --i) value = (value << 8) | bytes[i - 1];
  return value;
}

void StoreLe(std::vector<uint8_t>& out, uint64_t value, size_t width) {
  for (size_t i = 0; i < width; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

}  // namespace

std::optional<std::span<const uint8_t>> ScaleReader::ReadBytes(size_t count) {
  if (failed_ || input_.size() - offset_ < count) {
    failed_ = true;
    return std::nullopt;
  }
  auto out = input_.subspan(offset_, count);
  offset_ += count;
  return out;
}

std::optional<uint8_t> ScaleReader::ReadU8() {
  auto bytes = ReadBytes(1);
  if (!bytes) return std::nullopt;
  return (*bytes)[0];
}

std::optional<uint16_t> ScaleReader::ReadU16() {
  auto bytes = ReadBytes(2);
  if (!bytes) return std::nullopt;
  return static_cast<uint16_t>(LoadLe(*bytes));
}

std::optional<uint32_t> ScaleReader::ReadU32() {
  auto bytes = ReadBytes(4);
  if (!bytes) return std::nullopt;
  return static_cast<uint32_t>(LoadLe(*bytes));
}

std::optional<uint64_t> ScaleReader::ReadU64() {
  auto bytes = ReadBytes(8);
  if (!bytes) return std::nullopt;
  return LoadLe(*bytes);
}

std::optional<bool> ScaleReader::ReadBool() {
  auto byte = ReadU8();
  if (!byte) return std::nullopt;
  if (*byte > 1) {
    failed_ = true;
    return std::nullopt;
  }
  return *byte == 1;
}

std::optional<uint64_t> ScaleReader::ReadCompact() {
  auto first = ReadU8();
  if (!first) return std::nullopt;
  uint64_t value = 0;
  switch (*first & 3) {
    case 0:
      return *first >> 2;
    case 1: {
      auto second = ReadU8();
      if (!second) return std::nullopt;
      value = (static_cast<uint64_t>(*first) | (static_cast<uint64_t>(*second) << 8)) >> 2;
      if (value <= kCompactSingleMax) break;
      return value;
    }
    case 2: {
      auto rest = ReadBytes(3);
      if (!rest) return std::nullopt;
      value = (static_cast<uint64_t>(*first) | (LoadLe(*rest) << 8)) >> 2;
      if (value <= kCompactDoubleMax) break;
      return value;
    }
    default: {
      const size_t width = static_cast<size_t>(*first >> 2) + 4;
      if (width > 8) break;  // wider than u64
      auto rest = ReadBytes(width);
      if (!rest) return std::nullopt;
      value = LoadLe(*rest);
      // Canonical big mode: above the four-byte mode's range and no zero top byte.
      if (value <= kCompactQuadMax) break;
      if (width > 4 && (*rest)[width - 1] == 0) break;
      return value;
    }
  }
  failed_ = true;
  return std::nullopt;
}

std::optional<uint32_t> ScaleReader::ReadCompactU32() {
  auto value = ReadCompact();
  if (!value) return std::nullopt;
  if (*value > UINT32_MAX) {
    failed_ = true;
    return std::nullopt;
  }
  return static_cast<uint32_t>(*value);
}

std::optional<size_t> ScaleReader::ReadVecLength(size_t max_items, size_t min_item_size) {
  auto length = ReadCompact();
  if (!length) return std::nullopt;
  if (*length > max_items || (min_item_size > 0 && *length > remaining() / min_item_size)) {
    failed_ = true;
    return std::nullopt;
  }
  return static_cast<size_t>(*length);
}

std::optional<std::span<const uint8_t>> ScaleReader::ReadByteVec(size_t max_len) {
  auto length = ReadVecLength(max_len, 1);
  if (!length) return std::nullopt;
  return ReadBytes(*length);
}

void ScaleWriter::WriteU16(uint16_t value) { StoreLe(out_, value, 2); }
void ScaleWriter::WriteU32(uint32_t value) { StoreLe(out_, value, 4); }
void ScaleWriter::WriteU64(uint64_t value) { StoreLe(out_, value, 8); }

void ScaleWriter::WriteCompact(uint64_t value) {
  if (value <= kCompactSingleMax) {
    out_.push_back(static_cast<uint8_t>(value << 2));
  } else if (value <= kCompactDoubleMax) {
    StoreLe(out_, (value << 2) | 1, 2);
  } else if (value <= kCompactQuadMax) {
    StoreLe(out_, (value << 2) | 2, 4);
  } else {
    size_t width = 4;
    while (width < 8 && (value >> (8 * width)) != 0) ++width;
    out_.push_back(static_cast<uint8_t>(((width - 4) << 2) | 3));
    StoreLe(out_, value, width);
  }
}

void ScaleWriter::WriteBytes(std::span<const uint8_t> bytes) {
  out_.insert(out_.end(), bytes.begin(), bytes.end());
}

void ScaleWriter::WriteByteVec(std::span<const uint8_t> bytes) {
  WriteCompact(bytes.size());
  WriteBytes(bytes);
}

}  // namespace slashing
