// What a key listing reports of one HSM-native (ed25519 or ecdsa) private key object.
#include "pkcs11_native_listing.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "keymgr/ecdsa.h"
#include "keymgr/ed25519.h"
#include "pkcs11_labels.h"

namespace keymgr::pkcs11 {
namespace {

// ReadAllAtOnce reads every attribute a listing needs in one C_GetAttributeValue, or nullopt if
// that one call does not succeed (a label or id that does not fit, an attribute the object lacks,
// a lost session); the caller then reads them one by one for its exact errors. A listing reads
// every key of every validator, and SoftHSM2's file store re-validates the object on each call,
// so one call instead of nine per key is most of a listing's cost.
std::optional<PrivateKeyAttributes> ReadAllAtOnce(Session& session, CK_OBJECT_HANDLE object) {
  PrivateKeyAttributes read;
  // Our labels are under 100 bytes and our ids 37; anything longer is not one of ours anyway.
  std::array<uint8_t, 256> label{};
  std::array<uint8_t, 64> id{};
  CK_ATTRIBUTE templ[] = {
      AttrOf(CKA_KEY_TYPE, read.key_type),
      {CKA_LABEL, label.data(), static_cast<CK_ULONG>(label.size())},
      {CKA_ID, id.data(), static_cast<CK_ULONG>(id.size())},
      AttrOf(CKA_LOCAL, read.local),
      AttrOf(CKA_NEVER_EXTRACTABLE, read.never_extractable),
      AttrOf(CKA_SENSITIVE, read.sensitive),
      AttrOf(CKA_EXTRACTABLE, read.extractable),
  };
  if (session.fn()->C_GetAttributeValue(session.handle(), object, templ, std::size(templ)) !=
      CKR_OK) {
    return std::nullopt;
  }
  read.label.assign(label.begin(), label.begin() + static_cast<ptrdiff_t>(templ[1].ulValueLen));
  read.id.assign(id.begin(), id.begin() + static_cast<ptrdiff_t>(templ[2].ulValueLen));
  return read;
}

// SchemeOfKeyType returns the scheme and public key size of a PKCS#11 key type of ours.
std::optional<std::pair<base::Scheme, size_t>> SchemeOfKeyType(CK_ULONG key_type) {
  if (key_type == CKK_EC_EDWARDS) return std::pair{base::Scheme::kEd25519, kEd25519PublicSize};
  if (key_type == CKK_EC) return std::pair{base::Scheme::kEcdsa, kEcdsaPublicSize};
  return std::nullopt;
}

// OurIdentity returns the identity a private key's label gives, if the object is one of ours:
// a key type we use, a label that parses, and a CKA_ID that agrees with it.
std::optional<ParsedLabel> OurIdentity(const PrivateKeyAttributes& read) {
  std::optional<std::pair<base::Scheme, size_t>> scheme = SchemeOfKeyType(read.key_type);
  if (!scheme.has_value()) return std::nullopt;
  std::optional<ParsedLabel> parsed = ParseLabel(read.label);
  if (!parsed.has_value() || parsed->id.public_key.size() != scheme->second ||
      IdBytes(parsed->id) != read.id) {
    return std::nullopt;
  }
  return parsed;
}

}  // namespace

base::Result<std::optional<KeyInfo>> DescribePrivateKeyAttributes(
    const PrivateKeyAttributes& read) {
  std::optional<ParsedLabel> parsed = OurIdentity(read);
  if (!parsed.has_value()) return std::optional<KeyInfo>();
  if (read.sensitive != CK_TRUE || read.extractable != CK_FALSE) {
    // Reported rather than hidden: an operator must see a key that lost its protection.
    return base::Status::Internal("private key " +
                                  std::string(read.label.begin(), read.label.end()) +
                                  " is extractable or not sensitive");
  }
  KeyInfo info;
  info.id = std::move(parsed->id);
  info.scheme = SchemeOfKeyType(read.key_type)->first;
  info.protection = KeyProtection::kHsmNonExtractable;
  // The HSM's own attestation, not our label: generated on the token and never extractable since.
  info.generated_in_custody = read.local == CK_TRUE && read.never_extractable == CK_TRUE;
  info.created_at_unix = parsed->created_at;
  return std::optional<KeyInfo>(std::move(info));
}

base::Result<std::optional<KeyInfo>> DescribePrivateKey(Session& session, CK_OBJECT_HANDLE object) {
  if (std::optional<PrivateKeyAttributes> read = ReadAllAtOnce(session, object)) {
    return DescribePrivateKeyAttributes(*read);
  }
  PrivateKeyAttributes read;
  SIGNER_ASSIGN_OR_RETURN(read.key_type, GetUlong(session, object, CKA_KEY_TYPE));
  if (!SchemeOfKeyType(read.key_type).has_value()) return std::optional<KeyInfo>();
  base::Result<std::vector<uint8_t>> label = GetBytes(session, object, CKA_LABEL);
  base::Result<std::vector<uint8_t>> id_bytes = GetBytes(session, object, CKA_ID);
  SIGNER_RETURN_IF_ERROR(label);
  SIGNER_RETURN_IF_ERROR(id_bytes);
  read.label = std::move(label).value();
  read.id = std::move(id_bytes).value();
  if (!OurIdentity(read).has_value()) return std::optional<KeyInfo>();
  base::Result<bool> local = GetBool(session, object, CKA_LOCAL);
  base::Result<bool> never_extractable = GetBool(session, object, CKA_NEVER_EXTRACTABLE);
  base::Result<bool> sensitive = GetBool(session, object, CKA_SENSITIVE);
  base::Result<bool> extractable = GetBool(session, object, CKA_EXTRACTABLE);
  if (!local.ok() || !never_extractable.ok() || !sensitive.ok() || !extractable.ok()) {
    return base::Status::Internal("cannot read key protection attributes");
  }
  read.local = *local ? CK_TRUE : CK_FALSE;
  read.never_extractable = *never_extractable ? CK_TRUE : CK_FALSE;
  read.sensitive = *sensitive ? CK_TRUE : CK_FALSE;
  read.extractable = *extractable ? CK_TRUE : CK_FALSE;
  return DescribePrivateKeyAttributes(read);
}

}  // namespace keymgr::pkcs11
