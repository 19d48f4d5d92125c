// Tests for the development PKI: file set, permissions, certificate contents, overwrite refusal.
#include "tls/dev_pki.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>

#include "openssl_util.h"
#include "support/files.h"
#include "support/temp_dir.h"

namespace tls {
namespace {

using internal::X509Ptr;
using support::FileMode;
using support::ReadFile;
using support::TempDir;

X509Ptr LoadCertificate(const std::filesystem::path& path) {
  const std::string pem = ReadFile(path);
  internal::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

internal::PkeyPtr LoadKey(const std::filesystem::path& path) {
  const std::string pem = ReadFile(path);
  internal::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return internal::PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

// Verifies with OpenSSL directly (not through tls/), so the PKI is checked by an independent path.
bool VerifiesAgainst(X509* leaf, X509* ca, int purpose) {
  internal::X509StorePtr store(X509_STORE_new());
  internal::X509StoreCtxPtr context(X509_STORE_CTX_new());
  X509_STORE_add_cert(store.get(), ca);
  X509_STORE_CTX_init(context.get(), store.get(), leaf, nullptr);
  X509_STORE_CTX_set_purpose(context.get(), purpose);
  X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(context.get()), X509_V_FLAG_X509_STRICT);
  const bool ok = X509_verify_cert(context.get()) == 1;
  ERR_clear_error();
  return ok;
}

std::string CommonName(X509* certificate) {
  char buffer[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, buffer,
                            sizeof(buffer));
  return buffer;
}

TEST(DevPki, WritesEveryFileWithItsMode) {
  TempDir temporary;
  DevPkiOptions options;
  options.directory = temporary.path() / "pki";
  options.client_identities = {"validator-alice", "intruder"};
  auto files = CreateDevPki(options);
  ASSERT_TRUE(files.ok()) << files.status().message();

  const std::vector<std::pair<std::string, unsigned>> expected = {{"ca.crt", 0644},
                                                                  {"ca.key", 0600},
                                                                  {"server.crt", 0644},
                                                                  {"server.key", 0600},
                                                                  {"validator-alice.crt", 0644},
                                                                  {"validator-alice.key", 0600},
                                                                  {"intruder.crt", 0644},
                                                                  {"intruder.key", 0600}};
  ASSERT_EQ(files->files.size(), expected.size());
  for (size_t index = 0; index < expected.size(); ++index) {
    const DevPkiFile& file = files->files[index];
    EXPECT_EQ(file.path, options.directory / expected[index].first);
    EXPECT_EQ(file.mode, expected[index].second);
    EXPECT_EQ(FileMode(file.path), expected[index].second) << file.path;
  }
  EXPECT_EQ(FileMode(options.directory), 0700u);
  EXPECT_EQ(files->files[4].identity, "validator-alice");
  EXPECT_EQ(files->files[4].role, "client-certificate");
  // No temporary file is left behind by the atomic writes.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator(options.directory)) {
    ++entries;
  }
  EXPECT_EQ(entries, expected.size());
}

TEST(DevPki, CertificatesChainAndCarryTheirNames) {
  TempDir temporary;
  DevPkiOptions options;
  options.directory = temporary.path();
  options.client_identities = {"validator-alice"};
  options.server_names = {"signer.example", "10.1.2.3"};
  ASSERT_TRUE(CreateDevPki(options).ok());

  X509Ptr ca = LoadCertificate(temporary.path() / "ca.crt");
  X509Ptr server = LoadCertificate(temporary.path() / "server.crt");
  X509Ptr client = LoadCertificate(temporary.path() / "validator-alice.crt");
  ASSERT_TRUE(ca && server && client);

  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_TRUE(VerifiesAgainst(server.get(), ca.get(), X509_PURPOSE_SSL_SERVER));
  EXPECT_TRUE(VerifiesAgainst(client.get(), ca.get(), X509_PURPOSE_SSL_CLIENT));
  // Extended key usage keeps each certificate to its role.
  EXPECT_FALSE(VerifiesAgainst(client.get(), ca.get(), X509_PURPOSE_SSL_SERVER));
  EXPECT_FALSE(VerifiesAgainst(server.get(), ca.get(), X509_PURPOSE_SSL_CLIENT));

  EXPECT_EQ(X509_check_host(server.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(server.get(), "signer.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "10.1.2.3", 0), 1);
  EXPECT_NE(X509_check_host(server.get(), "other.example", 0, 0, nullptr), 1);
  EXPECT_EQ(CommonName(server.get()), "signer.example");

  EXPECT_EQ(CommonName(client.get()), "validator-alice");
  EXPECT_EQ(X509_check_host(client.get(), "validator-alice", 0, 0, nullptr), 1);

  for (const char* name : {"ca.key", "server.key", "validator-alice.key"}) {
    internal::PkeyPtr key = LoadKey(temporary.path() / name);
    ASSERT_TRUE(key) << name;
    char group[64] = {};
    size_t length = 0;
    ASSERT_EQ(EVP_PKEY_get_group_name(key.get(), group, sizeof(group), &length), 1);
    EXPECT_STREQ(group, "prime256v1") << name;
  }
  EXPECT_EQ(X509_check_private_key(server.get(), LoadKey(temporary.path() / "server.key").get()),
            1);
}

TEST(DevPki, OpenSslCommandLineVerifiesTheChain) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "openssl command not installed";
  }
  TempDir temporary;
  DevPkiOptions options;
  options.directory = temporary.path();
  options.client_identities = {"validator-alice"};
  ASSERT_TRUE(CreateDevPki(options).ok());
  const std::string directory = temporary.path().string();
  const std::string verify = "openssl verify -x509_strict -CAfile " + directory + "/ca.crt ";
  EXPECT_EQ(
      std::system((verify + "-purpose sslserver " + directory + "/server.crt >/dev/null").c_str()),
      0);
  EXPECT_EQ(
      std::system(
          (verify + "-purpose sslclient " + directory + "/validator-alice.crt >/dev/null").c_str()),
      0);
}

TEST(DevPki, RefusesToOverwriteUnlessAsked) {
  TempDir temporary;
  DevPkiOptions options;
  options.directory = temporary.path();
  options.client_identities = {"validator-alice"};
  ASSERT_TRUE(CreateDevPki(options).ok());
  const std::string ca_before = ReadFile(temporary.path() / "ca.crt");
  const std::string key_before = ReadFile(temporary.path() / "server.key");

  auto again = CreateDevPki(options);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadFile(temporary.path() / "ca.crt"), ca_before);
  EXPECT_EQ(ReadFile(temporary.path() / "server.key"), key_before);

  // One existing client file is enough to refuse, even if the CA files are gone.
  std::filesystem::remove(temporary.path() / "ca.crt");
  EXPECT_FALSE(CreateDevPki(options).ok());
  EXPECT_FALSE(std::filesystem::exists(temporary.path() / "ca.crt"));

  options.overwrite = true;
  ASSERT_TRUE(CreateDevPki(options).ok());
  EXPECT_NE(ReadFile(temporary.path() / "server.key"), key_before);
  EXPECT_EQ(FileMode(temporary.path() / "server.key"), 0600u);
}

TEST(DevPki, RejectsBadOptionsWithoutWriting) {
  TempDir temporary;
  const std::vector<std::vector<std::string>> bad_identities = {
      {""},      {"ca"},      {"server"},       {"../escape"},          {"a/b"},        {"a,b"},
      {"-dash"}, {".hidden"}, {"same", "same"}, {std::string(65, 'x')}, {"caf\xc3\xa9"}};
  for (const auto& identities : bad_identities) {
    DevPkiOptions options;
    options.directory = temporary.path() / "pki";
    options.client_identities = identities;
    auto result = CreateDevPki(options);
    EXPECT_FALSE(result.ok()) << identities.front();
    if (!result.ok()) {
      EXPECT_EQ(result.status().code(), base::StatusCode::kInvalidArgument);
    }
  }
  for (const char* name : {"a,DNS:evil", "bad name", "", "x:y"}) {
    DevPkiOptions options;
    options.directory = temporary.path() / "pki";
    options.server_names = {name};
    EXPECT_FALSE(CreateDevPki(options).ok()) << name;
  }
  for (int days : {0, -1, 3651}) {
    DevPkiOptions options;
    options.directory = temporary.path() / "pki";
    options.validity_days = days;
    EXPECT_FALSE(CreateDevPki(options).ok()) << days;
  }
  EXPECT_FALSE(std::filesystem::exists(temporary.path() / "pki"));
}

}  // namespace
}  // namespace tls
