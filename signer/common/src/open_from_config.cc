// Opens the HSM token, protection settings and server credentials a SignerConfig names.
#include "signer/open_from_config.h"

#include <sodium.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace signer {

base::Result<std::unique_ptr<keymgr::Pkcs11Custody>> OpenCustody(const HsmConfig& hsm) {
  keymgr::Pkcs11Config token;
  token.module_path = hsm.module;
  token.token_label = hsm.token_label;
  token.max_sessions = hsm.max_sessions;
  token.disabled_refresh = std::chrono::milliseconds(hsm.disabled_refresh_ms);
  auto pin = hsm.pin_file.empty() ? keymgr::ReadPinFromEnv(hsm.pin_env)
                                  : keymgr::ReadPinFromFile(hsm.pin_file);
  if (!hsm.pin_env.empty()) {
    // The value is overwritten where it lies before the variable goes: unsetenv only unlinks it,
    // and the initial environment block (also /proc/PID/environ) would keep the PIN for the
    // process's life. Children must not inherit it either, whether it was read or not.
    if (char* value = std::getenv(hsm.pin_env.c_str()); value != nullptr) {
      sodium_memzero(value, std::strlen(value));
    }
    ::unsetenv(hsm.pin_env.c_str());
  }
  if (!pin.ok()) {
    return base::Status::InvalidArgument(
        (hsm.pin_file.empty() ? "hsm.pin_env: " : "hsm.pin_file: ") + pin.status().message());
  }
  token.pin = std::move(*pin);
  auto custody = keymgr::Pkcs11Custody::Open(std::move(token));
  if (!custody.ok()) {
    return base::Status::Unavailable("cannot open the HSM token: " + custody.status().message());
  }
  return std::move(*custody);
}

slashing::ProtectionPolicy ProtectionPolicyFor(const HistoryConfig& history) {
  slashing::ProtectionPolicy protection;
  for (const std::string& name : history.allow_unrecognised) {
    if (auto key_type = base::MakeKeyTypeId(name); key_type.ok()) {
      protection.allow_unrecognised.push_back(*key_type);
    }
  }
  return protection;
}

base::Result<std::unique_ptr<tls::ReloadableServerCredentials>> OpenServerCredentials(
    const ServerConfig& server) {
  SIGNER_RETURN_IF_ERROR(tls::RequireTls13ForNewTlsContexts());
  return tls::ReloadableServerCredentials::Create(tls::ServerCredentialFiles{
      server.tls.cert_file, server.tls.key_file, server.tls.client_ca_file});
}

}  // namespace signer
