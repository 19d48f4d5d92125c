// What a key listing reports of one HSM-native (ed25519 or ecdsa) private key object.
#pragma once

#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "base/status.h"
#include "keymgr/custody.h"
#include "pkcs11_module.h"

namespace keymgr::pkcs11 {

// PrivateKeyAttributes is what a listing reads of one private key object.
struct PrivateKeyAttributes {
  CK_ULONG key_type = 0;
  std::vector<uint8_t> label;
  std::vector<uint8_t> id;
  CK_BBOOL local = CK_FALSE;
  CK_BBOOL never_extractable = CK_FALSE;
  CK_BBOOL sensitive = CK_FALSE;
  CK_BBOOL extractable = CK_TRUE;
};

// DescribePrivateKeyAttributes is DescribePrivateKey for attributes already read (a token scan
// reads them with the other objects' attributes): nullopt if they are not one of our keys,
// kInternal for a key of ours that is extractable or not sensitive.
base::Result<std::optional<KeyInfo>> DescribePrivateKeyAttributes(const PrivateKeyAttributes& read);

// DescribePrivateKey builds KeyInfo for one private key object, or nullopt if it is not one of
// ours (a key type we use, a label that parses, and a CKA_ID that agrees with it). It reads every
// attribute in one call when it can, otherwise attribute by attribute, failing on the first one
// that cannot be read. Fails with kInternal for a key of ours that is extractable or not
// sensitive: an operator must see a key that lost its protection.
base::Result<std::optional<KeyInfo>> DescribePrivateKey(Session& session, CK_OBJECT_HANDLE object);

}  // namespace keymgr::pkcs11
