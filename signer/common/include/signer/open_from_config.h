// Opening what a SignerConfig names (HSM custody, protection, TLS), one way for both programs.
#pragma once

#include <memory>

#include "base/status.h"
#include "keymgr/pkcs11_custody.h"
#include "signer/config.h"
#include "slashing/protector.h"
#include "tls/grpc_credentials.h"

namespace signer {

// OpenCustody logs in to the token `hsm` names. The PIN comes from the file or environment variable
// the config names, never from argv; the environment copy is removed so nothing this process starts
// inherits it. Fails with kInvalidArgument when the PIN cannot be read and kUnavailable when the
// token cannot be opened, each message saying which.
base::Result<std::unique_ptr<keymgr::Pkcs11Custody>> OpenCustody(const HsmConfig& hsm);

// ProtectionPolicyFor returns the protection settings of the history section (the key types whose
// unrecognised payloads are allowed; the config parser has already checked their names).
slashing::ProtectionPolicy ProtectionPolicyFor(const HistoryConfig& history);

// OpenServerCredentials makes every later TLS context TLS 1.3 only and loads the server's
// certificate, key and client CA (reloadable on SIGHUP). Fails with the TLS layer's status.
base::Result<std::unique_ptr<tls::ReloadableServerCredentials>> OpenServerCredentials(
    const ServerConfig& server);

}  // namespace signer
