// Token initialisation over PKCS#11: how a development or test token is made, the way softhsm2-util
// --init-token does.
#pragma once

#include <string>
#include <string_view>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace keymgr {

// InitializeToken loads the PKCS#11 module at `module_path` (through the same per-process module
// registry custody uses), initialises the first uninitialised token as `label` with `so_pin`, and
// sets `user_pin` as its user PIN. Fails with kUnavailable, naming the PKCS#11 call, when the
// module cannot be loaded, no uninitialised slot is left, or the token refuses a step. Production
// tokens are initialised with their vendor's tools; this serves `signerctl dev init` and tests.
base::Status InitializeToken(const std::string& module_path, std::string_view label,
                             const base::SecretBytes& so_pin, const base::SecretBytes& user_pin);

}  // namespace keymgr
