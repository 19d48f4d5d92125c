// The payout's chain profile parser, account parser and amount split.
#include "rpc_pool/payout.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "base/hex.h"
#include "base/json_depth.h"
#include "keymgr/ss58.h"

namespace rpc_pool {
namespace {

using base::Result;
using base::Status;
using Json = nlohmann::json;

// Uint128 holds products of two 64-bit amounts exactly; __extension__ because ISO C++ has no
// 128-bit integer and -Wpedantic would refuse the GCC/Clang one.
__extension__ typedef unsigned __int128 Uint128;

// The profile is flat apart from the extension list: depth 3 is plenty.
constexpr int kMaxProfileDepth = 4;

// What the encoder writes for each extension, as polkadot-js names the types in the metadata.
// The profile must say exactly this; a runtime whose extension changed shape is refused.
struct KnownExtension {
  std::string_view identifier;
  std::string_view extra;
  std::string_view additional_signed;
  SignedExtension kind;
};
constexpr KnownExtension kKnownExtensions[] = {
    {"CheckNonZeroSender", "Null", "Null", SignedExtension::kCheckNonZeroSender},
    {"CheckSpecVersion", "Null", "u32", SignedExtension::kCheckSpecVersion},
    {"CheckTxVersion", "Null", "u32", SignedExtension::kCheckTxVersion},
    {"CheckGenesis", "Null", "H256", SignedExtension::kCheckGenesis},
    {"CheckMortality", "Era", "H256", SignedExtension::kCheckMortality},
    {"CheckNonce", "Compact<u32>", "Null", SignedExtension::kCheckNonce},
    {"CheckWeight", "Null", "Null", SignedExtension::kCheckWeight},
    {"ChargeTransactionPayment", "Compact<u128>", "Null",
     SignedExtension::kChargeTransactionPayment},
    {"PrevalidateAttests", "Null", "Null", SignedExtension::kPrevalidateAttests},
    {"CheckMetadataHash", R"({"mode":"FrameMetadataHashExtensionMode"})", "Option<[u8;32]>",
     SignedExtension::kCheckMetadataHash},
};

constexpr std::string_view kMultiAddressType = "sp_runtime::multiaddress::MultiAddress";
constexpr std::string_view kMultiSignatureType = "sp_runtime::MultiSignature";

Status Refuse(const std::string& what) { return Status::InvalidArgument("chain profile: " + what); }

Result<uint64_t> Unsigned(const Json& object, const char* key, uint64_t max) {
  const Json& value = object.at(key);
  if (!value.is_number_unsigned() || value.get<uint64_t>() > max) {
    return Refuse(std::string(key) + " must be an integer from 0 to " + std::to_string(max));
  }
  return value.get<uint64_t>();
}

Result<std::string> Text(const Json& object, const char* key) {
  const Json& value = object.at(key);
  if (!value.is_string()) return Refuse(std::string(key) + " must be a string");
  return value.get<std::string>();
}

Result<std::array<uint8_t, 2>> CallIndex(const Json& object, const char* key) {
  const Json& value = object.at(key);
  if (!value.is_array() || value.size() != 2 || !value[0].is_number_unsigned() ||
      !value[1].is_number_unsigned() || value[0].get<uint64_t>() > 255 ||
      value[1].get<uint64_t>() > 255) {
    return Refuse(std::string(key) + " must be [pallet index, call index], each 0..255");
  }
  return std::array<uint8_t, 2>{static_cast<uint8_t>(value[0].get<uint64_t>()),
                                static_cast<uint8_t>(value[1].get<uint64_t>())};
}

Result<SignedExtension> Extension(const Json& entry) {
  if (!entry.is_object() || entry.size() != 3 || !entry.contains("identifier") ||
      !entry.contains("extra") || !entry.contains("additional_signed")) {
    return Refuse("a signed extension must be {identifier, extra, additional_signed}");
  }
  SIGNER_ASSIGN_OR_RETURN(const std::string identifier, Text(entry, "identifier"));
  SIGNER_ASSIGN_OR_RETURN(const std::string extra, Text(entry, "extra"));
  SIGNER_ASSIGN_OR_RETURN(const std::string additional, Text(entry, "additional_signed"));
  for (const KnownExtension& known : kKnownExtensions) {
    if (identifier != known.identifier) continue;
    if (extra != known.extra || additional != known.additional_signed) {
      std::string what = "signed extension " + identifier;
      what.append(" has extra ").append(extra).append(" and additional ").append(additional);
      return Refuse(what + ", not the shape the encoder writes");
    }
    return known.kind;
  }
  return Refuse("unknown signed extension " + identifier);
}

}  // namespace

Result<ChainProfile> ParseChainProfile(std::string_view text) {
  if (text.size() > kMaxChainProfileBytes || !base::JsonNestingWithin(text, kMaxProfileDepth)) {
    return Refuse("too large or nested too deep");
  }
  const Json document = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) return Refuse("not a JSON object");
  static const std::set<std::string> kKeys = {"source",
                                              "chain",
                                              "spec_name",
                                              "spec_version",
                                              "transaction_version",
                                              "genesis_hash",
                                              "ss58_prefix",
                                              "metadata_blake2_256",
                                              "extrinsic_version",
                                              "address_type",
                                              "address_id_variant",
                                              "signature_type",
                                              "signature_sr25519_variant",
                                              "utility_batch_all",
                                              "balances_transfer_keep_alive",
                                              "signed_extensions"};
  for (const auto& [key, value] : document.items()) {
    if (!kKeys.contains(key)) return Refuse("unknown key " + key);
  }
  for (const std::string& key : kKeys) {
    if (!document.contains(key)) return Refuse("missing key " + key);
  }
  ChainProfile profile;
  SIGNER_ASSIGN_OR_RETURN(profile.chain, Text(document, "chain"));
  SIGNER_ASSIGN_OR_RETURN(profile.spec_name, Text(document, "spec_name"));
  SIGNER_ASSIGN_OR_RETURN(const uint64_t spec, Unsigned(document, "spec_version", UINT32_MAX));
  SIGNER_ASSIGN_OR_RETURN(const uint64_t tx, Unsigned(document, "transaction_version", UINT32_MAX));
  profile.spec_version = static_cast<uint32_t>(spec);
  profile.transaction_version = static_cast<uint32_t>(tx);
  SIGNER_ASSIGN_OR_RETURN(const std::string genesis_text, Text(document, "genesis_hash"));
  auto genesis = base::HexDecode(genesis_text);
  if (!genesis.ok() || genesis->size() != 32 || !genesis_text.starts_with("0x")) {
    return Refuse("genesis_hash must be 0x and 32 bytes of hex");
  }
  std::copy(genesis->begin(), genesis->end(), profile.genesis_hash.begin());
  // 16383 is SS58's largest prefix.
  SIGNER_ASSIGN_OR_RETURN(const uint64_t prefix, Unsigned(document, "ss58_prefix", 16383));
  profile.ss58_prefix = static_cast<uint16_t>(prefix);
  SIGNER_ASSIGN_OR_RETURN(const uint64_t version, Unsigned(document, "extrinsic_version", 255));
  if (version != 4) return Refuse("extrinsic_version must be 4");
  SIGNER_ASSIGN_OR_RETURN(const std::string address_type, Text(document, "address_type"));
  SIGNER_ASSIGN_OR_RETURN(const std::string signature_type, Text(document, "signature_type"));
  if (address_type != kMultiAddressType || signature_type != kMultiSignatureType) {
    return Refuse("the encoder writes MultiAddress and MultiSignature only");
  }
  SIGNER_ASSIGN_OR_RETURN(const uint64_t id_variant, Unsigned(document, "address_id_variant", 255));
  SIGNER_ASSIGN_OR_RETURN(const uint64_t sr_variant,
                          Unsigned(document, "signature_sr25519_variant", 255));
  profile.address_id_variant = static_cast<uint8_t>(id_variant);
  profile.signature_sr25519_variant = static_cast<uint8_t>(sr_variant);
  SIGNER_ASSIGN_OR_RETURN(profile.utility_batch_all, CallIndex(document, "utility_batch_all"));
  SIGNER_ASSIGN_OR_RETURN(profile.balances_transfer_keep_alive,
                          CallIndex(document, "balances_transfer_keep_alive"));
  SIGNER_ASSIGN_OR_RETURN(const std::string source, Text(document, "source"));
  SIGNER_ASSIGN_OR_RETURN(const std::string metadata_hash, Text(document, "metadata_blake2_256"));
  const Json& extensions = document.at("signed_extensions");
  if (!extensions.is_array() || extensions.empty() || extensions.size() > 32) {
    return Refuse("signed_extensions must be a list of 1 to 32 extensions");
  }
  std::set<SignedExtension> seen;
  for (const Json& entry : extensions) {
    SIGNER_ASSIGN_OR_RETURN(const SignedExtension extension, Extension(entry));
    if (!seen.insert(extension).second) return Refuse("a signed extension is listed twice");
    profile.signed_extensions.push_back(extension);
  }
  // Without these the transaction would not be bound to this chain, runtime and account nonce.
  for (SignedExtension required :
       {SignedExtension::kCheckSpecVersion, SignedExtension::kCheckTxVersion,
        SignedExtension::kCheckGenesis, SignedExtension::kCheckMortality,
        SignedExtension::kCheckNonce}) {
    if (!seen.contains(required)) return Refuse("a required signed extension is missing");
  }
  return profile;
}

