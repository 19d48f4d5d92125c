// One pass over every object of the token: what a key listing reports, and where each key is.
#pragma once

#include <p11-kit/pkcs11.h>

#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "base/status.h"
#include "keymgr/custody.h"
#include "pkcs11_module.h"
#include "pkcs11_wrapped_keys.h"

namespace keymgr::pkcs11 {

// TokenScan is what ScanToken found.
struct TokenScan {
  // Every HSM-native private key of ours, in the order the module returned them.
  std::vector<KeyInfo> native_keys;
  // Where each of `native_keys` is, for NativeSigner::RememberListed.
  std::vector<std::pair<KeyId, CK_OBJECT_HANDLE>> native_handles;
  // Every wrapped sr25519 object of ours whose label parses (what ListWrapped returns).
  std::vector<WrappedObject> wrapped;
  // The keys that have a disable marker (what ReadDisabled returns).
  std::set<KeyId> disabled;
  // The sr25519 wrapping key, if exactly one object carries its label; unset if none or several.
  std::optional<CK_OBJECT_HANDLE> wrapping_key;
};

// ScanToken finds every object of the token with one search (C_FindObjects with an empty
// template) and reads each object's class, key type, application, label, id and protection flags
// in one C_GetAttributeValue, whatever its class. It reports what a listing made of the
// three searches it replaces would (private keys of ours with DescribePrivateKey's rules,
// ListWrapped, ReadDisabled), with the same errors: an object whose one read does not give all
// it needs is read again the way those did, attribute by attribute. A search makes the module walk
// every object of the token (SoftHSM2 re-checks each object's file and decrypts the compared
// attributes of private objects), so one walk instead of three is most of a start's cost.
// Fails with kInternal for a key of ours that is extractable or not sensitive, or if the token
// holds more than kMaxFoundObjects objects.
base::Result<TokenScan> ScanToken(Session& session);

}  // namespace keymgr::pkcs11
