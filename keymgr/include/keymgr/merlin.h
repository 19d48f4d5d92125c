// Merlin transcripts (STROBE-128 over Keccak-f[1600]) as schnorrkel uses them: signing, VRF, HDKD.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace keymgr {

// Strobe128 is the subset of STROBE v1.0.2 (security 128, rate 166) that Merlin needs.
// Copyable (cloning a transcript copies it); wipes its state on destruction. Thread-compatible.
class Strobe128 {
 public:
  explicit Strobe128(std::span<const uint8_t> protocol_label);
  ~Strobe128();
  Strobe128(const Strobe128&) = default;
  Strobe128& operator=(const Strobe128&) = default;

  void MetaAd(std::span<const uint8_t> data, bool more);
  void Ad(std::span<const uint8_t> data, bool more);
  void Prf(std::span<uint8_t> out, bool more);
  void Key(std::span<const uint8_t> data, bool more);

 private:
  void RunF();
  void Absorb(std::span<const uint8_t> data);
  void Overwrite(std::span<const uint8_t> data);
  void Squeeze(std::span<uint8_t> out);
  void BeginOp(uint8_t flags, bool more);

  std::array<uint8_t, 200> state_{};
  uint8_t pos_ = 0;
  uint8_t pos_begin_ = 0;
  uint8_t cur_flags_ = 0;
};

// MerlinTranscript is a Merlin v1.0 transcript. Labels and messages are raw bytes; the string_view
// overloads are for ASCII labels. Copyable (schnorrkel clones transcripts for witnesses).
// Thread-compatible.
class MerlinTranscript {
 public:
  explicit MerlinTranscript(std::span<const uint8_t> label);
  explicit MerlinTranscript(std::string_view label);

  // AppendMessage absorbs `message` under `label`.
  void AppendMessage(std::span<const uint8_t> label, std::span<const uint8_t> message);
  void AppendMessage(std::string_view label, std::span<const uint8_t> message);
  void AppendMessage(std::string_view label, std::string_view message);
  // AppendU64 absorbs the 8-byte little-endian encoding of `value` under `label`.
  void AppendU64(std::string_view label, uint64_t value);
  // ChallengeBytes fills `out` with challenge bytes bound to everything absorbed so far.
  void ChallengeBytes(std::span<const uint8_t> label, std::span<uint8_t> out);
  void ChallengeBytes(std::string_view label, std::span<uint8_t> out);

  // Access for the witness RNG construction in sr25519 (clone of the STROBE state).
  const Strobe128& strobe() const { return strobe_; }

 private:
  Strobe128 strobe_;
};

}  // namespace keymgr
