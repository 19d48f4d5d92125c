// STROBE-128 (the subset Merlin uses) and Merlin v1.0 transcripts, byte-compatible with merlin.
#include "keymgr/merlin.h"

#include "base/hash.h"

#include <array>
#include <bit>
#include <cassert>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>

#include "base/secret_bytes.h"

namespace keymgr {
namespace {

// STROBE rate for security level 128: 200 - 128/4 - 2 bytes of the 1600-bit state.
constexpr uint8_t kStrobeRate = 166;

// STROBE operation flags (STROBE spec, section 6.2); T (transport) is never used by Merlin.
constexpr uint8_t kFlagI = 1;
constexpr uint8_t kFlagA = 1 << 1;
constexpr uint8_t kFlagC = 1 << 2;
[[maybe_unused]] constexpr uint8_t kFlagT = 1 << 3;
constexpr uint8_t kFlagM = 1 << 4;
constexpr uint8_t kFlagK = 1 << 5;

std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Merlin frames every length as a u32; a longer message would alias a shorter one, and nothing we
// accept (gRPC caps messages far below 4 GiB) can be that long, so reaching this is a logic error.
std::array<uint8_t, 4> EncodeLengthLe32(size_t length) {
  if (length > UINT32_MAX) {
    std::fputs("keymgr: Merlin message longer than 2^32-1 bytes\n", stderr);
    std::abort();
  }
  return {static_cast<uint8_t>(length), static_cast<uint8_t>(length >> 8),
          static_cast<uint8_t>(length >> 16), static_cast<uint8_t>(length >> 24)};
}

void PermuteBytes(std::array<uint8_t, 200>& bytes) {
  std::array<uint64_t, 25> lanes;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(lanes.data(), bytes.data(), bytes.size());
  } else {
    for (size_t lane = 0; lane < lanes.size(); ++lane) {
      uint64_t value = 0;
      for (size_t i = 0; i < 8; ++i) {
        value |= static_cast<uint64_t>(bytes[8 * lane + i]) << (8 * i);
      }
      lanes[lane] = value;
    }
  }
  base::KeccakF1600(lanes);
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(bytes.data(), lanes.data(), bytes.size());
  } else {
    for (size_t lane = 0; lane < lanes.size(); ++lane) {
      for (size_t i = 0; i < 8; ++i) {
        bytes[8 * lane + i] = static_cast<uint8_t>(lanes[lane] >> (8 * i));
      }
    }
  }
  // The lanes may hold KEYed witness material.
  base::Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(lanes.data()), sizeof(lanes)));
}

}  // namespace

Strobe128::Strobe128(std::span<const uint8_t> protocol_label) {
  constexpr std::string_view kStrobeVersion = "STROBEv1.0.2";
  state_[0] = 1;
  state_[1] = kStrobeRate + 2;
  state_[2] = 1;
  state_[3] = 0;
  state_[4] = 1;
  state_[5] = 96;
  for (size_t i = 0; i < kStrobeVersion.size(); ++i) {
    state_[6 + i] = static_cast<uint8_t>(kStrobeVersion[i]);
  }
  PermuteBytes(state_);
  MetaAd(protocol_label, false);
}

Strobe128::~Strobe128() { base::Wipe(state_); }

void Strobe128::MetaAd(std::span<const uint8_t> data, bool more) {
  BeginOp(kFlagM | kFlagA, more);
  Absorb(data);
}

void Strobe128::Ad(std::span<const uint8_t> data, bool more) {
  BeginOp(kFlagA, more);
  Absorb(data);
}

void Strobe128::Prf(std::span<uint8_t> out, bool more) {
  BeginOp(kFlagI | kFlagA | kFlagC, more);
  Squeeze(out);
}

void Strobe128::Key(std::span<const uint8_t> data, bool more) {
  BeginOp(kFlagA | kFlagC, more);
  Overwrite(data);
}

void Strobe128::RunF() {
  state_[pos_] ^= pos_begin_;
  state_[pos_ + 1] ^= 0x04;
  state_[kStrobeRate + 1] ^= 0x80;
  PermuteBytes(state_);
  pos_ = 0;
  pos_begin_ = 0;
}

void Strobe128::Absorb(std::span<const uint8_t> data) {
  for (uint8_t byte : data) {
    state_[pos_] ^= byte;
    if (++pos_ == kStrobeRate) {
      RunF();
    }
  }
}

void Strobe128::Overwrite(std::span<const uint8_t> data) {
  for (uint8_t byte : data) {
    state_[pos_] = byte;
    if (++pos_ == kStrobeRate) {
      RunF();
    }
  }
}

void Strobe128::Squeeze(std::span<uint8_t> out) {
  for (uint8_t& byte : out) {
    byte = state_[pos_];
    state_[pos_] = 0;
    if (++pos_ == kStrobeRate) {
      RunF();
    }
  }
}

void Strobe128::BeginOp(uint8_t flags, bool more) {
  if (more) {
    // A continued operation keeps the framing of the one it extends; callers here always pass the
    // same flags, as merlin's do.
    assert(flags == cur_flags_);
    return;
  }
  assert((flags & kFlagT) == 0);
  const uint8_t old_begin = pos_begin_;
  pos_begin_ = static_cast<uint8_t>(pos_ + 1);
  cur_flags_ = flags;
  const std::array<uint8_t, 2> framing = {old_begin, flags};
  Absorb(framing);
  // Cipher and key operations must start on a fresh block so their output depends on all input.
  const bool force_permutation = (flags & (kFlagC | kFlagK)) != 0;
  if (force_permutation && pos_ != 0) {
    RunF();
  }
}

MerlinTranscript::MerlinTranscript(std::span<const uint8_t> label)
    : strobe_(AsBytes("Merlin v1.0")) {
  AppendMessage(AsBytes("dom-sep"), label);
}

MerlinTranscript::MerlinTranscript(std::string_view label) : MerlinTranscript(AsBytes(label)) {}

void MerlinTranscript::AppendMessage(std::span<const uint8_t> label,
                                     std::span<const uint8_t> message) {
  const std::array<uint8_t, 4> length = EncodeLengthLe32(message.size());
  strobe_.MetaAd(label, false);
  strobe_.MetaAd(length, true);
  strobe_.Ad(message, false);
}

void MerlinTranscript::AppendMessage(std::string_view label, std::span<const uint8_t> message) {
  AppendMessage(AsBytes(label), message);
}

void MerlinTranscript::AppendMessage(std::string_view label, std::string_view message) {
  AppendMessage(AsBytes(label), AsBytes(message));
}

void MerlinTranscript::AppendU64(std::string_view label, uint64_t value) {
  std::array<uint8_t, 8> encoded;
  for (size_t i = 0; i < encoded.size(); ++i) {
    encoded[i] = static_cast<uint8_t>(value >> (8 * i));
  }
  AppendMessage(AsBytes(label), encoded);
}

void MerlinTranscript::ChallengeBytes(std::span<const uint8_t> label, std::span<uint8_t> out) {
  const std::array<uint8_t, 4> length = EncodeLengthLe32(out.size());
  strobe_.MetaAd(label, false);
  strobe_.MetaAd(length, true);
  strobe_.Prf(out, false);
}

void MerlinTranscript::ChallengeBytes(std::string_view label, std::span<uint8_t> out) {
  ChallengeBytes(AsBytes(label), out);
}

}  // namespace keymgr