Result<AccountId> ParseAccount(std::string_view text, uint16_t ss58_prefix) {
  AccountId account{};
  if (text.starts_with("0x")) {
    auto bytes = base::HexDecode(text);
    if (!bytes.ok() || bytes->size() != account.size()) {
      return Status::InvalidArgument("account " + std::string(text) +
                                     " is not 0x and 32 bytes of hex");
    }
    std::copy(bytes->begin(), bytes->end(), account.begin());
    return account;
  }
  auto address = keymgr::Ss58Decode(text);
  if (!address.ok() || address->public_key.size() != account.size()) {
    return Status::InvalidArgument("account " + std::string(text) +
                                   " is not an SS58 address of a 32-byte account");
  }
  if (address->prefix != ss58_prefix) {
    return Status::InvalidArgument("account " + std::string(text) + " is an address of network " +
                                   std::to_string(address->prefix) + ", not of this chain (" +
                                   std::to_string(ss58_prefix) + ")");
  }
  std::copy(address->public_key.begin(), address->public_key.end(), account.begin());
  return account;
}

Result<uint64_t> ParseDecimalAmount(std::string_view text, uint64_t min, uint64_t max) {
  if (text.empty()) return Status::InvalidArgument("an empty value is not a number");
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Status::InvalidArgument(
        "not a plain decimal number (digits only: no sign, space, 0x or separator)");
  }
  // strtoull's base 0, which CLI11 uses, reads a leading zero as octal: refused, not guessed at.
  if (text.size() > 1 && text.front() == '0') {
    return Status::InvalidArgument("a decimal number has no leading zero");
  }
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc::result_out_of_range) {
    return Status::InvalidArgument("the number does not fit in 64 bits");
  }
  if (error != std::errc() || end != text.data() + text.size()) {
    return Status::InvalidArgument("not a plain decimal number");
  }
  if (value < min || value > max) {
    return Status::InvalidArgument("the number must be " + std::to_string(min) + " to " +
                                   std::to_string(max));
  }
  return value;
}

