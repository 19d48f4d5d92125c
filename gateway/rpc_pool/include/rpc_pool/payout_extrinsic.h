// The payout's extrinsic: utility.batch_all of balances.transfer_keep_alive, its signing payload,
// and the signed v4 extrinsic, SCALE-encoded as the pinned runtime expects (docs/rpc-pool.md).
//
// Fixed choices, so that the same inputs always give the same bytes: an immortal era (the block
// hash of the era is the genesis hash), tip 0, CheckMetadataHash mode Disabled (no metadata hash).
// Thread safety: pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/substrate_types.h"
#include "rpc_pool/payout.h"

namespace rpc_pool {

// kSr25519SignatureSize is schnorrkel's signature length.
inline constexpr size_t kSr25519SignatureSize = 64;
// kMaxUnhashedPayloadBytes is Substrate's rule: a signing payload longer than this is signed as
// its blake2_256.
inline constexpr size_t kMaxUnhashedPayloadBytes = 256;

// EncodeBatchCall returns the call utility.batch_all([transfer_keep_alive(Id(dest), amount)...]).
std::vector<uint8_t> EncodeBatchCall(const ChainProfile& profile,
                                     std::span<const Transfer> transfers);

// SigningPayload returns call ‖ extra ‖ additional-signed in the profile's extension order, for
// an immortal era, `nonce` and tip 0 (before Substrate's hashing rule; see SignedMessage).
std::vector<uint8_t> SigningPayload(const ChainProfile& profile, std::span<const uint8_t> call,
                                    uint32_t nonce);

// SignedMessage applies Substrate's rule to a signing payload: the payload itself up to
// kMaxUnhashedPayloadBytes, its blake2_256 above. The signature must be over these bytes.
std::vector<uint8_t> SignedMessage(std::span<const uint8_t> payload);

// EncodeSignedExtrinsic returns the length-prefixed v4 signed extrinsic: 0x84, MultiAddress::Id
// of `signer`, MultiSignature::Sr25519 `signature`, the extra, then `call`. It does not check the
// signature (the caller verifies it first).
std::vector<uint8_t> EncodeSignedExtrinsic(
    const ChainProfile& profile, std::span<const uint8_t> call, const AccountId& signer,
    std::span<const uint8_t, kSr25519SignatureSize> signature, uint32_t nonce);

// ExtrinsicHash is the transaction hash a node reports: blake2_256 of the whole encoded extrinsic
// (length prefix included).
base::Hash256 ExtrinsicHash(std::span<const uint8_t> extrinsic);

}  // namespace rpc_pool
