// What a key listing reports of one HSM-native (ed25519 or ecdsa) private key object.
#pragma once

#include <p11-kit/pkcs11.h>

#include <optional>

#include "base/status.h"
#include "keymgr/custody.h"
#include "pkcs11_module.h"

namespace keymgr::pkcs11 {

// DescribePrivateKey builds KeyInfo for one private key object, or nullopt if it is not one of
// ours (a key type we use, a label that parses, and a CKA_ID that agrees with it). It reads every
// attribute in one call when it can, otherwise attribute by attribute, failing on the first one
// that cannot be read. Fails with kInternal for a key of ours that is extractable or not
// sensitive: an operator must see a key that lost its protection.
base::Result<std::optional<KeyInfo>> DescribePrivateKey(Session& session, CK_OBJECT_HANDLE object);

}  // namespace keymgr::pkcs11
