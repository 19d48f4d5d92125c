// Storing ed25519 and ecdsa keys in the HSM: importing a secret once, or generating on the token.
#include "pkcs11_native_store.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/hex.h"
#include "keymgr/ecdsa.h"
#include "keymgr/ed25519.h"
#include "pkcs11_disable_markers.h"
#include "pkcs11_labels.h"
#include "pkcs11_objects.h"
#include "pkcs11_secp256k1.h"

namespace keymgr::pkcs11 {
namespace {

// DER OIDs for CKA_EC_PARAMS: id-Ed25519 (RFC 8410) and secp256k1 (SEC 2).
constexpr uint8_t kEd25519Oid[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
constexpr uint8_t kSecp256k1Oid[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a};

std::span<const uint8_t> EcParams(base::Scheme scheme) {
  if (scheme == base::Scheme::kEd25519) return kEd25519Oid;
  return kSecp256k1Oid;
}

// DecodeEcPoint accepts CKA_EC_POINT either DER-wrapped in an OCTET STRING (PKCS#11 2.40) or raw
// (some modules).
std::vector<uint8_t> DecodeEcPoint(std::vector<uint8_t> point) {
  if (point.size() >= 2 && point[0] == 0x04 && point[1] < 0x80 && point[1] + 2u == point.size()) {
    return std::vector<uint8_t>(point.begin() + 2, point.end());
  }
  return point;
}

std::vector<uint8_t> DerOctetString(std::span<const uint8_t> bytes) {
  // Sized up front: GCC 12's -Warray-bounds misfires on insert() after an initializer list here.
  std::vector<uint8_t> der(2 + bytes.size());
  der[0] = 0x04;
  der[1] = static_cast<uint8_t>(bytes.size());
  std::copy(bytes.begin(), bytes.end(), der.begin() + 2);
  return der;
}

}  // namespace

base::Result<KeyInfo> NativeKeyStore::Import(Session& session, const base::KeyTypeId& key_type,
                                             base::Scheme scheme, std::span<const uint8_t> secret,
                                             std::span<const uint8_t> public_key, bool check_absent,
                                             bool disabled) {
  KeyInfo info;
  info.id = KeyId{key_type, std::vector<uint8_t>(public_key.begin(), public_key.end())};
  info.scheme = scheme;
  info.protection = KeyProtection::kHsmNonExtractable;
  info.generated_in_custody = false;
  info.created_at_unix = clock_();
  info.disabled = disabled;
  if (check_absent) {
    SIGNER_RETURN_IF_ERROR(ensure_absent_(session, info.id));
  }
  std::optional<ObjectGuard> marker_guard;
  if (disabled) {
    SIGNER_ASSIGN_OR_RETURN(const std::optional<CK_OBJECT_HANDLE> marker,
                            WriteMarkerIfAbsent(session, info.id, info.created_at_unix));
    if (marker.has_value()) marker_guard.emplace(session, *marker);
  }

  std::vector<uint8_t> ec_point;
  if (scheme == base::Scheme::kEd25519) {
    ec_point = DerOctetString(public_key);
  } else {
    SIGNER_ASSIGN_OR_RETURN(const auto uncompressed, UncompressSecp256k1(public_key));
    ec_point = DerOctetString(uncompressed);
  }
  const std::vector<uint8_t> id_bytes = IdBytes(info.id);
  const std::string label = MakeLabel(info.id, info.created_at_unix, kOriginImported);
  const std::span<const uint8_t> params = EcParams(scheme);
  CK_KEY_TYPE p11_key_type = Pkcs11KeyType(scheme);

  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE private_templ[] = {
      AttrOf(CKA_CLASS, private_class), AttrOf(CKA_KEY_TYPE, p11_key_type),
      AttrOf(CKA_TOKEN, kTrue),         AttrOf(CKA_PRIVATE, kTrue),
      AttrOf(CKA_SENSITIVE, kTrue),     AttrOf(CKA_EXTRACTABLE, kFalse),
      AttrOf(CKA_SIGN, kTrue),          AttrOf(CKA_DERIVE, kFalse),
      AttrOf(CKA_DECRYPT, kFalse),      AttrOf(CKA_UNWRAP, kFalse),
      AttrBytes(CKA_EC_PARAMS, params), AttrBytes(CKA_VALUE, secret),
      AttrBytes(CKA_ID, id_bytes),      Attr(CKA_LABEL, label.data(), label.size()),
  };
  CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
  const CK_RV private_created = session.ChangeTokenObjects([&] {
    return session.fn()->C_CreateObject(session.handle(), private_templ, std::size(private_templ),
                                        &private_key);
  });
  SIGNER_RETURN_IF_ERROR(session.Check(private_created, "C_CreateObject (private key)"));
  ObjectGuard private_guard(session, private_key);
  CK_OBJECT_CLASS public_class = CKO_PUBLIC_KEY;
  CK_ATTRIBUTE public_templ[] = {
      AttrOf(CKA_CLASS, public_class),
      AttrOf(CKA_KEY_TYPE, p11_key_type),
      AttrOf(CKA_TOKEN, kTrue),
      AttrOf(CKA_PRIVATE, kFalse),
      AttrOf(CKA_VERIFY, kTrue),
      AttrBytes(CKA_EC_PARAMS, params),
      AttrBytes(CKA_EC_POINT, ec_point),
      AttrBytes(CKA_ID, id_bytes),
      Attr(CKA_LABEL, label.data(), label.size()),
  };
  CK_OBJECT_HANDLE public_object = CK_INVALID_HANDLE;
  const CK_RV public_created = session.ChangeTokenObjects([&] {
    return session.fn()->C_CreateObject(session.handle(), public_templ, std::size(public_templ),
                                        &public_object);
  });
  SIGNER_RETURN_IF_ERROR(session.Check(public_created, "C_CreateObject (public key)"));
  ObjectGuard public_guard(session, public_object);
  SIGNER_RETURN_IF_ERROR(signer_.ProbeNew(session, info.id, scheme, private_key));
  private_guard.Release();
  public_guard.Release();
  if (marker_guard.has_value()) marker_guard->Release();
  return info;
}

base::Result<KeyInfo> NativeKeyStore::Generate(Session& session, const base::KeyTypeId& key_type,
                                               base::Scheme scheme) {
  std::array<uint8_t, 16> nonce{};
  SIGNER_RETURN_IF_ERROR(
      session.Check(session.fn()->C_GenerateRandom(session.handle(), nonce.data(), nonce.size()),
                    "C_GenerateRandom"));
  const std::string pending_id = std::string(kPendingIdPrefix) + base::HexEncode(nonce);
  const std::span<const uint8_t> params = EcParams(scheme);
  CK_ATTRIBUTE public_templ[] = {
      AttrOf(CKA_TOKEN, kTrue),
      AttrOf(CKA_PRIVATE, kFalse),
      AttrOf(CKA_VERIFY, kTrue),
      AttrBytes(CKA_EC_PARAMS, params),
      Attr(CKA_ID, pending_id.data(), pending_id.size()),
  };
  CK_ATTRIBUTE private_templ[] = {
      AttrOf(CKA_TOKEN, kTrue),
      AttrOf(CKA_PRIVATE, kTrue),
      AttrOf(CKA_SENSITIVE, kTrue),
      AttrOf(CKA_EXTRACTABLE, kFalse),
      AttrOf(CKA_SIGN, kTrue),
      AttrOf(CKA_DERIVE, kFalse),
      AttrOf(CKA_DECRYPT, kFalse),
      AttrOf(CKA_UNWRAP, kFalse),
      Attr(CKA_ID, pending_id.data(), pending_id.size()),
  };
  CK_MECHANISM mechanism{
      scheme == base::Scheme::kEd25519 ? CKM_EC_EDWARDS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, nullptr,
      0};
  CK_OBJECT_HANDLE public_object = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
  const CK_RV generated = session.ChangeTokenObjects([&] {
    return session.fn()->C_GenerateKeyPair(session.handle(), &mechanism, public_templ,
                                           std::size(public_templ), private_templ,
                                           std::size(private_templ), &public_object, &private_key);
  });
  SIGNER_RETURN_IF_ERROR(session.Check(generated, "C_GenerateKeyPair"));
  ObjectGuard public_guard(session, public_object);
  ObjectGuard private_guard(session, private_key);
  SIGNER_ASSIGN_OR_RETURN(std::vector<uint8_t> point,
                          GetBytes(session, public_object, CKA_EC_POINT));
  std::vector<uint8_t> public_key = DecodeEcPoint(std::move(point));
  if (scheme == base::Scheme::kEcdsa) {
    SIGNER_ASSIGN_OR_RETURN(const EcdsaPublic compressed, CompressSecp256k1(public_key));
    public_key.assign(compressed.begin(), compressed.end());
  } else if (public_key.size() != kEd25519PublicSize) {
    return base::Status::Internal("HSM returned an ed25519 public key of unexpected size");
  }
  KeyInfo info;
  info.id = KeyId{key_type, std::move(public_key)};
  info.scheme = scheme;
  info.protection = KeyProtection::kHsmNonExtractable;
  info.generated_in_custody = true;
  info.created_at_unix = clock_();
  SIGNER_RETURN_IF_ERROR(ensure_absent_(session, info.id));
  const std::vector<uint8_t> id_bytes = IdBytes(info.id);
  const std::string label = MakeLabel(info.id, info.created_at_unix, kOriginGenerated);
  CK_ATTRIBUTE identity[] = {AttrBytes(CKA_ID, id_bytes),
                             Attr(CKA_LABEL, label.data(), label.size())};
  for (CK_OBJECT_HANDLE object : {public_object, private_key}) {
    const CK_RV identity_set = session.ChangeTokenObjects([&] {
      return session.fn()->C_SetAttributeValue(session.handle(), object, identity,
                                               std::size(identity));
    });
    SIGNER_RETURN_IF_ERROR(session.Check(identity_set, "C_SetAttributeValue (key identity)"));
  }
  SIGNER_RETURN_IF_ERROR(signer_.ProbeNew(session, info.id, scheme, private_key));
  public_guard.Release();
  private_guard.Release();
  return info;
}

}  // namespace keymgr::pkcs11
