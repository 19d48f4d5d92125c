// SCALE codec (parity-scale-codec): a strict reader for untrusted bytes and a writer for our own.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace slashing {

// ScaleReader decodes SCALE from a borrowed buffer, strictly: every read checks bounds, compact
// integers must use their shortest mode, booleans must be 0 or 1, option tags 0 or 1, and vector
// lengths are bounded by the caller and by the bytes left. After the first failure every read
// fails and ok() stays false, so a decoder can read a whole structure and test once at the end.
// Finish() also requires that no byte is left. The buffer must outlive the reader.
// Thread-compatible.
class ScaleReader {
 public:
  explicit ScaleReader(std::span<const uint8_t> input) : input_(input) {}

  // ReadU8/U16/U32/U64 read fixed-width little-endian integers; nullopt on short input.
  std::optional<uint8_t> ReadU8();
  std::optional<uint16_t> ReadU16();
  std::optional<uint32_t> ReadU32();
  std::optional<uint64_t> ReadU64();
  // ReadBool accepts exactly 0x00 or 0x01.
  std::optional<bool> ReadBool();
  // ReadCompact reads a compact integer up to u64; nullopt if truncated, wider than 64 bits or
  // not in its shortest encoding.
  std::optional<uint64_t> ReadCompact();
  // ReadCompactU32 is ReadCompact that also fails above UINT32_MAX (Compact<u32> fields).
  std::optional<uint32_t> ReadCompactU32();
  // ReadBytes borrows the next `count` bytes; the span points into the input buffer.
  std::optional<std::span<const uint8_t>> ReadBytes(size_t count);
  // ReadArray copies N fixed bytes (a SCALE [u8; N] has no length prefix).
  template <size_t N>
  std::optional<std::array<uint8_t, N>> ReadArray() {
    auto bytes = ReadBytes(N);
    if (!bytes) return std::nullopt;
    std::array<uint8_t, N> out;
    for (size_t i = 0; i < N; ++i) out[i] = (*bytes)[i];
    return out;
  }
  // ReadVecLength reads a compact length and fails if it exceeds `max_items` or if the bytes left
  // cannot hold `max_items`-bounded elements of at least `min_item_size` bytes each.
  std::optional<size_t> ReadVecLength(size_t max_items, size_t min_item_size);
  // ReadByteVec reads a Vec<u8> of at most `max_len` bytes and borrows its content.
  std::optional<std::span<const uint8_t>> ReadByteVec(size_t max_len);
  // ReadOptionTag reads an Option discriminant: false for None, true for Some.
  std::optional<bool> ReadOptionTag() { return ReadBool(); }
  // ReadEnumIndex reads an enum variant index; the caller checks it is a known variant.
  std::optional<uint8_t> ReadEnumIndex() { return ReadU8(); }

  // Fail marks the reader failed; decoders call it when a value is well-formed SCALE but invalid.
  void Fail() { failed_ = true; }
  bool ok() const { return !failed_; }
  size_t remaining() const { return failed_ ? 0 : input_.size() - offset_; }
  // Finish reports success only if no read failed and every byte was consumed.
  bool Finish() const { return !failed_ && offset_ == input_.size(); }

 private:
  std::span<const uint8_t> input_;
  size_t offset_ = 0;
  bool failed_ = false;
};

// ScaleWriter appends SCALE encodings to a growing byte vector. Thread-compatible.
class ScaleWriter {
 public:
  void WriteU8(uint8_t value) { out_.push_back(value); }
  void WriteU16(uint16_t value);
  void WriteU32(uint32_t value);
  void WriteU64(uint64_t value);
  void WriteBool(bool value) { out_.push_back(value ? 1 : 0); }
  // WriteCompact always uses the shortest mode, as ReadCompact demands.
  void WriteCompact(uint64_t value);
  // WriteBytes appends raw bytes (fixed arrays, already-encoded parts).
  void WriteBytes(std::span<const uint8_t> bytes);
  // WriteByteVec appends compact(len) then the bytes.
  void WriteByteVec(std::span<const uint8_t> bytes);

  const std::vector<uint8_t>& bytes() const { return out_; }
  std::vector<uint8_t> Take() { return std::move(out_); }

 private:
  std::vector<uint8_t> out_;
};

}  // namespace slashing
