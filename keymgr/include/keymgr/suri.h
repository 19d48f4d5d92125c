// Secret URIs (`phrase//hard/soft///password`, `0x` seeds, dev phrase) and the keypairs they name.
#pragma once

#include <string_view>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "keymgr/junction.h"

namespace keymgr {

// kDevPhrase is Substrate's development phrase, used when a SURI has no phrase (for example
// `//Alice`).
inline constexpr std::string_view kDevPhrase =
    "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

// ParsedSuri is a SURI split into its parts. The phrase (or 0x seed text) and the password are
// secret and held in SecretBytes (ASCII, not NUL-terminated). Move-only.
struct ParsedSuri {
  base::SecretBytes phrase;  // the dev phrase if the SURI had none
  std::vector<DeriveJunction> path;
  base::SecretBytes password;  // empty if none
  bool has_password = false;
};

// ParseSuri splits `suri` per substrate/primitives/core/src/address_uri.rs.
// Fails with kInvalidArgument on a malformed SURI; the message never repeats secret parts.
base::Result<ParsedSuri> ParseSuri(std::string_view suri);

// RootSecretFromSuri returns the 32-byte root secret a parsed SURI names before its path is
// applied: the decoded 0x seed (the password is then ignored, as in Substrate), or the BIP-39
// mini-secret.
base::Result<base::SecretBytes> RootSecretFromSuri(const ParsedSuri& suri);

}  // namespace keymgr
