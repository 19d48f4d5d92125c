// Tests of ResolveSuri's handling of SIGNER_SURI: taken, wiped in place and removed, whichever
// source of the SURI wins.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <span>
#include <string>

#include "ctl_command.h"

namespace signerctl {
namespace {

constexpr size_t kNameAndEquals = sizeof("SIGNER_SURI=") - 1;

// ExpectWipedAndRemoved checks that SIGNER_SURI is gone and that `entry`, the buffer putenv put
// into the environment (putenv does not copy), holds zeros where the value was.
void ExpectWipedAndRemoved(std::span<const char> entry) {
  EXPECT_EQ(std::getenv("SIGNER_SURI"), nullptr);
  EXPECT_EQ(std::string(entry.data(), kNameAndEquals), "SIGNER_SURI=");
  for (size_t i = kNameAndEquals; i < entry.size(); ++i) {
    EXPECT_EQ(entry[i], '\0') << "byte " << i << " of the environment entry was not wiped";
  }
}

TEST(ResolveSuriTest, TakesSignerSuriThenWipesAndRemovesIt) {
  // Static: if the variable were left in place, the environment would point into this buffer
  // after the test.
  static char entry[] = "SIGNER_SURI=//Alice";
  ASSERT_EQ(::putenv(entry), 0);
  CLI::App app;
  SuriOptions options;
  AddSuriOptions(&app, options, /*positional=*/false);
  app.parse(std::string(), /*program_name_included=*/false);
  base::Result<base::SecretBytes> suri = ResolveSuri(options);
  ASSERT_TRUE(suri.ok()) << suri.status().message();
  EXPECT_EQ(SuriView(*suri), "//Alice");
  ExpectWipedAndRemoved({entry, sizeof entry - 1});
}

TEST(ResolveSuriTest, RemovesSignerSuriWhenTheCommandLineGivesTheSuri) {
  static char entry[] = "SIGNER_SURI=//Bob";
  ASSERT_EQ(::putenv(entry), 0);
  CLI::App app;
  SuriOptions options;
  AddSuriOptions(&app, options, /*positional=*/false);
  app.parse("--suri //Alice", /*program_name_included=*/false);
  base::Result<base::SecretBytes> suri = ResolveSuri(options);
  ASSERT_TRUE(suri.ok()) << suri.status().message();
  EXPECT_EQ(SuriView(*suri), "//Alice");
  ExpectWipedAndRemoved({entry, sizeof entry - 1});
}

}  // namespace
}  // namespace signerctl
