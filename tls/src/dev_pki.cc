// Development PKI: ECDSA P-256 CA, server and client certificates through OpenSSL 3's API.
#include "tls/dev_pki.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "base/file_io.h"
#include "base/secret_bytes.h"
#include "openssl_util.h"

namespace tls {
namespace {

using internal::BioPtr;
using internal::InternalError;
using internal::PkeyPtr;
using internal::X509ExtensionPtr;
using internal::X509Ptr;

constexpr mode_t kKeyMode = 0600;
constexpr mode_t kCertificateMode = 0644;
constexpr int kMaxValidityDays = 3650;
constexpr size_t kMaxIdentityNameLength = 64;

bool ValidClientIdentity(std::string_view identity) {
  if (identity.empty() || identity.size() > kMaxIdentityNameLength) {
    return false;
  }
  if (identity.front() == '.' || identity.front() == '-') {
    return false;
  }
  if (identity == "ca" || identity == "server") {
    return false;
  }
  return std::all_of(identity.begin(), identity.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
  });
}

bool IsIpLiteral(const std::string& name) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, name.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, name.c_str(), buffer) == 1;
}

// ValidDnsName accepts host names and a leading wildcard label. It also keeps the name free of the
// ',' and ':' that OpenSSL's extension syntax would read as separators.
bool ValidDnsName(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.' ||
      name.front() == '-') {
    return false;
  }
  if (name.starts_with("*.")) {
    name.remove_prefix(2);
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-';
  });
}

base::Result<PkeyPtr> GenerateP256Key() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) {
    return InternalError("P-256 key generation failed");
  }
  return key;
}

// PrivateKeyPem renders the key as PKCS#8 PEM through a secure-heap BIO, so the only copy outside
// guarded memory is OpenSSL's own, which it clears.
base::Result<base::SecretBytes> PrivateKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return InternalError("cannot encode private key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  if (size <= 0) {
    return InternalError("empty private key encoding");
  }
  return base::SecretBytes::CopyFrom(
      {reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(size)});
}

base::Result<std::string> CertificatePem(X509* certificate) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), certificate) != 1) {
    return InternalError("cannot encode certificate");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

// CertificateRequest is what differs between the CA, server and client certificates.
struct CertificateRequest {
  std::string common_name;
  // Extensions in OpenSSL's configuration syntax, by NID, applied in order (the subject key
  // identifier comes before the authority key identifier that may refer to it).
  std::vector<std::pair<int, std::string>> extensions;
};

base::Status SetRandomSerial(X509* certificate) {
  // 159 random bits: positive, unpredictable, within RFC 5280's 20-octet limit.
  unsigned char bytes[20];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return InternalError("no randomness for a serial number");
  }
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01;  // never a shorter encoding, never zero
  internal::BignumPtr number(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  if (!number || BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(certificate)) == nullptr) {
    return InternalError("cannot set serial number");
  }
  return base::Status::Ok();
}

// Issue makes a certificate for `subject_key`, signed by `issuer_key`; a null `issuer` means
// self-signed.
base::Result<X509Ptr> Issue(const CertificateRequest& request, EVP_PKEY* subject_key, X509* issuer,
                            EVP_PKEY* issuer_key, time_t not_before, int validity_days) {
  X509Ptr certificate(X509_new());
  if (!certificate || X509_set_version(certificate.get(), X509_VERSION_3) != 1) {
    return InternalError("cannot create certificate");
  }
  if (base::Status status = SetRandomSerial(certificate.get()); !status.ok()) {
    return status;
  }
  const time_t not_after = not_before + static_cast<time_t>(validity_days) * 86400;
  if (ASN1_TIME_set(X509_getm_notBefore(certificate.get()), not_before) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(certificate.get()), not_after) == nullptr) {
    return InternalError("cannot set validity");
  }
  X509_NAME* name = X509_get_subject_name(certificate.get());
  if (X509_NAME_add_entry_by_NID(
          name, NID_commonName, MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(request.common_name.c_str()), -1, -1, 0) != 1) {
    return InternalError("cannot set subject");
  }
  const X509_NAME* issuer_name = issuer != nullptr ? X509_get_subject_name(issuer) : name;
  if (X509_set_issuer_name(certificate.get(), issuer_name) != 1 ||
      X509_set_pubkey(certificate.get(), subject_key) != 1) {
    return InternalError("cannot set issuer or public key");
  }
  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer != nullptr ? issuer : certificate.get(), certificate.get(),
                 nullptr, nullptr, 0);
  for (const auto& [nid, value] : request.extensions) {
    X509ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()));
    if (!extension || X509_add_ext(certificate.get(), extension.get(), -1) != 1) {
      return InternalError(std::string("cannot add extension ") + OBJ_nid2sn(nid));
    }
  }
  if (X509_sign(certificate.get(), issuer_key, EVP_sha256()) <= 0) {
    return InternalError("cannot sign certificate");
  }
  return certificate;
}

