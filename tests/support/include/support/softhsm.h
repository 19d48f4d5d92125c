// SoftHsm: a private SoftHSM2 configuration and token directory, its tokens made through PKCS#11.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"

namespace support {

// SoftHsm is one softhsm2.conf and the token directory it names; the machine's SoftHSM2
// configuration is never used. Tests hand config_path() to whatever opens the token: SoftHSM2
// reads SOFTHSM2_CONF when it is initialised (ProcessOptions::set_env for a child,
// ScopedEnvironmentVariable for this process). The module path is SIGNER_SOFTHSM2_MODULE.
class SoftHsm {
 public:
  // Create writes `directory`/softhsm2.conf naming `directory`/tokens, making both. Fails with
  // kIoError.
  static base::Result<SoftHsm> Create(const std::filesystem::path& directory);

  // InitToken initialises a token labelled `label` in a free slot, through PKCS#11 as an
  // administrator would: C_InitToken with `so_pin`, then C_InitPIN with `user_pin`. Fails with
  // kFailedPrecondition if SoftHSM2 is already initialised in this process (a custody is open):
  // the token would then land in that configuration's directory. kUnavailable if the module
  // cannot be loaded or refuses.
  base::Status InitToken(std::string_view label, std::string_view user_pin,
                         std::string_view so_pin) const;

  const std::filesystem::path& config_path() const { return config_path_; }
  // ConfigEnv is the SOFTHSM2_CONF=<config_path> entry for a child's environment.
  std::string ConfigEnv() const { return "SOFTHSM2_CONF=" + config_path_.string(); }

 private:
  explicit SoftHsm(std::filesystem::path config_path) : config_path_(std::move(config_path)) {}

  std::filesystem::path config_path_;
};

}  // namespace support
