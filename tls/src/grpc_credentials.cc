// Mutual-TLS gRPC server credentials that pick up reloaded files on the next handshake.
//
// gRPC 1.51's C++ TLS credentials cannot be reloaded on demand (only a polling file watcher) and
// none of its public APIs can set a minimum TLS version. Its C core SSL credentials take a
// certificate-config callback that runs before every handshake, which gives reload on request;
// their minimum-version setting is not applied on that path (the handshaker factory is built
// with the TLS 1.2 default), so TLS 1.3 is enforced one level down, in OpenSSL's defaults for new
// contexts. tls_test proves both by handshaking with forced versions.
#include "tls/grpc_credentials.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/log.h>
#include <openssl/conf.h>
#include <openssl/ssl.h>

#include <atomic>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/file_io.h"
#include "base/thread_annotations.h"
#include "openssl_util.h"

namespace tls {

struct ReloadableServerCredentials::State {
  // The first load is generation 1; it is in place before the state is shared.
  State(ServerCredentialFiles files_in, ServerCredentials first)
      : files(std::move(files_in)), current(std::move(first)) {}

  const ServerCredentialFiles files;
  mutable base::Mutex mutex;
  ServerCredentials current GUARDED_BY(mutex);
  uint64_t generation GUARDED_BY(mutex) = 1;
};

namespace {

// PortConfigFetcher is the per-listener memory of which generation that listener already uses.
// gRPC keeps the raw pointer for the listener's whole life and offers no destroy hook, so fetchers
// live in a process-wide registry and are never freed: a few dozen bytes per listening port.
struct PortConfigFetcher {
  std::shared_ptr<ReloadableServerCredentials::State> state;
  uint64_t delivered_generation GUARDED_BY(state->mutex) = 0;
};

PortConfigFetcher* RegisterFetcher(std::shared_ptr<ReloadableServerCredentials::State> state) {
  static base::Mutex registry_mutex;
  static auto* registry GUARDED_BY(registry_mutex) =
      new std::vector<std::unique_ptr<PortConfigFetcher>>();
  base::MutexLock lock(registry_mutex);
  registry->push_back(std::make_unique<PortConfigFetcher>(PortConfigFetcher{std::move(state), 0}));
  return registry->back().get();
}

// FetchConfig runs on a gRPC thread before each handshake on the port. It hands over a new
// configuration only when a newer generation exists, so the usual cost is one mutex round trip.
grpc_ssl_certificate_config_reload_status FetchConfig(void* user_data,
                                                      grpc_ssl_server_certificate_config** config) {
  auto* fetcher = static_cast<PortConfigFetcher*>(user_data);
  // Every access names `fetcher->state` (no local alias), so the lock analysis sees one mutex.
  base::MutexLock lock(fetcher->state->mutex);
  if (fetcher->delivered_generation == fetcher->state->generation) {
    return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  }
  // gRPC copies both strings; the key copy then lives in gRPC's and OpenSSL's memory, which this
  // code cannot guard.
  grpc_ssl_pem_key_cert_pair pair{
      reinterpret_cast<const char*>(fetcher->state->current.private_key_pem.data()),
      fetcher->state->current.certificate_chain_pem.c_str()};
  *config = grpc_ssl_server_certificate_config_create(fetcher->state->current.client_ca_pem.c_str(),
                                                      &pair, 1);
  if (*config == nullptr) {
    return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL;
  }
  fetcher->delivered_generation = fetcher->state->generation;
  return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
}

class ReloadingGrpcServerCredentials final : public grpc::ServerCredentials {
 public:
  explicit ReloadingGrpcServerCredentials(std::shared_ptr<ReloadableServerCredentials::State> state)
      : state_(std::move(state)) {}

  void SetAuthMetadataProcessor(
      const std::shared_ptr<grpc::AuthMetadataProcessor>& /*processor*/) override {
    // Not wired through; refusing to bind later is safer than serving without the processor.
    processor_requested_ = true;
  }

 private:
  int AddPortToServer(const std::string& address, grpc_server* server) override {
    if (processor_requested_) {
      gpr_log(GPR_ERROR, "tls: AuthMetadataProcessor is not supported on these credentials");
      return 0;
    }
    PortConfigFetcher* fetcher = RegisterFetcher(state_);
    grpc_ssl_server_credentials_options* options =
        grpc_ssl_server_credentials_create_options_using_config_fetcher(
            GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, &FetchConfig, fetcher);
    if (options == nullptr) {
      return 0;
    }
    grpc_server_credentials* credentials = grpc_ssl_server_credentials_create_with_options(options);
    if (credentials == nullptr) {
      return 0;
    }
    const int port = grpc_server_add_http2_port(server, address.c_str(), credentials);
    grpc_server_credentials_release(credentials);
    return port;
  }

