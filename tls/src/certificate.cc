// Certificate inspection, days to expiry and the client identity rule.
#include "tls/certificate.h"

#include <openssl/objects.h>

#include <algorithm>

#include "openssl_util.h"

namespace tls {
namespace {

using internal::BioPtr;
using internal::GeneralNamesPtr;
using internal::X509Ptr;

std::string NameToString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    ERR_clear_error();
    return {};
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

std::string SerialToHex(const ASN1_INTEGER* serial) {
  internal::BignumPtr number(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!number) {
    ERR_clear_error();
    return {};
  }
  char* hex = BN_bn2hex(number.get());
  if (hex == nullptr) {
    ERR_clear_error();
    return {};
  }
  std::string text(hex);
  OPENSSL_free(hex);
  return text;
}

std::string Asn1StringText(const ASN1_STRING* value) {
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, value);
  if (length < 0) {
    ERR_clear_error();
    return {};
  }
  std::string text(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return text;
}

// AcceptableIdentity keeps identities to printable ASCII so an identity can never smuggle a line
// break into an audit line or a look-alike Unicode name past a policy file.
bool AcceptableIdentity(std::string_view identity) {
  if (identity.empty() || identity.size() > kMaxIdentityLength) {
    return false;
  }
  return std::all_of(identity.begin(), identity.end(),
                     [](char c) { return c >= 0x20 && c < 0x7f; });
}

base::Result<std::string> Choose(std::span<const std::string> common_names,
                                 std::span<const std::string> alternative_names) {
  if (common_names.size() > 1) {
    return base::Status::InvalidArgument(
        "client certificate has more than one commonName; its identity is ambiguous");
  }
  if (common_names.size() == 1 && !common_names.front().empty()) {
    if (!AcceptableIdentity(common_names.front())) {
      return base::Status::InvalidArgument(
          "client certificate commonName is not 1-256 printable ASCII characters");
    }
    return common_names.front();
  }
  if (alternative_names.empty()) {
    return base::Status::InvalidArgument(
        "client certificate has neither a commonName nor a usable subjectAltName");
  }
  if (!AcceptableIdentity(alternative_names.front())) {
    return base::Status::InvalidArgument(
        "client certificate subjectAltName is not 1-256 printable ASCII characters");
  }
  return alternative_names.front();
}

}  // namespace

base::Result<CertificateInfo> InspectCertificate(std::span<const uint8_t> pem_or_der) {
  auto certificate = internal::ParseCertificatePemOrDer(pem_or_der);
  if (!certificate.ok()) {
    return certificate.status();
  }
  X509* x509 = certificate.value().get();
  CertificateInfo info;
  info.subject = NameToString(X509_get_subject_name(x509));
  info.issuer = NameToString(X509_get_issuer_name(x509));
  info.serial_hex = SerialToHex(X509_get0_serialNumber(x509));
  auto not_before = internal::Asn1TimeToTimePoint(X509_get0_notBefore(x509));
  auto not_after = internal::Asn1TimeToTimePoint(X509_get0_notAfter(x509));
  if (!not_before.ok()) {
    return not_before.status();
  }
  if (!not_after.ok()) {
    return not_after.status();
  }
  info.not_before = not_before.value();
  info.not_after = not_after.value();
  return info;
}

double DaysUntilExpiry(const CertificateInfo& info, std::chrono::system_clock::time_point now) {
  using Days = std::chrono::duration<double, std::ratio<86400>>;
  return std::chrono::duration_cast<Days>(info.not_after - now).count();
}

base::Result<std::string> IdentityFromCertificate(std::span<const uint8_t> pem_or_der) {
  auto certificate = internal::ParseCertificatePemOrDer(pem_or_der);
  if (!certificate.ok()) {
    return certificate.status();
  }
  X509* x509 = certificate.value().get();

  std::vector<std::string> common_names;
  const X509_NAME* subject = X509_get_subject_name(x509);
  for (int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); index >= 0;
       index = X509_NAME_get_index_by_NID(subject, NID_commonName, index)) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, index);
    common_names.push_back(Asn1StringText(X509_NAME_ENTRY_get_data(entry)));
  }

  std::vector<std::string> alternative_names;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x509, NID_subject_alt_name, nullptr, nullptr)));
  if (names) {
    for (int index = 0; index < sk_GENERAL_NAME_num(names.get()); ++index) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), index);
      // Only textual name types can be an identity; IP addresses and directory names are skipped.
      if (name->type == GEN_DNS || name->type == GEN_URI || name->type == GEN_EMAIL) {
        alternative_names.push_back(Asn1StringText(name->d.ia5));
      }
    }
  }
  ERR_clear_error();
  return Choose(common_names, alternative_names);
}

base::Result<std::string> IdentityFromNames(std::span<const std::string> common_names,
                                            std::span<const std::string> alternative_names) {
  return Choose(common_names, alternative_names);
}

}  // namespace tls
