// Fuzzes every FROST decoder a key agent or coordinator runs on network bytes, and signing checks
// on decoded input.
//
// Input layout: [selector][suite][bytes...]. The suite byte picks ed25519, ristretto255 or sr25519
// (modulo 3). Each decoder that accepts its input must re-encode it to the same bytes. Selector 9
// feeds a decoded commitment list, shares and message to share verification and aggregation
// against a fixed 2-of-3 key (the RFC 9591 vector's key), so the arithmetic behind the decoders is
// reached too.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/secret_bytes.h"
#include "frost_internal.h"
#include "keymgr/frost.h"

namespace {

using keymgr::frost::Suite;
namespace frost = keymgr::frost;

template <typename Encoded>
void RequireSame(const Encoded& encoded, std::span<const uint8_t> input) {
  if (!std::equal(encoded.begin(), encoded.end(), input.begin(), input.end())) {
    __builtin_trap();  // a value that decodes must encode back to the same bytes
  }
}

// FixedKey is a 2-of-3 dealer split of the RFC 9591 vectors' group secret in the given suite.
const frost::PublicKeyPackage& FixedKey(Suite suite) {
  static const auto make = [](Suite s) {
    const frost::Scalar secret = {0x7b, 0x1c, 0x33, 0xd3, 0xf5, 0x29, 0x1d, 0x85, 0xde, 0x66, 0x48,
                                  0x33, 0xbe, 0xb1, 0xad, 0x46, 0x9f, 0x7f, 0xb6, 0x02, 0x5a, 0x0e,
                                  0xc7, 0x8b, 0x3a, 0x79, 0x0c, 0x6e, 0x13, 0xa9, 0x83, 0x04};
    const frost::Scalar coefficient = {0x17, 0x81, 0x99, 0x86, 0x0e, 0xdd, 0x8c, 0x62,
                                       0xf5, 0x21, 0x2e, 0xe9, 0x1e, 0xff, 0x12, 0x95,
                                       0xd0, 0xd6, 0x70, 0xab, 0x4e, 0xd4, 0x50, 0x68,
                                       0x66, 0xba, 0xe5, 0x7e, 0x70, 0x30, 0xb2, 0x04};
    const frost::Scalar coefficients[] = {coefficient};
    return frost::internal::TrustedDealerSplitWithCoefficients(s, secret, coefficients, 3)
        .value()
        .public_package;
  };
  static const frost::PublicKeyPackage kKeys[] = {make(Suite::kEd25519), make(Suite::kRistretto255),
                                                  make(Suite::kSr25519)};
  return kKeys[static_cast<int>(suite) - 1];
}

// FuzzSigning reads [list length u8][list][share count u8][shares][message].
void FuzzSigning(Suite suite, std::span<const uint8_t> bytes) {
  if (bytes.size() < 2) {
    return;
  }
  const size_t list_size = std::min<size_t>(bytes[0] * frost::kCommitmentsSize, bytes.size() - 1);
  auto list = frost::DecodeCommitmentList(suite, bytes.subspan(1, list_size));
  bytes = bytes.subspan(1 + list_size);
  if (!list.ok() || bytes.empty()) {
    return;
  }
  const size_t share_bytes =
      std::min<size_t>(bytes[0] * frost::kSignatureShareSize, bytes.size() - 1);
  std::vector<frost::SignatureShare> shares;
  for (size_t offset = 0; offset + frost::kSignatureShareSize <= share_bytes;
       offset += frost::kSignatureShareSize) {
    auto share =
        frost::SignatureShare::Decode(bytes.subspan(1 + offset, frost::kSignatureShareSize));
    if (share.ok()) shares.push_back(*share);
  }
  const std::span<const uint8_t> message = bytes.subspan(1 + share_bytes);
  const frost::PublicKeyPackage& key = FixedKey(suite);
  for (const frost::SignatureShare& share : shares) {
    (void)frost::VerifySignatureShare(key, message, *list, share);
  }
  std::vector<frost::Identifier> culprits;
  (void)frost::Aggregate(key, message, *list, shares, &culprits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  const uint8_t selector = data[0];
  const Suite suite = static_cast<Suite>(1 + data[1] % 3);
  const std::span<const uint8_t> bytes(data + 2, size - 2);

  switch (selector % 11) {
    case 0:
      if (auto id = frost::Identifier::Decode(bytes); id.ok()) RequireSame(id->Encode(), bytes);
      break;
    case 1:
      if (auto scalar = frost::DecodeScalar(bytes); scalar.ok()) RequireSame(*scalar, bytes);
      break;
    case 2:
      if (auto element = frost::DecodeElement(suite, bytes); element.ok()) {
        RequireSame(*element, bytes);
      }
      break;
    case 3:
      if (auto entry = frost::SigningCommitments::Decode(suite, bytes); entry.ok()) {
        RequireSame(entry->Encode(), bytes);
      }
      break;
    case 4:
      if (auto list = frost::DecodeCommitmentList(suite, bytes); list.ok()) {
        RequireSame(frost::EncodeCommitmentList(*list), bytes);
      }
      break;
    case 5:
      if (auto share = frost::SignatureShare::Decode(bytes); share.ok()) {
        RequireSame(share->Encode(), bytes);
      }
      break;
    case 6:
      if (auto package = frost::DkgRound1Package::Decode(suite, bytes); package.ok()) {
        RequireSame(package->Encode(), bytes);
      }
      break;
    case 7:
      if (auto share = frost::DkgShare::Decode(bytes); share.ok()) {
        RequireSame(share->Encode().span(), bytes);
      }
      break;
    case 8:
      if (auto commitment = frost::DecodeVssCommitment(suite, bytes); commitment.ok()) {
        RequireSame(frost::EncodeVssCommitment(*commitment), bytes);
      }
      break;
    case 9:
      FuzzSigning(suite, bytes);
      break;
    default:
      if (auto package = frost::PublicKeyPackage::Parse(bytes); package.ok()) {
        RequireSame(package->Serialize(), bytes);
      }
      if (auto key = frost::KeyPackage::Parse(bytes); key.ok()) {
        RequireSame(key->Serialize().span(), bytes);
      }
      if (bytes.size() >= frost::kElementSize + frost::kSignatureSize) {
        // [public key][signature][message]
        (void)frost::VerifySignature(suite, bytes.first(frost::kElementSize),
                                     bytes.subspan(frost::kElementSize + frost::kSignatureSize),
                                     bytes.subspan(frost::kElementSize, frost::kSignatureSize));
      }
      break;
  }
  return 0;
}