  std::shared_ptr<ReloadableServerCredentials::State> state_;
  bool processor_requested_ = false;
};

}  // namespace

base::Status RequireTls13ForNewTlsContexts() {
  static std::once_flag once;
  static base::Status result;
  std::call_once(once, [] {
    // Load the system configuration first, so it cannot later replace the section set here.
    if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, nullptr) != 1) {
      result = internal::InternalError("cannot initialise OpenSSL");
      return;
    }
    // gRPC sets a minimum version of TLS 1.2 on its contexts, which overrides MinProtocol; the
    // per-version "no" options from Protocol are separate and gRPC leaves them alone.
    static constexpr char kConfiguration[] =
        "openssl_conf = signer_openssl\n"
        "[signer_openssl]\n"
        "ssl_conf = signer_ssl\n"
        "[signer_ssl]\n"
        "system_default = signer_tls13_only\n"
        "[signer_tls13_only]\n"
        "MinProtocol = TLSv1.3\n"
        "Protocol = -SSLv3, -TLSv1, -TLSv1.1, -TLSv1.2, TLSv1.3\n";
    internal::BioPtr bio(BIO_new_mem_buf(kConfiguration, sizeof(kConfiguration) - 1));
    CONF* configuration = NCONF_new(nullptr);
    long error_line = 0;
    const bool loaded = bio && configuration != nullptr &&
                        NCONF_load_bio(configuration, bio.get(), &error_line) == 1 &&
                        CONF_modules_load(configuration, nullptr, 0) == 1;
    NCONF_free(configuration);
    if (!loaded) {
      result = internal::InternalError("cannot install the TLS 1.3-only OpenSSL defaults");
      return;
    }
    // Fail closed: check that a new context really refuses TLS 1.2 before anyone relies on it.
    SSL_CTX* probe = SSL_CTX_new(TLS_server_method());
    const bool effective =
        probe != nullptr && (SSL_CTX_get_options(probe) & SSL_OP_NO_TLSv1_2) != 0;
    SSL_CTX_free(probe);
    result = effective ? base::Status::Ok()
                       : internal::InternalError("OpenSSL ignored the TLS 1.3-only defaults");
  });
  return result;
}

ReloadableServerCredentials::ReloadableServerCredentials(std::shared_ptr<State> state)
    : state_(std::move(state)) {}

ReloadableServerCredentials::~ReloadableServerCredentials() = default;

base::Result<std::unique_ptr<ReloadableServerCredentials>> ReloadableServerCredentials::Create(
    ServerCredentialFiles files) {
  if (base::Status status = RequireTls13ForNewTlsContexts(); !status.ok()) {
    return status;
  }
  auto loaded = LoadServerCredentials(files);
  if (!loaded.ok()) {
    return loaded.status();
  }
  auto state = std::make_shared<State>(std::move(files), std::move(loaded.value()));
  return std::unique_ptr<ReloadableServerCredentials>(
      new ReloadableServerCredentials(std::move(state)));
}

std::shared_ptr<grpc::ServerCredentials> ReloadableServerCredentials::GrpcCredentials() {
  return std::make_shared<ReloadingGrpcServerCredentials>(state_);
}

base::Status ReloadableServerCredentials::Reload() {
  // Files are read and checked without the lock, so handshakes never wait on the disk.
  auto loaded = LoadServerCredentials(state_->files);
  if (!loaded.ok()) {
    return loaded.status();
  }
  base::MutexLock lock(state_->mutex);
  state_->current = std::move(loaded.value());
  ++state_->generation;
  return base::Status::Ok();
}

CertificateInfo ReloadableServerCredentials::ServerCertificate() const {
  base::MutexLock lock(state_->mutex);
  return state_->current.server;
}

CertificateInfo ReloadableServerCredentials::CaCertificate() const {
  base::MutexLock lock(state_->mutex);
  return state_->current.ca;
}

ReloadableServerCredentials::ExpiryDays ReloadableServerCredentials::DaysUntilExpiry(
    std::chrono::system_clock::time_point now) const {
  base::MutexLock lock(state_->mutex);
  return {tls::DaysUntilExpiry(state_->current.server, now),
          tls::DaysUntilExpiry(state_->current.ca, now)};
}

