// Certificate facts tls/ callers need: validity, days to expiry and the peer identity rule.
//
// Thread safety: every function here is stateless and safe to call from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tls {

// CertificateInfo is what a metric or a log line may say about a certificate; nothing secret.
struct CertificateInfo {
  std::string subject;     // one-line RFC 2253 form, e.g. "CN=localhost"
  std::string issuer;      // same form
  std::string serial_hex;  // upper-case hex, no prefix
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
};

// InspectCertificate reads the first certificate of `pem_or_der` (PEM text or DER bytes).
// Fails with kInvalidArgument if there is no readable certificate.
[[nodiscard]] base::Result<CertificateInfo> InspectCertificate(std::span<const uint8_t> pem_or_der);

// DaysUntilExpiry is the time from `now` to `info.not_after` in days, fractional; negative once
// the certificate has expired. Meant for a gauge such as signer_tls_certificate_expiry_days.
double DaysUntilExpiry(const CertificateInfo& info, std::chrono::system_clock::time_point now);

// Identity rule (also in docs/tls.md): a client's identity is the subject's commonName when the
// subject has exactly one non-empty commonName; otherwise the first subjectAltName entry of type
// DNS, URI or email, in certificate order. A certificate with two commonNames, with neither, or
// whose chosen value holds a control character, a non-ASCII byte or more than kMaxIdentityLength
// bytes has no identity: callers must deny it. The certificate must already have been verified
// against the client CA (gRPC's handshake does this); this rule does not verify anything.
inline constexpr size_t kMaxIdentityLength = 256;

// IdentityFromCertificate applies the identity rule to a certificate given as PEM or DER (the
// first certificate of a PEM chain). Fails with kInvalidArgument when the certificate is unreadable
// or has no identity.
[[nodiscard]] base::Result<std::string> IdentityFromCertificate(
    std::span<const uint8_t> pem_or_der);

// IdentityFromNames applies the same rule to names already extracted, as gRPC's AuthContext
// exposes them: every `x509_common_name` value and every `x509_subject_alternative_name` value in
// order. Prefer IdentityFromCertificate when the certificate itself is available: gRPC's SAN
// property loses the entry types, so here any SAN value counts.
[[nodiscard]] base::Result<std::string> IdentityFromNames(
    std::span<const std::string> common_names, std::span<const std::string> alternative_names);

}  // namespace tls
