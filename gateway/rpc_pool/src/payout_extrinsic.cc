// SCALE encoding of the payout's batch call, signing payload and signed v4 extrinsic.
#include "rpc_pool/payout_extrinsic.h"

#include "base/hash.h"
#include "slashing/scale.h"

namespace rpc_pool {
namespace {

// kSignedV4 is the extrinsic version byte: bit 7 set (signed), version 4.
constexpr uint8_t kSignedV4 = 0x84;
// kImmortalEra is Era::Immortal's one-byte encoding.
constexpr uint8_t kImmortalEra = 0x00;
// kMetadataHashDisabled is CheckMetadataHash's Mode::Disabled; its additional-signed is then None.
constexpr uint8_t kMetadataHashDisabled = 0x00;
constexpr uint8_t kOptionNone = 0x00;

void WriteExtra(const ChainProfile& profile, uint32_t nonce, slashing::ScaleWriter& out) {
  for (SignedExtension extension : profile.signed_extensions) {
    switch (extension) {
      case SignedExtension::kCheckMortality:
        out.WriteU8(kImmortalEra);
        break;
      case SignedExtension::kCheckNonce:
        out.WriteCompact(nonce);
        break;
      case SignedExtension::kChargeTransactionPayment:
        out.WriteCompact(0);  // tip
        break;
      case SignedExtension::kCheckMetadataHash:
        out.WriteU8(kMetadataHashDisabled);
        break;
      default:
        break;  // no extra
    }
  }
}

void WriteAdditionalSigned(const ChainProfile& profile, slashing::ScaleWriter& out) {
  for (SignedExtension extension : profile.signed_extensions) {
    switch (extension) {
      case SignedExtension::kCheckSpecVersion:
        out.WriteU32(profile.spec_version);
        break;
      case SignedExtension::kCheckTxVersion:
        out.WriteU32(profile.transaction_version);
        break;
      case SignedExtension::kCheckGenesis:
      case SignedExtension::kCheckMortality:  // an immortal era's block is the genesis
        out.WriteBytes(profile.genesis_hash);
        break;
      case SignedExtension::kCheckMetadataHash:
        out.WriteU8(kOptionNone);
        break;
      default:
        break;  // no additional-signed data
    }
  }
}

}  // namespace

std::vector<uint8_t> EncodeBatchCall(const ChainProfile& profile,
                                     std::span<const Transfer> transfers) {
  slashing::ScaleWriter out;
  out.WriteBytes(profile.utility_batch_all);
  out.WriteCompact(transfers.size());
  for (const Transfer& transfer : transfers) {
    out.WriteBytes(profile.balances_transfer_keep_alive);
    out.WriteU8(profile.address_id_variant);
    out.WriteBytes(transfer.dest);
    // Compact<u128>: below 2^64 its encoding is the compact u64 one.
    out.WriteCompact(transfer.amount);
  }
  return out.Take();
}

std::vector<uint8_t> SigningPayload(const ChainProfile& profile, std::span<const uint8_t> call,
                                    uint32_t nonce) {
  slashing::ScaleWriter out;
  out.WriteBytes(call);
  WriteExtra(profile, nonce, out);
  WriteAdditionalSigned(profile, out);
  return out.Take();
}

std::vector<uint8_t> SignedMessage(std::span<const uint8_t> payload) {
  if (payload.size() <= kMaxUnhashedPayloadBytes) return {payload.begin(), payload.end()};
  const base::Hash256 digest = base::Blake2b256(payload);
  return {digest.begin(), digest.end()};
}

std::vector<uint8_t> EncodeSignedExtrinsic(
    const ChainProfile& profile, std::span<const uint8_t> call, const AccountId& signer,
    std::span<const uint8_t, kSr25519SignatureSize> signature, uint32_t nonce) {
  slashing::ScaleWriter body;
  body.WriteU8(kSignedV4);
  body.WriteU8(profile.address_id_variant);
  body.WriteBytes(signer);
  body.WriteU8(profile.signature_sr25519_variant);
  body.WriteBytes(signature);
  WriteExtra(profile, nonce, body);
  body.WriteBytes(call);
  slashing::ScaleWriter out;
  out.WriteByteVec(body.bytes());
  return out.Take();
}

base::Hash256 ExtrinsicHash(std::span<const uint8_t> extrinsic) {
  return base::Blake2b256(extrinsic);
}

}  // namespace rpc_pool
