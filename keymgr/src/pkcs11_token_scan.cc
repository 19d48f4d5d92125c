// ScanToken: a key listing in one pass over the token's objects.
#include "pkcs11_token_scan.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <string_view>

#include "keymgr/sr25519.h"
#include "pkcs11_labels.h"
#include "pkcs11_native_listing.h"
#include "pkcs11_objects.h"

namespace keymgr::pkcs11 {
namespace {

bool Equals(std::span<const uint8_t> bytes, std::string_view text) {
  return std::equal(bytes.begin(), bytes.end(), text.begin(), text.end());
}

// ObjectAttributes is one read of everything a listing needs of any object. Buffers fit what
// ours hold (labels under 100 bytes, ids 37, applications 42); a longer value is read again
// attribute by attribute, as the searches this replaces did.
struct ObjectAttributes {
  CK_OBJECT_CLASS klass = 0;
  CK_KEY_TYPE key_type = 0;
  std::array<uint8_t, 64> application{};
  std::array<uint8_t, 256> label{};
  std::array<uint8_t, 64> id{};
  CK_BBOOL local = CK_FALSE;
  CK_BBOOL never_extractable = CK_FALSE;
  CK_BBOOL sensitive = CK_FALSE;
  CK_BBOOL extractable = CK_TRUE;
  std::array<CK_ATTRIBUTE, 9> templ{};

  enum Index : size_t {
    kClass,
    kKeyType,
    kApplication,
    kLabel,
    kId,
    kLocal,
    kNeverExtractable,
    kSensitive,
    kExtractable,
  };

  // Read fills what `object` has of the template in one C_GetAttributeValue and returns the
  // module's answer. An attribute the object does not have, or that does not fit, is left
  // unavailable; if the call failed for any other reason (object gone, session lost), nothing is.
  CK_RV Read(Session& session, CK_OBJECT_HANDLE object) {
    templ = {{
        {CKA_CLASS, &klass, sizeof(klass)},
        {CKA_KEY_TYPE, &key_type, sizeof(key_type)},
        {CKA_APPLICATION, application.data(), static_cast<CK_ULONG>(application.size())},
        {CKA_LABEL, label.data(), static_cast<CK_ULONG>(label.size())},
        {CKA_ID, id.data(), static_cast<CK_ULONG>(id.size())},
        {CKA_LOCAL, &local, sizeof(local)},
        {CKA_NEVER_EXTRACTABLE, &never_extractable, sizeof(never_extractable)},
        {CKA_SENSITIVE, &sensitive, sizeof(sensitive)},
        {CKA_EXTRACTABLE, &extractable, sizeof(extractable)},
    }};
    // PKCS#11 3.0 section 5.7.5: every attribute is processed; those the object lacks or that do
    // not fit get CK_UNAVAILABLE_INFORMATION, and the call reports one of these two errors.
    const CK_RV rv = session.fn()->C_GetAttributeValue(session.handle(), object, templ.data(),
                                                       static_cast<CK_ULONG>(templ.size()));
    if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_BUFFER_TOO_SMALL) {
      for (CK_ATTRIBUTE& attribute : templ) attribute.ulValueLen = CK_UNAVAILABLE_INFORMATION;
    }
    return rv;
  }

