// OpenSSL error draining, certificate/key parsing and time conversion shared by tls/.
#include "openssl_util.h"

#include <openssl/pem.h>

#include <climits>
#include <ctime>

namespace tls::internal {

std::string OpenSslError() {
  std::string text;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    if (!text.empty()) {
      text += "; ";
    }
    text += buffer;
  }
  return text.empty() ? "no OpenSSL error recorded" : text;
}

base::Status InternalError(std::string_view what) {
  return base::Status::Internal(std::string(what) + ": " + OpenSslError());
}

namespace {

BioPtr MemoryBio(const void* data, size_t size) {
  if (size > INT_MAX) {
    return nullptr;
  }
  return BioPtr(BIO_new_mem_buf(data, static_cast<int>(size)));
}

bool IsPemEndOfData() {
  const unsigned long code = ERR_peek_last_error();
  return ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE;
}

}  // namespace

base::Result<std::vector<X509Ptr>> ParseCertificates(std::string_view pem, std::string_view what) {
  ERR_clear_error();
  BioPtr bio = MemoryBio(pem.data(), pem.size());
  if (!bio) {
    return InternalError("cannot buffer certificate text");
  }
  std::vector<X509Ptr> certificates;
  while (true) {
    X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!certificate) {
      // Running out of PEM blocks ends the list; anything else means a damaged block.
      if (IsPemEndOfData()) {
        ERR_clear_error();
        break;
      }
      return base::Status::InvalidArgument(std::string(what) +
                                           ": malformed certificate: " + OpenSslError());
    }
    certificates.push_back(std::move(certificate));
  }
  if (certificates.empty()) {
    return base::Status::InvalidArgument(std::string(what) + ": no PEM certificate found");
  }
  return certificates;
}

base::Result<X509Ptr> ParseCertificatePemOrDer(std::span<const uint8_t> bytes) {
  ERR_clear_error();
  static constexpr std::string_view kPemMarker = "-----BEGIN";
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (text.find(kPemMarker) != std::string_view::npos) {
    auto certificates = ParseCertificates(text, "peer certificate");
    if (!certificates.ok()) {
      return certificates.status();
    }
    // Only the leaf identifies the peer; a chain in the same text is allowed after it.
    return std::move(certificates.value().front());
  }
  if (bytes.size() > LONG_MAX) {
    return base::Status::InvalidArgument("peer certificate: too large");
  }
  const unsigned char* cursor = bytes.data();
  X509Ptr certificate(d2i_X509(nullptr, &cursor, static_cast<long>(bytes.size())));
  if (!certificate) {
    return base::Status::InvalidArgument("peer certificate: neither PEM nor DER: " +
                                         OpenSslError());
  }
  if (cursor != bytes.data() + bytes.size()) {
    return base::Status::InvalidArgument("peer certificate: trailing bytes after DER");
  }
  return certificate;
}

base::Result<PkeyPtr> ParsePrivateKey(std::span<const uint8_t> pem, std::string_view what) {
  ERR_clear_error();
  BioPtr bio = MemoryBio(pem.data(), pem.size());
  if (!bio) {
    return InternalError("cannot buffer private key text");
  }
  // A null password callback with an empty password makes an encrypted key fail instead of
  // prompting on the terminal.
  static char kNoPassword[] = "";
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, kNoPassword));
  if (!key) {
    // The reason is dropped on purpose: a key file's problems are reported without detail so no
    // fragment of it can reach a log.
    ERR_clear_error();
    return base::Status::InvalidArgument(std::string(what) +
                                         ": not an unencrypted PEM private key");
  }
  return key;
}

base::Result<std::chrono::system_clock::time_point> Asn1TimeToTimePoint(const ASN1_TIME* time) {
  struct tm broken_down = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &broken_down) != 1) {
    return base::Status::InvalidArgument("certificate has an unreadable validity time");
  }
  const time_t seconds = timegm(&broken_down);
  return std::chrono::system_clock::from_time_t(seconds);
}

}  // namespace tls::internal