base::Status ValidateOptions(const DevPkiOptions& options) {
  if (options.directory.empty()) {
    return base::Status::InvalidArgument("a directory for the PKI is required");
  }
  if (options.validity_days < 1 || options.validity_days > kMaxValidityDays) {
    return base::Status::InvalidArgument("validity must be 1 to 3650 days");
  }
  std::set<std::string> seen;
  for (const std::string& identity : options.client_identities) {
    if (!ValidClientIdentity(identity)) {
      return base::Status::InvalidArgument(
          "client identity '" + identity +
          "' must be 1-64 letters, digits, '.', '_' or '-', not start with '.' or '-', and not be "
          "'ca' or 'server'");
    }
    if (!seen.insert(identity).second) {
      return base::Status::InvalidArgument("client identity '" + identity + "' given twice");
    }
  }
  for (const std::string& name : options.server_names) {
    if (!IsIpLiteral(name) && !ValidDnsName(name)) {
      return base::Status::InvalidArgument("server name '" + name +
                                           "' is neither an IP address nor a DNS name");
    }
  }
  return base::Status::Ok();
}

struct PlannedFile {
  DevPkiFile description;
  std::vector<uint8_t> public_content;  // certificates
  base::SecretBytes secret_content;     // keys
};

base::Status AddKeyAndCertificate(std::vector<PlannedFile>& files, const std::string& role,
                                  const std::string& identity,
                                  const std::filesystem::path& certificate_path,
                                  const std::filesystem::path& key_path, X509* certificate,
                                  EVP_PKEY* key) {
  auto certificate_pem = CertificatePem(certificate);
  if (!certificate_pem.ok()) {
    return certificate_pem.status();
  }
  auto key_pem = PrivateKeyPem(key);
  if (!key_pem.ok()) {
    return key_pem.status();
  }
  PlannedFile certificate_file;
  certificate_file.description = {role + "-certificate", identity, certificate_path,
                                  kCertificateMode};
  certificate_file.public_content.assign(certificate_pem.value().begin(),
                                         certificate_pem.value().end());
  files.push_back(std::move(certificate_file));
  PlannedFile key_file;
  key_file.description = {role + "-key", identity, key_path, kKeyMode};
  key_file.secret_content = std::move(key_pem.value());
  files.push_back(std::move(key_file));
  return base::Status::Ok();
}

}  // namespace

