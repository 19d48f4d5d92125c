// gRPC server credentials for mutual TLS that reload from disk on request, and the peer identity.
//
// Thread safety: ReloadableServerCredentials is thread-safe. Reload() may run on a signal-handling
// thread while gRPC completes handshakes on its own threads.
#pragma once

#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"
#include "tls/certificate.h"
#include "tls/credentials.h"

namespace tls {

// ReloadableServerCredentials holds the current checked credentials of a mutual-TLS listener.
//
// Every listener made from GrpcCredentials():
//   - requires a client certificate and verifies it against the client CA (handshake fails
//     otherwise, before any RPC runs);
//   - accepts TLS 1.3 only (see RequireTls13ForNewTlsContexts, which Create calls);
//   - picks up the credentials of the last successful Reload() on the next handshake; existing
//     connections and the listening socket are untouched.
// Lifetime: gRPC offers no hook to release what a listener reads, so that state (certificates and
// key) stays allocated until the process exits; this object may therefore be destroyed before or
// after the grpc::Server.
class ReloadableServerCredentials {
 public:
  // Create loads and checks `files` (see LoadServerCredentials). Fails with that function's
  // status; nothing is created then.
  [[nodiscard]] static base::Result<std::unique_ptr<ReloadableServerCredentials>> Create(
      ServerCredentialFiles files);

  ~ReloadableServerCredentials();
  ReloadableServerCredentials(const ReloadableServerCredentials&) = delete;
  ReloadableServerCredentials& operator=(const ReloadableServerCredentials&) = delete;

  // GrpcCredentials returns credentials for grpc::ServerBuilder::AddListeningPort. Each port added
  // with them tracks reloads independently. SetAuthMetadataProcessor is not supported on them: a
  // port whose credentials were given a processor fails to bind (AddListeningPort reports port 0)
  // rather than run without it.
  std::shared_ptr<grpc::ServerCredentials> GrpcCredentials();

  // Reload re-reads the files given to Create and, if they pass LoadServerCredentials' checks at
  // the current time, makes them current. On failure the previous credentials stay in use and the
  // status says why (the caller logs it). Safe to call from any thread, at any time, but not from
  // inside an asynchronous signal handler (it reads files, allocates and locks): call it from the
  // thread that receives SIGHUP through sigwait or a self-pipe.
  [[nodiscard]] base::Status Reload();

  // ServerCertificate and CaCertificate describe the current credentials, for expiry metrics.
  CertificateInfo ServerCertificate() const;
  CertificateInfo CaCertificate() const;

  // ExpiryDays is days until the current server and CA certificates expire at `now`, fractional
  // and negative once expired: the values of the certificate-expiry gauge.
  struct ExpiryDays {
    double server = 0;
    double ca = 0;
  };
  ExpiryDays DaysUntilExpiry(
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;

  // Generation counts successful loads: 1 after Create, +1 per successful Reload.
  uint64_t Generation() const;

  struct State;  // shared with the listeners; defined in the implementation

 private:
  explicit ReloadableServerCredentials(std::shared_ptr<State> state);

  std::shared_ptr<State> state_;
};

// ClientCredentialFiles names the PEM files a client of signerd connects with.
struct ClientCredentialFiles {
  std::filesystem::path server_ca;    // CA that signed the server certificate
  std::filesystem::path certificate;  // client certificate (chain)
  std::filesystem::path private_key;  // its key; mode 0600 or 0400
};

// ClientChannelCredentials loads client files for grpc::CreateChannel (tests, load generator,
// demo client). Fails with kNotFound for a missing file, kInvalidArgument for bad PEM, loose key
// permissions or a key that does not match the certificate. The server name is checked against the
// server certificate by gRPC as usual.
[[nodiscard]] base::Result<std::shared_ptr<grpc::ChannelCredentials>> ClientChannelCredentials(
    const ClientCredentialFiles& files);

// RequireTls13ForNewTlsContexts makes every OpenSSL TLS context created afterwards in this
// process refuse TLS 1.2 and older, by installing OpenSSL's process-wide "system_default" SSL
// configuration. gRPC 1.51 offers no per-listener minimum version that works with reloadable
// credentials, so this is how signerd's listeners get TLS 1.3 only; it also applies to client
// channels and any other TLS the process opens later. Idempotent and thread-safe; the first call's
// status is returned by every call. Fails with kInternal if OpenSSL rejects the configuration or a
// probe context still allows TLS 1.2 (then nothing may be served).
[[nodiscard]] base::Status RequireTls13ForNewTlsContexts();

// PeerIdentity returns the identity (see the rule in tls/certificate.h) of the client of a call on
// a listener made by ReloadableServerCredentials, e.g. from
// ServerContext::auth_context() or CallbackServerContext::auth_context(). It reads the
// `x509_pem_cert` property when present and falls back to the `x509_common_name` and
// `x509_subject_alternative_name` properties. Fails with kInvalidArgument if the peer is not
// authenticated or the certificate has no usable identity: deny the call then.
[[nodiscard]] base::Result<std::string> PeerIdentity(const grpc::AuthContext& context);

}  // namespace tls
