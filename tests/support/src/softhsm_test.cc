// Tests of SoftHsm: tokens made through PKCS#11 open with their PIN, and a live module is refused.
#include "support/softhsm.h"

#include <gtest/gtest.h>

#include "keymgr/pkcs11_custody.h"
#include "support/environment.h"
#include "support/temp_dir.h"

namespace support {
namespace {

base::Result<std::unique_ptr<keymgr::Pkcs11Custody>> Open(const std::string& label,
                                                          std::string_view pin) {
  keymgr::Pkcs11Config config;
  config.module_path = SIGNER_SOFTHSM2_MODULE;
  config.token_label = label;
  config.pin = base::SecretBytes::CopyFrom(
      std::span(reinterpret_cast<const uint8_t*>(pin.data()), pin.size()));
  return keymgr::Pkcs11Custody::Open(std::move(config));
}

TEST(SoftHsmTest, TokensOpenWithTheirUserPinOnly) {
  TempDir dir("softhsm_test");
  auto hsm = SoftHsm::Create(dir.path() / "hsm");
  ASSERT_TRUE(hsm.ok()) << hsm.status().message();
  EXPECT_EQ(hsm->ConfigEnv(), "SOFTHSM2_CONF=" + (dir.path() / "hsm" / "softhsm2.conf").string());
  ASSERT_TRUE(hsm->InitToken("first", "user-pin-1", "so-pin-1").ok());
  ASSERT_TRUE(hsm->InitToken("second", "user-pin-2", "so-pin-2").ok());
  EXPECT_EQ(hsm->InitToken(std::string(33, 'x'), "pin", "pin").code(),
            base::StatusCode::kInvalidArgument);

  ScopedEnvironmentVariable config("SOFTHSM2_CONF", hsm->config_path().string());
  {
    auto first = Open("first", "user-pin-1");
    ASSERT_TRUE(first.ok()) << first.status().message();
    // While a custody holds the module, a new token would go to the directory it was opened with.
    EXPECT_EQ(hsm->InitToken("third", "pin-3", "so-pin-3").code(),
              base::StatusCode::kFailedPrecondition);
  }
  EXPECT_TRUE(Open("second", "user-pin-2").ok());
  EXPECT_FALSE(Open("second", "user-pin-1").ok());
  EXPECT_FALSE(Open("third", "pin-3").ok());
}

}  // namespace
}  // namespace support
