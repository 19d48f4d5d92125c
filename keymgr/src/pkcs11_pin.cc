// Reading a PKCS#11 user PIN from an owner-only file or an environment variable, never from argv.
#include <cstdlib>
#include <cstring>
#include <span>

#include "keymgr/pkcs11_custody.h"
#include "keymgr/private_file.h"

namespace keymgr {
namespace {

// kMaxPinSize is far above any token's PIN limit: a longer file is the wrong file, and reading
// stops just past it.
constexpr size_t kMaxPinSize = 256;

}  // namespace

base::Result<base::SecretBytes> ReadPinFromFile(const std::string& path) {
  const std::string what = "PIN file " + path;
  SIGNER_ASSIGN_OR_RETURN(base::SecretBytes content, ReadPrivateFile(path, what, kMaxPinSize));
  size_t size = content.size();
  if (size > 0 && content.data()[size - 1] == '\n') --size;
  if (size > 0 && content.data()[size - 1] == '\r') --size;
  if (size == 0) return base::Status::InvalidArgument(what + " is empty");
  return base::SecretBytes::CopyFrom(content.span().first(size));
}

base::Result<base::SecretBytes> ReadPinFromEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0')
    return base::Status::NotFound("environment variable " + name + " is not set");
  const size_t size = std::strlen(value);
  if (size > kMaxPinSize) return base::Status::InvalidArgument("PIN in " + name + " is too long");
  return base::SecretBytes::CopyFrom(std::span(reinterpret_cast<const uint8_t*>(value), size));
}

}  // namespace keymgr
