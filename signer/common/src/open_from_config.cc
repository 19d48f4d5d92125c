// Opens the HSM token, protection settings and server credentials a SignerConfig names.
#include "signer/open_from_config.h"

#include <chrono>
#include <cstdlib>
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
    ::unsetenv(hsm.pin_env.c_str());  // children must not inherit it, whether it was read or not
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
