// Tests for certificate inspection, days to expiry and the identity rule.
#include "tls/certificate.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "openssl_util.h"
#include "support/bytes.h"
#include "support/dev_pki.h"
#include "support/files.h"
#include "support/temp_dir.h"
#include "tls/dev_pki.h"

namespace tls {
namespace {

using support::AsBytes;
using support::ReadFile;
using support::TempDir;

// MakeCertificate builds a self-signed certificate with exactly the given common names and
// subjectAltName entries (OpenSSL syntax, e.g. "URI:spiffe://x"), independently of dev_pki.
std::string MakeCertificate(const std::vector<std::string>& common_names,
                            const std::string& alternative_names) {
  internal::PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  internal::X509Ptr certificate(X509_new());
  X509_set_version(certificate.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), 7);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 3600);
  X509_NAME* name = X509_get_subject_name(certificate.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("Test"), -1, -1, 0);
  for (const std::string& common_name : common_names) {
    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(common_name.data()),
                               static_cast<int>(common_name.size()), -1, 0);
  }
  X509_set_issuer_name(certificate.get(), name);
  X509_set_pubkey(certificate.get(), key.get());
  if (!alternative_names.empty()) {
    X509V3_CTX context;
    X509V3_set_ctx(&context, certificate.get(), certificate.get(), nullptr, nullptr, 0);
    internal::X509ExtensionPtr extension(
        X509V3_EXT_conf_nid(nullptr, &context, NID_subject_alt_name, alternative_names.c_str()));
    EXPECT_TRUE(extension) << alternative_names;
    X509_add_ext(certificate.get(), extension.get(), -1);
  }
  X509_sign(certificate.get(), key.get(), EVP_sha256());
  internal::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), certificate.get());
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::vector<uint8_t> PemToDer(const std::string& pem) {
  internal::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  internal::X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  unsigned char* der = nullptr;
  const int size = i2d_X509(certificate.get(), &der);
  std::vector<uint8_t> bytes(der, der + size);
  OPENSSL_free(der);
  return bytes;
}

TEST(Identity, CommonNameWinsOverAlternativeNames) {
  const std::string pem = MakeCertificate({"validator-alice"}, "DNS:other.example");
  auto identity = IdentityFromCertificate(AsBytes(pem));
  ASSERT_TRUE(identity.ok()) << identity.status().message();
  EXPECT_EQ(identity.value(), "validator-alice");
  auto from_der = IdentityFromCertificate(PemToDer(pem));
  ASSERT_TRUE(from_der.ok()) << from_der.status().message();
  EXPECT_EQ(from_der.value(), "validator-alice");
}

TEST(Identity, FirstTextualAlternativeNameWithoutCommonName) {
  auto uri_first = IdentityFromCertificate(
      AsBytes(MakeCertificate({}, "IP:10.0.0.1,URI:spiffe://signer/alice,DNS:alice.example")));
  ASSERT_TRUE(uri_first.ok()) << uri_first.status().message();
  EXPECT_EQ(uri_first.value(), "spiffe://signer/alice");
  auto dns_first =
      IdentityFromCertificate(AsBytes(MakeCertificate({}, "DNS:alice.example,URI:urn:x")));
  ASSERT_TRUE(dns_first.ok());
  EXPECT_EQ(dns_first.value(), "alice.example");
  auto email = IdentityFromCertificate(AsBytes(MakeCertificate({}, "email:ops@example.org")));
  ASSERT_TRUE(email.ok());
  EXPECT_EQ(email.value(), "ops@example.org");
}

TEST(Identity, RefusesAmbiguousOrUnusableNames) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"alice", "bob"}, "DNS:alice"},   // two CNs: which one is meant?
      {{}, ""},                          // nothing at all
      {{}, "IP:127.0.0.1"},              // only a non-textual name
      {{"alice\nverdict=allowed"}, ""},  // a line break could forge an audit line
      {{std::string(257, 'a')}, ""},     // longer than kMaxIdentityLength
      {{"caf\xc3\xa9"}, ""},             // non-ASCII look-alikes are refused
  };
  for (const auto& [common_names, alternative_names] : cases) {
    auto identity =
        IdentityFromCertificate(AsBytes(MakeCertificate(common_names, alternative_names)));
    EXPECT_FALSE(identity.ok()) << alternative_names;
    if (!identity.ok()) {
      EXPECT_EQ(identity.status().code(), base::StatusCode::kInvalidArgument);
    }
  }
  EXPECT_FALSE(IdentityFromCertificate(AsBytes("not a certificate")).ok());
  EXPECT_FALSE(IdentityFromCertificate(AsBytes("-----BEGIN CERTIFICATE-----\nAAAA\n")).ok());
  EXPECT_FALSE(IdentityFromCertificate({}).ok());
}

TEST(Identity, FromNamesFollowsTheSameRule) {
  const std::vector<std::string> no_names;
  const std::vector<std::string> one_cn = {"validator-alice"};
  const std::vector<std::string> two_cns = {"a", "b"};
  const std::vector<std::string> sans = {"spiffe://x", "dns.example"};
  EXPECT_EQ(IdentityFromNames(one_cn, sans).value(), "validator-alice");
  EXPECT_EQ(IdentityFromNames(no_names, sans).value(), "spiffe://x");
  EXPECT_FALSE(IdentityFromNames(two_cns, sans).ok());
  EXPECT_FALSE(IdentityFromNames(no_names, no_names).ok());
}

TEST(Identity, DevClientCertificateIdentityIsItsName) {
  TempDir temporary;
  ASSERT_TRUE(support::MakeDevPki(temporary.path(), {"validator-alice", "intruder"}).ok());
  EXPECT_EQ(IdentityFromCertificate(AsBytes(ReadFile(temporary.path() / "intruder.crt"))).value(),
            "intruder");
  EXPECT_EQ(
      IdentityFromCertificate(AsBytes(ReadFile(temporary.path() / "validator-alice.crt"))).value(),
      "validator-alice");
}

TEST(Expiry, DaysFollowTheValidityWindow) {
  TempDir temporary;
  DevPkiOptions options;
  options.directory = temporary.path();
  options.validity_days = 30;
  // 2030-01-01T00:00:00Z
  const auto start = std::chrono::system_clock::from_time_t(1893456000);
  options.not_before = start;
  ASSERT_TRUE(CreateDevPki(options).ok());
  auto info = InspectCertificate(AsBytes(ReadFile(temporary.path() / "server.crt")));
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->not_before, start);
  EXPECT_EQ(info->not_after, start + std::chrono::hours(24 * 30));
  EXPECT_DOUBLE_EQ(DaysUntilExpiry(*info, start), 30.0);
  EXPECT_DOUBLE_EQ(DaysUntilExpiry(*info, start + std::chrono::hours(12)), 29.5);
  EXPECT_DOUBLE_EQ(DaysUntilExpiry(*info, start + std::chrono::hours(24 * 40)), -10.0);
  EXPECT_EQ(info->subject, "CN=localhost");
  EXPECT_EQ(info->issuer, "CN=Polkadot remote signer development CA");
  EXPECT_FALSE(info->serial_hex.empty());

  auto ca = InspectCertificate(AsBytes(ReadFile(temporary.path() / "ca.crt")));
  ASSERT_TRUE(ca.ok());
  EXPECT_EQ(ca->subject, ca->issuer);
  EXPECT_NE(ca->serial_hex, info->serial_hex);
}

}  // namespace
}  // namespace tls
