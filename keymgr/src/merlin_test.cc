// Known-answer tests for Keccak-f[1600], Keccak-256, STROBE-128 and Merlin transcripts.
#include "keymgr/merlin.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "base/hex.h"

namespace keymgr {
namespace {

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Bytes 0, 1, ..., 255, 0, 1, ... as the oracle script builds them.
std::vector<uint8_t> CountingBytes(size_t size) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<uint8_t>(i & 0xff);
  }
  return bytes;
}

std::string Challenge(MerlinTranscript& transcript, std::string_view label, size_t size) {
  std::vector<uint8_t> out(size);
  transcript.ChallengeBytes(label, out);
  return base::HexEncode(out);
}

TEST(KeccakTest, PermutesZeroStateAsPublished) {
  // XKCP TestVectors/KeccakF-1600-IntermediateValues.txt: the state after one Keccak-f[1600] on
  // zeros.
  const std::array<uint64_t, 25> expected = {
      0xF1258F7940E1DDE7, 0x84D5CCF933C0478A, 0xD598261EA65AA9EE, 0xBD1547306F80494D,
      0x8B284E056253D057, 0xFF97A42D7F8E6FD4, 0x90FEE5A0A44647C4, 0x8C5BDA0CD6192E76,
      0xAD30A6F71B19059C, 0x30935AB7D08FFC64, 0xEB5AA93F2317D635, 0xA9A6E6260D712103,
      0x81A57C16DBCF555F, 0x43B831CD0347C826, 0x01F22F1A11A5569F, 0x05E5635A21D9AE61,
      0x64BEFEF28CC970F2, 0x613670957BC46611, 0xB87C5A554FD00ECB, 0x8C3EE88A1CCF32C8,
      0x940C7922AE3A2614, 0x1841F924A2C509E4, 0x16F53526E70465C2, 0x75F644E97F30A13B,
      0xEAF1FF7B5CECA249,
  };
  std::array<uint64_t, 25> state{};
  base::KeccakF1600(state);
  EXPECT_EQ(state, expected);
}

TEST(KeccakTest, Keccak256KnownAnswers) {
  // Well-known Ethereum keccak256 values.
  EXPECT_EQ(base::HexEncode(base::Keccak256({})),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(base::HexEncode(base::Keccak256(Bytes("abc"))),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

TEST(KeccakTest, Keccak256AroundTheRateBoundary) {
  // From @polkadot/util-crypto@14.0.3 keccakAsU8a: 135 and 136 bytes of 'a' (the padding fits in
  // the last block, or needs a block of its own) and 500 counting bytes (several blocks).
  EXPECT_EQ(base::HexEncode(base::Keccak256(std::vector<uint8_t>(135, 'a'))),
            "34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446");
  EXPECT_EQ(base::HexEncode(base::Keccak256(std::vector<uint8_t>(136, 'a'))),
            "a6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e");
  EXPECT_EQ(base::HexEncode(base::Keccak256(CountingBytes(500))),
            "cbfabf79afab5860388c0abad0004bfbf11a8be32b02427078883c926c25745b");
}

TEST(MerlinTest, SpecKnownAnswer) {
  // merlin's own test (transcript.rs equivalence_simple), quoted in the signing spec, section 3.
  MerlinTranscript transcript("test protocol");
  transcript.AppendMessage("some label", "some data");
  EXPECT_EQ(Challenge(transcript, "challenge", 32),
            "d5a21972d0d5fe320c0d263fac7fffb8145aa640af6e9bca177c03c7efcf0615");
}

TEST(MerlinTest, LongMessageAndLongChallengeCrossBlocks) {
  // From @scure/sr25519@2.3.0 __tests.Merlin: a 500-byte message (absorbs across three STROBE
  // blocks), a binary label with an empty message, then a 300-byte challenge (squeezes across
  // blocks).
  MerlinTranscript transcript("long");
  transcript.AppendMessage("first", CountingBytes(500));
  const std::array<uint8_t, 2> binary_label = {0x00, 0xff};
  transcript.AppendMessage(binary_label, std::span<const uint8_t>());
  EXPECT_EQ(Challenge(transcript, "c", 300),
            "c98e0306955c0c6b2142eb3feaaa8949a292d169a7522b871524b8942bef2198fd70fbe417f2af06e9e989"
            "f5b8385e"
            "a8429836f5b70491b78c6ebb814430ff2db458c60269d0b524f03e480e9ccef2275eeca5e764b13989da83"
            "4f5238da"
            "558db40c2917d3f064abe8ae4e782ba433b8ea3a494d1796d3eee240c7009fdf8d8110bdcdca1657d877bf"
            "61e47486"
            "ceabca5c3c9374faf24b0f101d553977baea79846fd3485a100ff6a49cc72dc6d5eb0e7682cf1d42f5db58"
            "5061baa9"
            "f4e7d5629c23658f901ddf84edd16f13f911c516c3017a528775ee4423d8bd96f17b97d584866519dcd395"
            "3103fc1f"
            "a144f8d91947e72f809e2fe14079627c759bb16edc9cf2d2ff676d8860e4e813fb3687caabb7c89768a00d"
            "c9e83b9f"
            "d52ffe81582b7a0082ae43eb9ef06c7a96cb");
}

TEST(MerlinTest, AppendU64IsEightLittleEndianBytes) {
  MerlinTranscript with_u64("u64");
  with_u64.AppendU64("slot number", 0x0102030405060708ULL);
  MerlinTranscript with_bytes("u64");
  const std::array<uint8_t, 8> encoded = {8, 7, 6, 5, 4, 3, 2, 1};
  with_bytes.AppendMessage("slot number", encoded);
  EXPECT_EQ(Challenge(with_u64, "c", 32), Challenge(with_bytes, "c", 32));
}

TEST(MerlinTest, CopiesShareHistoryAndThenDiverge) {
  MerlinTranscript original("fork");
  original.AppendMessage("common", "prefix");
  MerlinTranscript same = original;
  MerlinTranscript different = original;
  different.AppendMessage("extra", "item");
  const std::string from_original = Challenge(original, "c", 32);
  EXPECT_EQ(Challenge(same, "c", 32), from_original);
  EXPECT_NE(Challenge(different, "c", 32), from_original);
}

TEST(MerlinTest, LabelsAndFramingSeparateInputs) {
  // Moving a byte from the message into the label must change the challenge (length framing).
  MerlinTranscript first("sep");
  first.AppendMessage("ab", "c");
  MerlinTranscript second("sep");
  second.AppendMessage("a", "bc");
  EXPECT_NE(Challenge(first, "c", 32), Challenge(second, "c", 32));
  // The challenge length is bound too: a shorter request is not a prefix of a longer one.
  MerlinTranscript short_request("len");
  MerlinTranscript long_request("len");
  EXPECT_NE(Challenge(short_request, "c", 16), Challenge(long_request, "c", 32).substr(0, 32));
}

TEST(MerlinTest, StrobeKeyChangesLaterOutput) {
  const std::array<uint8_t, 4> label = {'t', 'e', 's', 't'};
  Strobe128 keyed_a(label);
  Strobe128 keyed_b(label);
  const std::array<uint8_t, 3> key_a = {1, 2, 3};
  const std::array<uint8_t, 3> key_b = {1, 2, 4};
  keyed_a.Key(key_a, false);
  keyed_b.Key(key_b, false);
  std::array<uint8_t, 32> out_a{};
  std::array<uint8_t, 32> out_b{};
  keyed_a.Prf(out_a, false);
  keyed_b.Prf(out_b, false);
  EXPECT_NE(out_a, out_b);
}

}  // namespace
}  // namespace keymgr