uint64_t ReloadableServerCredentials::Generation() const {
  base::MutexLock lock(state_->mutex);
  return state_->generation;
}

base::Result<std::shared_ptr<grpc::ChannelCredentials>> ClientChannelCredentials(
    const ClientCredentialFiles& files) {
  auto ca = base::ReadPublicFile(files.server_ca);
  if (!ca.ok()) {
    return ca.status();
  }
  auto chain = base::ReadPublicFile(files.certificate);
  if (!chain.ok()) {
    return chain.status();
  }
  auto key = base::ReadSecretFile(files.private_key);
  if (!key.ok()) {
    return key.status();
  }
  if (auto parsed = internal::ParseCertificates(ca.value(), files.server_ca.string());
      !parsed.ok()) {
    return parsed.status();
  }
  auto certificates = internal::ParseCertificates(chain.value(), files.certificate.string());
  if (!certificates.ok()) {
    return certificates.status();
  }
  const std::span<const uint8_t> key_text = key.value().span().first(key.value().size() - 1);
  auto parsed_key = internal::ParsePrivateKey(key_text, files.private_key.string());
  if (!parsed_key.ok()) {
    return parsed_key.status();
  }
  if (X509_check_private_key(certificates.value().front().get(), parsed_key.value().get()) != 1) {
    ERR_clear_error();
    return base::Status::InvalidArgument(
        files.private_key.string() + ": private key does not match " + files.certificate.string());
  }
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = std::move(ca.value());
  options.pem_cert_chain = std::move(chain.value());
  // gRPC keeps its own std::string copy of the key; that copy cannot be guarded from here.
  options.pem_private_key.assign(reinterpret_cast<const char*>(key_text.data()), key_text.size());
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(options);
  base::Wipe(
      {reinterpret_cast<uint8_t*>(options.pem_private_key.data()), options.pem_private_key.size()});
  return credentials;
}

namespace {

// IdentityMemo remembers the identities of the client certificates seen lately. gRPC hands every
// call the peer's certificate as PEM text, and parsing it (OpenSSL's decoder set-up dominates) cost
// about a third of signerd's CPU per signed request. The identity is a pure function of the
// certificate's bytes, and the handshake has already verified them, so the same bytes may reuse the
// answer; nothing about trust is remembered. Bounded: when full it starts afresh, which a handful
// of validators' certificates (the normal case) never reaches.
class IdentityMemo {
 public:
  std::optional<std::string> Find(std::string_view pem) EXCLUDES(mutex_) {
    base::MutexLock lock(mutex_);
    if (auto it = identities_.find(pem); it != identities_.end()) return it->second;
    return std::nullopt;
  }
  void Remember(std::string_view pem, const std::string& identity) EXCLUDES(mutex_) {
    base::MutexLock lock(mutex_);
    if (identities_.size() >= kMaxCertificates) identities_.clear();
    identities_.emplace(std::string(pem), identity);
  }

 private:
  static constexpr size_t kMaxCertificates = 1024;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  base::Mutex mutex_;
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> identities_
      GUARDED_BY(mutex_);
};

IdentityMemo& RecentIdentities() {
  static auto* memo = new IdentityMemo();  // never destroyed: calls may end during exit
  return *memo;
}

}  // namespace

base::Result<std::string> PeerIdentity(const grpc::AuthContext& context) {
  if (!context.IsPeerAuthenticated()) {
    return base::Status::InvalidArgument("peer presented no verified client certificate");
  }
  const std::vector<grpc::string_ref> pem = context.FindPropertyValues("x509_pem_cert");
  if (!pem.empty()) {
    const std::string_view pem_text(pem.front().data(), pem.front().size());
    if (std::optional<std::string> known = RecentIdentities().Find(pem_text)) return *known;
    base::Result<std::string> identity = IdentityFromCertificate(
        {reinterpret_cast<const uint8_t*>(pem_text.data()), pem_text.size()});
    if (identity.ok()) RecentIdentities().Remember(pem_text, *identity);
    return identity;
  }
  auto collect = [&context](const char* property) {
    std::vector<std::string> values;
    for (const grpc::string_ref& value : context.FindPropertyValues(property)) {
      values.emplace_back(value.data(), value.size());
    }
    return values;
  };
  const std::vector<std::string> common_names = collect("x509_common_name");
  const std::vector<std::string> alternative_names = collect("x509_subject_alternative_name");
  return IdentityFromNames(common_names, alternative_names);
}

}  // namespace tls