  bool Has(Index index) const { return templ[index].ulValueLen != CK_UNAVAILABLE_INFORMATION; }
  std::span<const uint8_t> Bytes(Index index) const {
    return {static_cast<const uint8_t*>(templ[index].pValue), templ[index].ulValueLen};
  }
};

// BytesOrRead is the attribute from `read` if it was available, otherwise read on its own.
base::Result<std::vector<uint8_t>> BytesOrRead(Session& session, CK_OBJECT_HANDLE object,
                                               const ObjectAttributes& read,
                                               ObjectAttributes::Index index,
                                               CK_ATTRIBUTE_TYPE type) {
  if (read.Has(index)) {
    const std::span<const uint8_t> bytes = read.Bytes(index);
    return std::vector<uint8_t>(bytes.begin(), bytes.end());
  }
  return GetBytes(session, object, type);
}

base::Status AddPrivateKey(Session& session, CK_OBJECT_HANDLE object, const ObjectAttributes& read,
                           TokenScan& scan) {
  std::optional<KeyInfo> info;
  using A = ObjectAttributes;
  if (read.Has(A::kKeyType) && read.Has(A::kLabel) && read.Has(A::kId) && read.Has(A::kLocal) &&
      read.Has(A::kNeverExtractable) && read.Has(A::kSensitive) && read.Has(A::kExtractable)) {
    PrivateKeyAttributes attributes;
    attributes.key_type = read.key_type;
    attributes.label.assign(read.Bytes(A::kLabel).begin(), read.Bytes(A::kLabel).end());
    attributes.id.assign(read.Bytes(A::kId).begin(), read.Bytes(A::kId).end());
    attributes.local = read.local;
    attributes.never_extractable = read.never_extractable;
    attributes.sensitive = read.sensitive;
    attributes.extractable = read.extractable;
    SIGNER_ASSIGN_OR_RETURN(info, DescribePrivateKeyAttributes(attributes));
  } else {
    SIGNER_ASSIGN_OR_RETURN(info, DescribePrivateKey(session, object));
  }
  if (info.has_value()) {
    scan.native_handles.emplace_back(info->id, object);
    scan.native_keys.push_back(std::move(*info));
  }
  return base::Status::Ok();
}

base::Status AddDataObject(Session& session, CK_OBJECT_HANDLE object, const ObjectAttributes& read,
                           TokenScan& scan) {
  using A = ObjectAttributes;
  SIGNER_ASSIGN_OR_RETURN(const std::vector<uint8_t> application,
                          BytesOrRead(session, object, read, A::kApplication, CKA_APPLICATION));
  if (Equals(application, kWrappedApplication)) {
    SIGNER_ASSIGN_OR_RETURN(const std::vector<uint8_t> label,
                            BytesOrRead(session, object, read, A::kLabel, CKA_LABEL));
    std::optional<ParsedLabel> parsed = ParseLabel(label);
    if (parsed.has_value() && parsed->id.public_key.size() == kSr25519PublicSize) {
      scan.wrapped.push_back(WrappedObject{object, std::move(*parsed)});
    }
  } else if (Equals(application, kDisabledApplication)) {
    SIGNER_ASSIGN_OR_RETURN(const std::vector<uint8_t> label,
                            BytesOrRead(session, object, read, A::kLabel, CKA_LABEL));
    // A marker we cannot read disables nothing we could name; it is not ours to judge.
    if (std::optional<KeyId> id = ParseDisabledLabel(label)) scan.disabled.insert(std::move(*id));
  }
  return base::Status::Ok();
}

}  // namespace

base::Result<TokenScan> ScanToken(Session& session) {
  SIGNER_ASSIGN_OR_RETURN(const std::vector<CK_OBJECT_HANDLE> objects,
                          FindObjects(session, std::span<CK_ATTRIBUTE>()));
  TokenScan scan;
  size_t wrapping_keys = 0;
  ObjectAttributes read;
  for (CK_OBJECT_HANDLE object : objects) {
    const CK_RV rv = read.Read(session, object);
    // Destroyed since the search began (by another process): the listing is then as if made
    // after that.
    if (HandleGone(rv)) continue;
    if (!read.Has(ObjectAttributes::kClass)) {
      // Read on its own, for the error the searches' own reads would have given.
      SIGNER_ASSIGN_OR_RETURN(read.klass, GetUlong(session, object, CKA_CLASS));
    }
    if (read.klass == CKO_PRIVATE_KEY) {
      SIGNER_RETURN_IF_ERROR(AddPrivateKey(session, object, read, scan));
    } else if (read.klass == CKO_DATA) {
      SIGNER_RETURN_IF_ERROR(AddDataObject(session, object, read, scan));
    } else if (read.klass == CKO_SECRET_KEY && read.Has(ObjectAttributes::kKeyType) &&
               read.key_type == CKK_AES && read.Has(ObjectAttributes::kLabel) &&
               Equals(read.Bytes(ObjectAttributes::kLabel), kWrappingKeyLabel)) {
      ++wrapping_keys;
      scan.wrapping_key = object;
    }
  }
  // Several candidates are ambiguous: leave the choice to Unwrap's search, which refuses them.
  if (wrapping_keys != 1) scan.wrapping_key.reset();
  return scan;
}

}  // namespace keymgr::pkcs11
