// Tests for LoadServerCredentials: the accepted case and each reason to refuse.
#include "tls/credentials.h"

#include <gtest/gtest.h>

#include "support/dev_pki.h"
#include "support/files.h"
#include "support/temp_dir.h"
#include "tls/dev_pki.h"

namespace tls {
namespace {

using support::ReadFile;
using support::TempDir;

class LoadServerCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DevPkiOptions options;
    options.directory = directory_.path();
    options.client_identities = {"validator-alice"};
    options.validity_days = 10;
    options.not_before = start_;
    ASSERT_TRUE(CreateDevPki(options).ok());
    options.directory = other_.path();
    ASSERT_TRUE(CreateDevPki(options).ok());
  }

  ServerCredentialFiles Files() const { return support::DevPkiServerFiles(directory_.path()); }

  base::StatusCode CodeOf(const ServerCredentialFiles& files,
                          std::chrono::system_clock::time_point now) const {
    auto loaded = LoadServerCredentials(files, now);
    return loaded.ok() ? base::StatusCode::kOk : loaded.status().code();
  }

  TempDir directory_;
  TempDir other_;
  // 2030-01-01T00:00:00Z; the checks run at explicit times inside and outside the window.
  const std::chrono::system_clock::time_point start_ =
      std::chrono::system_clock::from_time_t(1893456000);
  const std::chrono::system_clock::time_point inside_ = start_ + std::chrono::hours(24);
};

TEST_F(LoadServerCredentialsTest, LoadsAMatchingValidSet) {
  auto loaded = LoadServerCredentials(Files(), inside_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->certificate_chain_pem, ReadFile(directory_.path() / "server.crt"));
  EXPECT_EQ(loaded->client_ca_pem, ReadFile(directory_.path() / "ca.crt"));
  const std::string key = ReadFile(directory_.path() / "server.key");
  ASSERT_EQ(loaded->private_key_pem.size(), key.size() + 1);
  EXPECT_EQ(loaded->private_key_pem.data()[key.size()], 0);
  EXPECT_TRUE(loaded->private_key_pem.Equals(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(key.data()), key.size() + 1)));
  EXPECT_EQ(loaded->server.subject, "CN=localhost");
  EXPECT_EQ(loaded->ca.subject, "CN=Polkadot remote signer development CA");
}

TEST_F(LoadServerCredentialsTest, RefusesOutsideTheValidityWindow) {
  EXPECT_EQ(CodeOf(Files(), start_ - std::chrono::hours(1)), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(Files(), start_ + std::chrono::hours(24 * 11)),
            base::StatusCode::kInvalidArgument);
}

TEST_F(LoadServerCredentialsTest, RefusesAKeyOfAnotherCertificate) {
  ServerCredentialFiles files = Files();
  files.private_key = directory_.path() / "validator-alice.key";
  EXPECT_EQ(CodeOf(files, inside_), base::StatusCode::kInvalidArgument);
  files.private_key = other_.path() / "server.key";
  EXPECT_EQ(CodeOf(files, inside_), base::StatusCode::kInvalidArgument);
}

TEST_F(LoadServerCredentialsTest, RefusesACertificateFromAnotherCa) {
  ServerCredentialFiles files = Files();
  files.client_ca = other_.path() / "ca.crt";
  EXPECT_EQ(CodeOf(files, inside_), base::StatusCode::kInvalidArgument);
}

TEST_F(LoadServerCredentialsTest, RefusesAClientCertificateAsServerCertificate) {
  const ServerCredentialFiles files = {directory_.path() / "validator-alice.crt",
                                       directory_.path() / "validator-alice.key",
                                       directory_.path() / "ca.crt"};
  EXPECT_EQ(CodeOf(files, inside_), base::StatusCode::kInvalidArgument);
}

TEST_F(LoadServerCredentialsTest, RefusesMissingDamagedOrExposedFiles) {
  ServerCredentialFiles files = Files();
  files.client_ca = directory_.path() / "absent.crt";
  EXPECT_EQ(CodeOf(files, inside_), base::StatusCode::kNotFound);

  files = Files();
  ASSERT_TRUE(support::WriteFile(directory_.path() / "garbage.crt",
                                 "-----BEGIN CERTIFICATE-----\nnot base64\n", 0644)
                  .ok());
  files.certificate_chain = directory_.path() / "garbage.crt";
  EXPECT_EQ(CodeOf(files, inside_), base::StatusCode::kInvalidArgument);

  files = Files();
  ASSERT_TRUE(support::WriteFile(directory_.path() / "garbage.key", "no key here", 0600).ok());
  files.private_key = directory_.path() / "garbage.key";
  EXPECT_EQ(CodeOf(files, inside_), base::StatusCode::kInvalidArgument);

  files = Files();
  files.client_ca = directory_.path();  // a directory, not a file
  EXPECT_EQ(CodeOf(files, inside_), base::StatusCode::kInvalidArgument);

  const std::string key = ReadFile(directory_.path() / "server.key");
  ASSERT_TRUE(support::WriteFile(directory_.path() / "server.key", key, 0640).ok());
  EXPECT_EQ(CodeOf(Files(), inside_), base::StatusCode::kInvalidArgument);
  ASSERT_TRUE(support::WriteFile(directory_.path() / "server.key", key, 0400).ok());
  EXPECT_EQ(CodeOf(Files(), inside_), base::StatusCode::kOk);
}

TEST_F(LoadServerCredentialsTest, MessagesNameTheFileButNeverTheKey) {
  ServerCredentialFiles files = Files();
  files.private_key = directory_.path() / "validator-alice.key";
  auto loaded = LoadServerCredentials(files, inside_);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("validator-alice.key"), std::string::npos);
  const std::string key = ReadFile(files.private_key);
  const std::string body = key.substr(key.find('\n') + 1, 40);
  EXPECT_EQ(loaded.status().message().find(body), std::string::npos);
}

}  // namespace
}  // namespace tls
