// ReadPrivateFile: the owner-only checks every secret input file passes, then a bounded read.
#include "keymgr/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/file_descriptor.h"

namespace keymgr {

base::Result<base::SecretBytes> ReadPrivateFile(const std::string& path, std::string_view what,
                                                size_t max_size) {
  const std::string name(what);
  base::FileDescriptor file(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (file.get() < 0) {
    if (errno == ENOENT) return base::Status::NotFound(name + " does not exist");
    if (errno == ELOOP) return base::Status::InvalidArgument(name + " must not be a symlink");
    return base::Status::InvalidArgument("cannot open " + name + ": " + std::strerror(errno));
  }
  struct stat info {};
  if (::fstat(file.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return base::Status::InvalidArgument(name + " is not a regular file");
  }
  // A secret that others could read must be treated as disclosed, so it is not used at all.
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return base::Status::InvalidArgument(name + " must have mode 0600 or stricter");
  }
  if (info.st_uid != ::geteuid()) {
    return base::Status::InvalidArgument(name + " must be owned by this user");
  }
  // One byte more than allowed tells a file of exactly the limit from a longer one.
  base::SecretBytes buffer(max_size + 1);
  size_t size = 0;
  while (size < buffer.size()) {
    const ssize_t got = ::read(file.get(), buffer.data() + size, buffer.size() - size);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return base::Status::InvalidArgument("cannot read " + name);
    if (got == 0) break;
    size += static_cast<size_t>(got);
  }
  if (size > max_size) return base::Status::InvalidArgument(name + " is too long");
  return base::SecretBytes::CopyFrom(buffer.span().first(size));
}

}  // namespace keymgr
