// How the PKCS#11 custody names its token objects: CKA_ID, CKA_LABEL and CKA_APPLICATION values.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keymgr/custody.h"

namespace keymgr::pkcs11 {

// kWrappedApplication is the CKA_APPLICATION of the data objects that hold wrapped sr25519
// secrets; the version is the record format.
inline constexpr std::string_view kWrappedApplication = "polkadot-remote-signer/sr25519-wrapped/v1";
// kWrappingKeyLabel is the CKA_LABEL of the AES key that wraps every sr25519 secret.
inline constexpr std::string_view kWrappingKeyLabel =
    "polkadot-remote-signer/sr25519-wrapping-key/v1";
// kDisabledApplication is the CKA_APPLICATION of disable markers: data objects labelled
// "<key type>:<public key hex>" whose presence on the token is what makes a key disabled.
inline constexpr std::string_view kDisabledApplication = "polkadot-remote-signer/disabled/v1";
// kFrostShareApplication is the CKA_APPLICATION of the data objects that hold a key agent's wrapped
// FROST shares (key package || public package).
inline constexpr std::string_view kFrostShareApplication =
    "polkadot-remote-signer/frost-share-wrapped/v1";
// kOriginGenerated and kOriginImported end a key's label: whether the secret was made in custody.
inline constexpr std::string_view kOriginGenerated = "generated";
inline constexpr std::string_view kOriginImported = "imported";
// kPendingIdPrefix starts the temporary CKA_ID of a freshly generated pair before its public key
// (and so its identity) is known.
inline constexpr std::string_view kPendingIdPrefix = "pending:";

// IdBytes returns the CKA_ID of `id`'s key objects: key type (4 bytes) || public key.
std::vector<uint8_t> IdBytes(const KeyId& id);

// MakeLabel returns the human-readable identity any PKCS#11 tool shows:
// "<type>:<public hex>:<unix secs>:<origin>".
std::string MakeLabel(const KeyId& id, int64_t created_at, std::string_view origin);

// ParsedLabel is what a label written by MakeLabel says.
struct ParsedLabel {
  KeyId id;
  int64_t created_at = 0;
  bool generated = false;
};

// ParseLabel reads a label written by MakeLabel, or nullopt if `bytes` is not one.
std::optional<ParsedLabel> ParseLabel(std::span<const uint8_t> bytes);

// DisabledLabel is the exact label of `id`'s disable marker, so a marker is found with one search.
std::string DisabledLabel(const KeyId& id);

// ParseDisabledLabel reads a label written by DisabledLabel, or nullopt if `bytes` is not one.
std::optional<KeyId> ParseDisabledLabel(std::span<const uint8_t> bytes);

}  // namespace keymgr::pkcs11
