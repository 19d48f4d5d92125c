// Development PKI: a CA, a server certificate and named client certificates made with OpenSSL.
//
// For development and tests only: the CA key is left on disk next to the certificates so more
// clients can be added later. Production deployments bring their own PKI.
// Thread safety: CreateDevPki may run concurrently for different directories.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace tls {

// DevPkiOptions says what to create. Keys are ECDSA P-256, signatures ECDSA-SHA256.
struct DevPkiOptions {
  std::filesystem::path directory;  // created (mode 0700) if missing
  // Client identities, each becoming subject CN and a DNS subjectAltName of its certificate.
  // Allowed characters: ASCII letters, digits, '.', '_' and '-'; 1 to 64 characters; not starting
  // with '.' or '-'; "ca" and "server" are reserved for the other files.
  std::vector<std::string> client_identities;
  // Extra server names besides localhost, 127.0.0.1 and ::1: an IP literal becomes an IP SAN,
  // anything else a DNS SAN. The first extra name, if any, is also the server's CN.
  std::vector<std::string> server_names;
  int validity_days = 365;  // 1 to 3650
  // Start of validity; default now minus five minutes so a peer with a slightly slow clock
  // accepts the certificates. Tests set it to make expired or not-yet-valid certificates.
  std::optional<std::chrono::system_clock::time_point> not_before;
  bool overwrite = false;  // replace an existing PKI in `directory`
};

// DevPkiFile is one written file.
struct DevPkiFile {
  std::string role;      // "ca-certificate", "ca-key", "server-certificate", "server-key",
                         // "client-certificate", "client-key"
  std::string identity;  // the client identity for client files, empty otherwise
  std::filesystem::path path;
  unsigned mode = 0;  // 0600 for keys, 0644 for certificates
};

// DevPkiFiles lists everything written, in a fixed order: CA, server, then clients as given.
struct DevPkiFiles {
  std::filesystem::path ca_certificate;
  std::filesystem::path server_certificate;
  std::filesystem::path server_key;
  std::vector<DevPkiFile> files;
};

// File names inside the directory; client files are "<identity>.crt" and "<identity>.key".
inline constexpr char kCaCertificateFile[] = "ca.crt";
inline constexpr char kCaKeyFile[] = "ca.key";
inline constexpr char kServerCertificateFile[] = "server.crt";
inline constexpr char kServerKeyFile[] = "server.key";

// CreateDevPki makes a new CA, a server certificate (SAN DNS:localhost, IP:127.0.0.1, IP:::1 and
// `server_names`; EKU serverAuth) and one client certificate per identity (EKU clientAuth), all
// signed by the CA, and writes each file atomically: keys 0600, certificates 0644.
// Fails with kInvalidArgument for a bad option or, unless `overwrite`, if any of the files already
// exists (nothing is written then); kUnavailable for I/O errors; kInternal if OpenSSL fails. A
// failure part-way may leave some new files beside old ones; rerun with `overwrite`.
[[nodiscard]] base::Result<DevPkiFiles> CreateDevPki(const DevPkiOptions& options);

}  // namespace tls
