// Internal OpenSSL plumbing for tls/: owning pointers, error text and PEM/DER parsing.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tls::internal {

template <auto FreeFunction>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* pointer) const {
    FreeFunction(pointer);
  }
};

using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslDeleter<GENERAL_NAMES_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;

// OpenSslError drains the thread's OpenSSL error queue into one line, so a stale error never
// leaks into the next call's report.
std::string OpenSslError();

// InternalError is a kInternal status naming `what` and the drained OpenSSL error queue.
base::Status InternalError(std::string_view what);

// ParseCertificates reads every certificate in `pem` (at least one). Fails with kInvalidArgument
// naming `what` when the text holds no certificate or a malformed one.
base::Result<std::vector<X509Ptr>> ParseCertificates(std::string_view pem, std::string_view what);

// ParseCertificatePemOrDer reads one certificate given as PEM text or as DER bytes.
base::Result<X509Ptr> ParseCertificatePemOrDer(std::span<const uint8_t> bytes);

// ParsePrivateKey reads one unencrypted PEM private key. The caller wipes `pem`.
base::Result<PkeyPtr> ParsePrivateKey(std::span<const uint8_t> pem, std::string_view what);

// Asn1TimeToTimePoint converts a certificate validity bound.
base::Result<std::chrono::system_clock::time_point> Asn1TimeToTimePoint(const ASN1_TIME* time);

}  // namespace tls::internal
