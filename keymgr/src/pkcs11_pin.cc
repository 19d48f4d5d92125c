// Reading a PKCS#11 user PIN from an owner-only file or an environment variable, never from argv.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <span>

#include "keymgr/pkcs11_custody.h"

namespace keymgr {
namespace {

// kMaxPinSize is far above any token's PIN limit: a longer file is the wrong file, and reading
// stops just past it.
constexpr size_t kMaxPinSize = 256;

}  // namespace

base::Result<base::SecretBytes> ReadPinFromFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return base::Status::NotFound("PIN file does not exist: " + path);
    if (errno == ELOOP)
      return base::Status::InvalidArgument("PIN file must not be a symlink: " + path);
    return base::Status::InvalidArgument("cannot open PIN file " + path + ": " +
                                         std::strerror(errno));
  }
  struct stat info {};
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    close(fd);
    return base::Status::InvalidArgument("PIN file is not a regular file: " + path);
  }
  // Checked on the open descriptor, so the file cannot be swapped between the check and the read.
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    close(fd);
    return base::Status::InvalidArgument("PIN file must have mode 0600 or stricter: " + path);
  }
  if (info.st_uid != geteuid()) {
    close(fd);
    return base::Status::InvalidArgument("PIN file must be owned by the signer's user: " + path);
  }
  base::SecretBytes buffer(kMaxPinSize + 1);
  size_t size = 0;
  while (size < buffer.size()) {
    const ssize_t got = read(fd, buffer.data() + size, buffer.size() - size);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      close(fd);
      return base::Status::InvalidArgument("cannot read PIN file " + path);
    }
    if (got == 0) break;
    size += static_cast<size_t>(got);
  }
  close(fd);
  if (size > kMaxPinSize) return base::Status::InvalidArgument("PIN file is too long: " + path);
  if (size > 0 && buffer.data()[size - 1] == '\n') --size;
  if (size > 0 && buffer.data()[size - 1] == '\r') --size;
  if (size == 0) return base::Status::InvalidArgument("PIN file is empty: " + path);
  return base::SecretBytes::CopyFrom(buffer.span().first(size));
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
