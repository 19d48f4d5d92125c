// Builders of signed payloads for tests, the crash child and the benchmark (hand-made encodings).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "slashing/scale.h"
#include "slashing/types.h"

namespace slashing::testing {

// FilledHash is a recognisable 32-byte value: every byte = seed.
inline base::Hash256 FilledHash(uint8_t seed) {
  base::Hash256 hash;
  hash.fill(seed);
  return hash;
}

// GrandpaMessage: stage (0 prevote, 1 precommit, 2 primary propose) ++ hash ++ number u32 ++
// round u64 ++ set_id u64.
inline std::vector<uint8_t> GrandpaMessage(uint8_t stage, const base::Hash256& target_hash,
                                           uint32_t target_number, uint64_t round,
                                           uint64_t set_id) {
  ScaleWriter writer;
  writer.WriteU8(stage);
  writer.WriteBytes(target_hash);
  writer.WriteU32(target_number);
  writer.WriteU64(round);
  writer.WriteU64(set_id);
  return writer.Take();
}

// BabeHeader: a SCALE header whose digest holds one BABE SecondaryPlain pre-digest for `slot`
// (plus an unrelated Consensus item), with `parent_seed` varying the parent hash.
inline std::vector<uint8_t> BabeHeader(uint64_t slot, uint8_t parent_seed, uint32_t number = 7) {
  ScaleWriter pre_digest;
  pre_digest.WriteU8(2);  // SecondaryPlain
  pre_digest.WriteU32(3);
  pre_digest.WriteU64(slot);
  ScaleWriter header;
  header.WriteBytes(FilledHash(parent_seed));
  header.WriteCompact(number);
  header.WriteBytes(FilledHash(0xaa));  // state root
  header.WriteBytes(FilledHash(0xbb));  // extrinsics root
  header.WriteCompact(2);
  header.WriteU8(4);  // Consensus
  header.WriteBytes(std::array<uint8_t, 4>{'F', 'R', 'N', 'K'});
  header.WriteByteVec(std::array<uint8_t, 3>{1, 2, 3});
  header.WriteU8(6);  // PreRuntime
  header.WriteBytes(std::array<uint8_t, 4>{'B', 'A', 'B', 'E'});
  header.WriteByteVec(pre_digest.bytes());
  return header.Take();
}

// BeefyCommitment: payload [("mh", root)] ++ block_number u32 ++ validator_set_id u64.
inline std::vector<uint8_t> BeefyCommitment(uint32_t block_number, uint64_t set_id,
                                            uint8_t root_seed) {
  ScaleWriter writer;
  writer.WriteCompact(1);
  writer.WriteBytes(std::array<uint8_t, 2>{'m', 'h'});
  writer.WriteByteVec(FilledHash(root_seed));
  writer.WriteU32(block_number);
  writer.WriteU64(set_id);
  return writer.Take();
}

inline void WriteMagic(ScaleWriter& writer, const char (&magic)[5]) {
  for (int i = 0; i < 4; ++i) writer.WriteU8(static_cast<uint8_t>(magic[i]));
}

// Backing: "BKNG" ++ {1 Seconded, 2 Valid} ++ candidate ++ session u32 ++ parent hash.
inline std::vector<uint8_t> BackingStatement(uint8_t kind, const base::Hash256& candidate,
                                             uint32_t session) {
  ScaleWriter writer;
  WriteMagic(writer, "BKNG");
  writer.WriteU8(kind);
  writer.WriteBytes(candidate);
  writer.WriteU32(session);
  writer.WriteBytes(FilledHash(0x77));
  return writer.Take();
}

// DisputeStatement: "DISP" ++ valid bool ++ candidate ++ session u32.
inline std::vector<uint8_t> DisputeStatement(bool valid, const base::Hash256& candidate,
                                             uint32_t session) {
  ScaleWriter writer;
  WriteMagic(writer, "DISP");
  writer.WriteBool(valid);
  writer.WriteBytes(candidate);
  writer.WriteU32(session);
  return writer.Take();
}

// ApprovalVote: "APPR" ++ candidate ++ session (single), or "APPR" ++ Vec<candidate> ++ session.
inline std::vector<uint8_t> ApprovalVote(const std::vector<base::Hash256>& candidates,
                                         uint32_t session, bool force_vector = false) {
  ScaleWriter writer;
  WriteMagic(writer, "APPR");
  if (candidates.size() == 1 && !force_vector) {
    writer.WriteBytes(candidates[0]);
  } else {
    writer.WriteCompact(candidates.size());
    for (const auto& candidate : candidates) writer.WriteBytes(candidate);
  }
  writer.WriteU32(session);
  return writer.Take();
}

// PvfCheck: "VCPC" ++ accept ++ code hash ++ session u32 ++ validator index u32.
inline std::vector<uint8_t> PvfCheck(bool accept, uint32_t session) {
  ScaleWriter writer;
  WriteMagic(writer, "VCPC");
  writer.WriteBool(accept);
  writer.WriteBytes(FilledHash(0x55));
  writer.WriteU32(session);
  writer.WriteU32(9);
  return writer.Take();
}

// Bitfield: BitVec<u8, Lsb0> of `bits` bits ++ SigningContext.
inline std::vector<uint8_t> Bitfield(uint32_t bits, uint32_t session) {
  ScaleWriter writer;
  writer.WriteCompact(bits);
  for (uint32_t i = 0; i < (bits + 7) / 8; ++i) writer.WriteU8(0x01);
  writer.WriteU32(session);
  writer.WriteBytes(FilledHash(0x66));
  return writer.Take();
}

}  // namespace slashing::testing
