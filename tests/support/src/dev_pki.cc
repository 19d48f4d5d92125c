// Development PKIs for tests: tls::CreateDevPki with its defaults and the file names it writes.
#include "support/dev_pki.h"

namespace support {

base::Result<tls::DevPkiFiles> MakeDevPki(const std::filesystem::path& directory,
                                          const std::vector<std::string>& client_identities) {
  tls::DevPkiOptions options;
  options.directory = directory;
  options.client_identities = client_identities;
  return tls::CreateDevPki(options);
}

tls::ServerCredentialFiles DevPkiServerFiles(const std::filesystem::path& directory) {
  return {directory / tls::kServerCertificateFile, directory / tls::kServerKeyFile,
          directory / tls::kCaCertificateFile};
}

tls::ClientCredentialFiles DevPkiClientFiles(const std::filesystem::path& directory,
                                             const std::string& identity) {
  return {directory / tls::kCaCertificateFile, directory / (identity + ".crt"),
          directory / (identity + ".key")};
}

base::Result<std::shared_ptr<grpc::ChannelCredentials>> DevPkiClientCredentials(
    const std::filesystem::path& directory, const std::string& identity) {
  return tls::ClientChannelCredentials(DevPkiClientFiles(directory, identity));
}

}  // namespace support
