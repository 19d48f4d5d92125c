// The payout's pure parts: the pinned chain profile, payee accounts, and the split of a period's
// amount into transfers (docs/rpc-pool.md, "Payout").
//
// Thread safety: every function here is pure and thread-safe; the types are plain values.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/substrate_types.h"

namespace rpc_pool {

// AccountId is a Substrate AccountId32 (an sr25519 or ed25519 public key, or a hash of one).
using AccountId = std::array<uint8_t, 32>;

// SignedExtension is the closed set of signed extensions the payout encoder knows. A profile that
// names any other is refused: encoding an extension we do not understand would be signing blind.
enum class SignedExtension {
  kCheckNonZeroSender,
  kCheckSpecVersion,
  kCheckTxVersion,
  kCheckGenesis,
  kCheckMortality,
  kCheckNonce,
  kCheckWeight,
  kChargeTransactionPayment,
  kPrevalidateAttests,
  kCheckMetadataHash,
};

// ChainProfile is what the payout needs to know about one runtime, pinned in a checked-in file
// (gateway/rpc_pool/chains/<chain>.json) derived from the runtime's metadata.
struct ChainProfile {
  std::string chain;      // "polkadot", "kusama"
  std::string spec_name;  // the runtime's spec_name, compared with the node's
  uint32_t spec_version = 0;
  uint32_t transaction_version = 0;
  base::Hash256 genesis_hash{};
  uint16_t ss58_prefix = 0;
  uint8_t address_id_variant = 0;         // MultiAddress::Id
  uint8_t signature_sr25519_variant = 0;  // MultiSignature::Sr25519
  std::array<uint8_t, 2> utility_batch_all{};
  std::array<uint8_t, 2> balances_transfer_keep_alive{};
  std::vector<SignedExtension> signed_extensions;  // in the runtime's order
};

// kMaxChainProfileBytes bounds a profile file; the real ones are about 2 KiB.
inline constexpr size_t kMaxChainProfileBytes = size_t{64} * 1024;

// ParseChainProfile reads a profile file's text. Fails with kInvalidArgument on anything that is
// not exactly a profile: unknown or missing keys, values of the wrong type or range, an extrinsic
// version other than 4, an address type other than MultiAddress or a signature type other than
// MultiSignature, or a signed extension that is unknown or whose extra or additional-signed type
// differs from what the encoder writes for it.
[[nodiscard]] base::Result<ChainProfile> ParseChainProfile(std::string_view text);

// ParseAccount accepts a 0x-prefixed 64-digit hex account id, or an SS58 address of a 32-byte
// account whose network prefix is `ss58_prefix` (an address of another network is a mistake
// that could pay someone else on that network, so it is refused). Fails with kInvalidArgument.
[[nodiscard]] base::Result<AccountId> ParseAccount(std::string_view text, uint16_t ss58_prefix);

// ParseDecimalAmount reads an amount or count the operator wrote (a flag or a setting) as a
// plain decimal: one or more ASCII digits and nothing else: no sign, space, `0x` or other base
// prefix, digit separator, or leading zero (other than "0" itself). A number that reads another
// way elsewhere ("-1" wrapping to 2^64 - 1, "0100" read as octal 64) is refused here rather than
// guessed at. Returns the value when it lies in [min, max]; fails with kInvalidArgument
// otherwise (overflow of 64 bits included) with a message that says what is wrong.
[[nodiscard]] base::Result<uint64_t> ParseDecimalAmount(std::string_view text, uint64_t min,
                                                        uint64_t max);

// Payee is one line of a period's points: who, and how many points they earned.
struct Payee {
  AccountId account{};
  uint64_t points = 0;
};

// Transfer is one balances.transfer_keep_alive of the batch.
struct Transfer {
  AccountId dest{};
  uint64_t amount = 0;  // in the chain's smallest unit (planck)
};

// PayoutPlan is a period's amount split: fee + sum(transfers) + remainder == total.
struct PayoutPlan {
  uint64_t fee = 0;                 // the operator's, taken out first; stays in the pool account
  uint64_t remainder = 0;           // what rounding down left over; stays in the pool account
  std::vector<Transfer> transfers;  // payees with a non-zero share, in input order
};

// kMaxFeePerMille is 100 %.
inline constexpr uint32_t kMaxFeePerMille = 1000;

// ComputePayout splits `total` (planck): fee = floor(total * fee_per_mille / 1000), then each payee
// gets floor((total - fee) * points / sum(points)); payees whose share is 0 get no transfer.
// Integer arithmetic only (128-bit intermediates), never rounding up, so the transfers never sum
// to more than total - fee. Fails with kInvalidArgument when fee_per_mille > 1000, an account is
// listed twice, points sum beyond 64 bits, or more than `max_transfers` transfers would result
// (the caller raises the bound or splits the period; a batch the chain cannot include is refused
// here rather than signed).
[[nodiscard]] base::Result<PayoutPlan> ComputePayout(uint64_t total, uint32_t fee_per_mille,
                                                     const std::vector<Payee>& payees,
                                                     size_t max_transfers);

}  // namespace rpc_pool
