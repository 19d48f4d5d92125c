// Mutual-TLS gRPC server credentials that pick up reloaded files on the next handshake.
//
// gRPC 1.51's C++ TLS credentials cannot be reloaded on demand (only a polling file watcher) and
// cannot set a minimum TLS version. Its C core SSL credentials can do both: a certificate-config
// callback runs before every handshake, and the credentials object has a minimum-version setter
// that is exported but not declared in an installed header. This file uses those two.
#include "tls/grpc_credentials.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include <atomic>
#include <vector>

// gRPC 1.51 exports this member function of its internal SSL server credentials class but ships no
// header for it. Declaring just that member lets the linker bind it; if a later gRPC drops the
// symbol the build fails rather than silently allowing TLS 1.2. tls_test checks the effect.
class grpc_ssl_server_credentials {
 public:
  void set_min_tls_version(grpc_tls_version min_tls_version);
};

namespace tls {

struct ReloadableServerCredentials::State {
  ServerCredentialFiles files;
  mutable std::mutex mutex;
  ServerCredentials current;  // guarded by mutex
  uint64_t generation = 0;    // guarded by mutex
};

namespace {

// PortConfigFetcher is the per-listener memory of which generation that listener already uses.
// gRPC keeps the raw pointer for the listener's whole life and offers no destroy hook, so fetchers
// live in a process-wide registry and are never freed: a few dozen bytes per listening port.
struct PortConfigFetcher {
  std::shared_ptr<ReloadableServerCredentials::State> state;
  uint64_t delivered_generation = 0;  // guarded by state->mutex
};

PortConfigFetcher* RegisterFetcher(std::shared_ptr<ReloadableServerCredentials::State> state) {
  static std::mutex registry_mutex;
  static auto* registry = new std::vector<std::unique_ptr<PortConfigFetcher>>();
  std::lock_guard lock(registry_mutex);
  registry->push_back(std::make_unique<PortConfigFetcher>(PortConfigFetcher{std::move(state), 0}));
  return registry->back().get();
}

// FetchConfig runs on a gRPC thread before each handshake on the port. It hands over a new
// configuration only when a newer generation exists, so the usual cost is one mutex round trip.
grpc_ssl_certificate_config_reload_status FetchConfig(void* user_data,
                                                      grpc_ssl_server_certificate_config** config) {
  auto* fetcher = static_cast<PortConfigFetcher*>(user_data);
  ReloadableServerCredentials::State& state = *fetcher->state;
  std::lock_guard lock(state.mutex);
  if (fetcher->delivered_generation == state.generation) {
    return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  }
  // gRPC copies both strings; the key copy then lives in gRPC's and OpenSSL's memory, which this
  // code cannot guard.
  grpc_ssl_pem_key_cert_pair pair{
      reinterpret_cast<const char*>(state.current.private_key_pem.data()),
      state.current.certificate_chain_pem.c_str()};
  *config =
      grpc_ssl_server_certificate_config_create(state.current.client_ca_pem.c_str(), &pair, 1);
  if (*config == nullptr) {
    return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL;
  }
  fetcher->delivered_generation = state.generation;
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
    // The object really is a grpc_ssl_server_credentials, which derives from
    // grpc_server_credentials alone, so the pointer is the same.
    reinterpret_cast<grpc_ssl_server_credentials*>(credentials)->set_min_tls_version(TLS1_3);
    const int port = grpc_server_add_http2_port(server, address.c_str(), credentials);
    grpc_server_credentials_release(credentials);
    return port;
  }

  std::shared_ptr<ReloadableServerCredentials::State> state_;
  bool processor_requested_ = false;
};

}  // namespace

ReloadableServerCredentials::ReloadableServerCredentials(std::shared_ptr<State> state)
    : state_(std::move(state)) {}

ReloadableServerCredentials::~ReloadableServerCredentials() = default;

keymgr::Result<std::unique_ptr<ReloadableServerCredentials>> ReloadableServerCredentials::Create(
    ServerCredentialFiles files) {
  auto loaded = LoadServerCredentials(files);
  if (!loaded.ok()) {
    return loaded.status();
  }
  auto state = std::make_shared<State>();
  state->files = std::move(files);
  state->current = std::move(loaded.value());
  state->generation = 1;
  return std::unique_ptr<ReloadableServerCredentials>(
      new ReloadableServerCredentials(std::move(state)));
}

std::shared_ptr<grpc::ServerCredentials> ReloadableServerCredentials::GrpcCredentials() {
  return std::make_shared<ReloadingGrpcServerCredentials>(state_);
}

keymgr::Status ReloadableServerCredentials::Reload() {
  // Files are read and checked without the lock, so handshakes never wait on the disk.
  auto loaded = LoadServerCredentials(state_->files);
  if (!loaded.ok()) {
    return loaded.status();
  }
  std::lock_guard lock(state_->mutex);
  state_->current = std::move(loaded.value());
  ++state_->generation;
  return keymgr::Status::Ok();
}

CertificateInfo ReloadableServerCredentials::ServerCertificate() const {
  std::lock_guard lock(state_->mutex);
  return state_->current.server;
}

CertificateInfo ReloadableServerCredentials::CaCertificate() const {
  std::lock_guard lock(state_->mutex);
  return state_->current.ca;
}

uint64_t ReloadableServerCredentials::Generation() const {
  std::lock_guard lock(state_->mutex);
  return state_->generation;
}

keymgr::Result<std::string> PeerIdentity(const grpc::AuthContext& context) {
  if (!context.IsPeerAuthenticated()) {
    return keymgr::Status::InvalidArgument("peer presented no verified client certificate");
  }
  const std::vector<grpc::string_ref> pem = context.FindPropertyValues("x509_pem_cert");
  if (!pem.empty()) {
    return IdentityFromCertificate(
        {reinterpret_cast<const uint8_t*>(pem.front().data()), pem.front().size()});
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
