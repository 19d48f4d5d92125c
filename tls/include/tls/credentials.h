// Loading and checking the server's TLS credentials: certificate chain, private key, client CA.
//
// Thread safety: LoadServerCredentials is stateless; a ServerCredentials value is
// thread-compatible (move it, do not share mutable access).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "tls/certificate.h"

namespace tls {

// ServerCredentialFiles names the PEM files of a server's mutual-TLS setup.
struct ServerCredentialFiles {
  std::filesystem::path certificate_chain;  // server certificate first, then any intermediates
  std::filesystem::path private_key;        // unencrypted PEM; mode 0600 or 0400
  std::filesystem::path client_ca;          // CA certificate(s) that client certificates and the
                                            // server certificate must chain to
};

// ServerCredentials is a checked set of credentials, ready for gRPC.
struct ServerCredentials {
  std::string certificate_chain_pem;
  base::SecretBytes private_key_pem;  // PEM text followed by one NUL byte, in guarded memory
  std::string client_ca_pem;
  CertificateInfo server;  // the leaf certificate
  CertificateInfo ca;      // the CA certificate the leaf chains to
};

// LoadServerCredentials reads the three files and checks, at time `now`, that the private key
// matches the leaf certificate, that the chain verifies against the client CA file, that the leaf
// may be used for TLS server authentication, and that every certificate in the path is valid.
// Fails with kNotFound if a file is missing; kInvalidArgument with a message naming the file and
// the reason (bad PEM, key mismatch, unknown issuer, expired, not yet valid, loose key-file
// permissions); kUnavailable for other I/O errors. Never puts key material in a message.
[[nodiscard]] base::Result<ServerCredentials> LoadServerCredentials(
    const ServerCredentialFiles& files,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace tls