Result<PayoutPlan> ComputePayout(uint64_t total, uint32_t fee_per_mille,
                                 const std::vector<Payee>& payees, size_t max_transfers) {
  if (fee_per_mille > kMaxFeePerMille) {
    return Status::InvalidArgument("the fee must be 0 to 1000 per mille");
  }
  std::set<AccountId> accounts;
  Uint128 points_sum = 0;
  for (const Payee& payee : payees) {
    // Two lines for one account would be paid as two transfers: the input is ambiguous, refuse.
    if (!accounts.insert(payee.account).second) {
      return Status::InvalidArgument("account 0x" + base::HexEncode(payee.account) +
                                     " is listed twice");
    }
    points_sum += payee.points;
  }
  if (points_sum > UINT64_MAX) return Status::InvalidArgument("the points sum beyond 64 bits");

  PayoutPlan plan;
  plan.fee = static_cast<uint64_t>(static_cast<Uint128>(total) * fee_per_mille / kMaxFeePerMille);
  const uint64_t shared = total - plan.fee;
  uint64_t paid = 0;
  if (points_sum != 0) {
    for (const Payee& payee : payees) {
      // shared * points < 2^128 and the quotient is at most shared: no overflow, rounded down.
      const auto amount =
          static_cast<uint64_t>(static_cast<Uint128>(shared) * payee.points / points_sum);
      if (amount == 0) continue;
      plan.transfers.push_back({payee.account, amount});
      paid += amount;
    }
  }
  if (plan.transfers.size() > max_transfers) {
    return Status::InvalidArgument(std::to_string(plan.transfers.size()) +
                                   " transfers, over the maximum of " +
                                   std::to_string(max_transfers) + " per batch");
  }
  plan.remainder = shared - paid;
  return plan;
}

}  // namespace rpc_pool
