// Development PKIs for tests: make one in a directory and name the files a server or client uses.
#pragma once

#include <grpcpp/security/credentials.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "tls/credentials.h"
#include "tls/dev_pki.h"
#include "tls/grpc_credentials.h"

namespace support {

// MakeDevPki makes tls::CreateDevPki's default PKI (a CA, a localhost server certificate valid
// for a year) in `directory` with one client certificate per identity. Fails as CreateDevPki does.
base::Result<tls::DevPkiFiles> MakeDevPki(const std::filesystem::path& directory,
                                          const std::vector<std::string>& client_identities = {});

// DevPkiServerFiles names the server certificate, key and client CA of the PKI in `directory`, as
// signerd's configuration names them.
tls::ServerCredentialFiles DevPkiServerFiles(const std::filesystem::path& directory);

// DevPkiClientFiles names the server CA and `identity`'s certificate and key in `directory`.
tls::ClientCredentialFiles DevPkiClientFiles(const std::filesystem::path& directory,
                                             const std::string& identity);

// DevPkiClientCredentials loads DevPkiClientFiles for grpc::CreateChannel. Fails as
// tls::ClientChannelCredentials does.
base::Result<std::shared_ptr<grpc::ChannelCredentials>> DevPkiClientCredentials(
    const std::filesystem::path& directory, const std::string& identity);

}  // namespace support