base::Result<DevPkiFiles> CreateDevPki(const DevPkiOptions& options) {
  if (base::Status status = ValidateOptions(options); !status.ok()) {
    return status;
  }
  const std::filesystem::path& directory = options.directory;

  std::vector<std::filesystem::path> targets = {
      directory / kCaCertificateFile, directory / kCaKeyFile, directory / kServerCertificateFile,
      directory / kServerKeyFile};
  for (const std::string& identity : options.client_identities) {
    targets.push_back(directory / (identity + ".crt"));
    targets.push_back(directory / (identity + ".key"));
  }
  if (!options.overwrite) {
    for (const auto& target : targets) {
      std::error_code error;
      if (std::filesystem::symlink_status(target, error).type() !=
          std::filesystem::file_type::not_found) {
        return base::Status::InvalidArgument(target.string() +
                                             " already exists; refusing to overwrite a PKI");
      }
    }
  }

  const auto start =
      options.not_before.value_or(std::chrono::system_clock::now() - std::chrono::minutes(5));
  const time_t not_before = std::chrono::system_clock::to_time_t(start);

  auto ca_key = GenerateP256Key();
  if (!ca_key.ok()) {
    return ca_key.status();
  }
  CertificateRequest ca_request{"Polkadot remote signer development CA",
                                {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                 {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                 {NID_subject_key_identifier, "hash"},
                                 {NID_authority_key_identifier, "keyid:always"}}};
  auto ca = Issue(ca_request, ca_key.value().get(), nullptr, ca_key.value().get(), not_before,
                  options.validity_days);
  if (!ca.ok()) {
    return ca.status();
  }

  std::string alternative_names = "DNS:localhost,IP:127.0.0.1,IP:::1";
  for (const std::string& name : options.server_names) {
    alternative_names += (IsIpLiteral(name) ? ",IP:" : ",DNS:") + name;
  }
  auto server_key = GenerateP256Key();
  if (!server_key.ok()) {
    return server_key.status();
  }
  CertificateRequest server_request{
      options.server_names.empty() ? std::string("localhost") : options.server_names.front(),
      {{NID_basic_constraints, "critical,CA:FALSE"},
       {NID_key_usage, "critical,digitalSignature"},
       {NID_ext_key_usage, "serverAuth"},
       {NID_subject_alt_name, alternative_names},
       {NID_subject_key_identifier, "hash"},
       {NID_authority_key_identifier, "keyid:always"}}};
  auto server = Issue(server_request, server_key.value().get(), ca.value().get(),
                      ca_key.value().get(), not_before, options.validity_days);
  if (!server.ok()) {
    return server.status();
  }

  std::vector<PlannedFile> planned;
  if (base::Status status = AddKeyAndCertificate(planned, "ca", "", targets[0], targets[1],
                                                 ca.value().get(), ca_key.value().get());
      !status.ok()) {
    return status;
  }
  if (base::Status status = AddKeyAndCertificate(planned, "server", "", targets[2], targets[3],
                                                 server.value().get(), server_key.value().get());
      !status.ok()) {
    return status;
  }
  for (size_t index = 0; index < options.client_identities.size(); ++index) {
    const std::string& identity = options.client_identities[index];
    auto client_key = GenerateP256Key();
    if (!client_key.ok()) {
      return client_key.status();
    }
    CertificateRequest client_request{identity,
                                      {{NID_basic_constraints, "critical,CA:FALSE"},
                                       {NID_key_usage, "critical,digitalSignature"},
                                       {NID_ext_key_usage, "clientAuth"},
                                       {NID_subject_alt_name, "DNS:" + identity},
                                       {NID_subject_key_identifier, "hash"},
                                       {NID_authority_key_identifier, "keyid:always"}}};
    auto client = Issue(client_request, client_key.value().get(), ca.value().get(),
                        ca_key.value().get(), not_before, options.validity_days);
    if (!client.ok()) {
      return client.status();
    }
    if (base::Status status = AddKeyAndCertificate(planned, "client", identity,
                                                   targets[4 + 2 * index], targets[5 + 2 * index],
                                                   client.value().get(), client_key.value().get());
        !status.ok()) {
      return status;
    }
  }

  // Everything is generated before the first write, so a refused or failed generation leaves
  // the directory as it was.
  std::error_code error;
  if (!std::filesystem::exists(directory, error)) {
    if (!std::filesystem::create_directories(directory, error)) {
      return base::Status::Unavailable("cannot create " + directory.string() + ": " +
                                       error.message());
    }
    std::filesystem::permissions(directory, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, error);
  }
  DevPkiFiles result{targets[0], targets[2], targets[3], {}};
  for (PlannedFile& file : planned) {
    const std::span<const uint8_t> content = file.secret_content.empty()
                                                 ? std::span<const uint8_t>(file.public_content)
                                                 : file.secret_content.span();
    if (base::Status status = base::WriteFileAtomically(file.description.path, content,
                                                        static_cast<mode_t>(file.description.mode));
        !status.ok()) {
      return status;
    }
    result.files.push_back(file.description);
  }
  return result;
}

}  // namespace tls
