// Loading the server's certificate chain, key and client CA, with every check done before use.
#include "tls/credentials.h"

#include <openssl/x509_vfy.h>

#include "base/file_io.h"
#include "openssl_util.h"

namespace tls {
namespace {

using internal::X509Ptr;

base::Status WithFile(const base::Status& status, const std::filesystem::path& path) {
  if (status.ok()) {
    return status;
  }
  const std::string& message = status.message();
  // File helpers already name the path; parsers name only the role.
  if (message.find(path.string()) != std::string::npos) {
    return status;
  }
  const std::string detailed = path.string() + ": " + message;
  switch (status.code()) {
    case base::StatusCode::kNotFound:
      return base::Status::NotFound(detailed);
    case base::StatusCode::kUnavailable:
      return base::Status::Unavailable(detailed);
    case base::StatusCode::kInternal:
      return base::Status::Internal(detailed);
    default:
      return base::Status::InvalidArgument(detailed);
  }
}

// VerifyChain checks the leaf against the CA at `now` for TLS server use. The error names the
// reason in OpenSSL's words ("certificate has expired", "unable to get local issuer certificate").
base::Status VerifyChain(const std::vector<X509Ptr>& chain, const std::vector<X509Ptr>& cas,
                         std::chrono::system_clock::time_point now, X509*& out_anchor) {
  internal::X509StorePtr store(X509_STORE_new());
  internal::X509StoreCtxPtr context(X509_STORE_CTX_new());
  STACK_OF(X509)* intermediates = sk_X509_new_null();
  if (!store || !context || intermediates == nullptr) {
    sk_X509_free(intermediates);
    return internal::InternalError("cannot create a certificate store");
  }
  for (const X509Ptr& ca : cas) {
    if (X509_STORE_add_cert(store.get(), ca.get()) != 1) {
      sk_X509_free(intermediates);
      return internal::InternalError("cannot add CA certificate");
    }
  }
  for (size_t index = 1; index < chain.size(); ++index) {
    sk_X509_push(intermediates, chain[index].get());
  }
  base::Status result = base::Status::Ok();
  if (X509_STORE_CTX_init(context.get(), store.get(), chain.front().get(), intermediates) != 1) {
    result = internal::InternalError("cannot initialise certificate verification");
  } else {
    X509_VERIFY_PARAM* parameters = X509_STORE_CTX_get0_param(context.get());
    X509_VERIFY_PARAM_set_time(parameters, std::chrono::system_clock::to_time_t(now));
    X509_VERIFY_PARAM_set_flags(parameters, X509_V_FLAG_X509_STRICT);
    X509_STORE_CTX_set_purpose(context.get(), X509_PURPOSE_SSL_SERVER);
    if (X509_verify_cert(context.get()) != 1) {
      const int error = X509_STORE_CTX_get_error(context.get());
      result = base::Status::InvalidArgument(
          std::string("server certificate does not verify against the client CA: ") +
          X509_verify_cert_error_string(error));
    } else {
      STACK_OF(X509)* path = X509_STORE_CTX_get0_chain(context.get());
      out_anchor = sk_X509_value(path, sk_X509_num(path) - 1);
    }
  }
  sk_X509_free(intermediates);
  ERR_clear_error();
  return result;
}

base::Result<CertificateInfo> Describe(X509* certificate) {
  unsigned char* der = nullptr;
  const int size = i2d_X509(certificate, &der);
  if (size <= 0) {
    return internal::InternalError("cannot encode certificate");
  }
  auto info = InspectCertificate({der, static_cast<size_t>(size)});
  OPENSSL_free(der);
  return info;
}

}  // namespace

base::Result<ServerCredentials> LoadServerCredentials(const ServerCredentialFiles& files,
                                                      std::chrono::system_clock::time_point now) {
  auto chain_pem = base::ReadPublicFile(files.certificate_chain);
  if (!chain_pem.ok()) {
    return WithFile(chain_pem.status(), files.certificate_chain);
  }
  auto ca_pem = base::ReadPublicFile(files.client_ca);
  if (!ca_pem.ok()) {
    return WithFile(ca_pem.status(), files.client_ca);
  }
  auto key_pem = base::ReadSecretFile(files.private_key);
  if (!key_pem.ok()) {
    return WithFile(key_pem.status(), files.private_key);
  }

  auto chain = internal::ParseCertificates(chain_pem.value(), "server certificate chain");
  if (!chain.ok()) {
    return WithFile(chain.status(), files.certificate_chain);
  }
  auto cas = internal::ParseCertificates(ca_pem.value(), "client CA");
  if (!cas.ok()) {
    return WithFile(cas.status(), files.client_ca);
  }
  // The trailing NUL is for C consumers, not part of the PEM.
  const std::span<const uint8_t> key_text =
      key_pem.value().span().first(key_pem.value().size() - 1);
  auto key = internal::ParsePrivateKey(key_text, "server private key");
  if (!key.ok()) {
    return WithFile(key.status(), files.private_key);
  }

  X509* leaf = chain.value().front().get();
  if (X509_check_private_key(leaf, key.value().get()) != 1) {
    ERR_clear_error();
    return base::Status::InvalidArgument(files.private_key.string() +
                                         ": private key does not match the certificate in " +
                                         files.certificate_chain.string());
  }
  X509* anchor = nullptr;
  if (base::Status status = VerifyChain(chain.value(), cas.value(), now, anchor); !status.ok()) {
    return WithFile(status, files.certificate_chain);
  }

  auto server_info = Describe(leaf);
  if (!server_info.ok()) {
    return server_info.status();
  }
  auto ca_info = Describe(anchor);
  if (!ca_info.ok()) {
    return ca_info.status();
  }
  ServerCredentials credentials{std::move(chain_pem.value()), std::move(key_pem.value()),
                                std::move(ca_pem.value()), std::move(server_info.value()),
                                std::move(ca_info.value())};
  return credentials;
}

}  // namespace tls
