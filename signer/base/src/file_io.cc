// Bounded file reads (keys into guarded memory) and atomic writes with exact permissions.
#include "base/file_io.h"

#include "base/file_descriptor.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace base {
namespace {

Status IoError(std::string_view action, const std::filesystem::path& path, int error) {
  std::string message = std::string(action) + " " + path.string() + ": " + std::strerror(error);
  if (error == ENOENT) {
    return Status::NotFound(std::move(message));
  }
  return Status::Unavailable(std::move(message));
}

// OpenForRead opens a regular file and stats it, refusing anything too large.
Status OpenForRead(const std::filesystem::path& path, FileDescriptor& out_fd,
                   struct stat& out_info) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return IoError("cannot open", path, errno);
  }
  out_fd.Reset(fd);
  if (::fstat(fd, &out_info) != 0) {
    return IoError("cannot stat", path, errno);
  }
  if (!S_ISREG(out_info.st_mode)) {
    return Status::InvalidArgument(path.string() + " is not a regular file");
  }
  if (static_cast<size_t>(out_info.st_size) > kMaxCredentialFileSize) {
    return Status::InvalidArgument(path.string() + " is larger than 1 MiB");
  }
  return Status::Ok();
}

Status ReadExactly(int fd, const std::filesystem::path& path, uint8_t* out, size_t size,
                   size_t& out_read) {
  out_read = 0;
  while (out_read < size) {
    const ssize_t got = ::read(fd, out + out_read, size - out_read);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return IoError("cannot read", path, errno);
    }
    if (got == 0) {
      break;  // the file shrank while we read it; use what is there
    }
    out_read += static_cast<size_t>(got);
  }
  return Status::Ok();
}

Status WriteAll(int fd, const std::filesystem::path& path, std::span<const uint8_t> content) {
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t put = ::write(fd, content.data() + written, content.size() - written);
    if (put < 0) {
      if (errno == EINTR) {
        continue;
      }
      return IoError("cannot write", path, errno);
    }
    written += static_cast<size_t>(put);
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> ReadPublicFile(const std::filesystem::path& path) {
  FileDescriptor fd(-1);
  struct stat info = {};
  if (Status status = OpenForRead(path, fd, info); !status.ok()) {
    return status;
  }
  std::string content(static_cast<size_t>(info.st_size), '\0');
  size_t got = 0;
  if (Status status = ReadExactly(fd.get(), path, reinterpret_cast<uint8_t*>(content.data()),
                                  content.size(), got);
      !status.ok()) {
    return status;
  }
  content.resize(got);
  return content;
}

Result<SecretBytes> ReadSecretFile(const std::filesystem::path& path) {
  FileDescriptor fd(-1);
  struct stat info = {};
  if (Status status = OpenForRead(path, fd, info); !status.ok()) {
    return status;
  }
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return Status::InvalidArgument(
        path.string() +
        " is accessible to group or others; a private key must be mode 0600 or "
        "0400");
  }
  const size_t size = static_cast<size_t>(info.st_size);
  SecretBytes buffer(size + 1);
  size_t got = 0;
  if (Status status = ReadExactly(fd.get(), path, buffer.data(), size, got); !status.ok()) {
    return status;
  }
  if (got != size) {
    return Status::Unavailable(path.string() + " changed while it was read");
  }
  buffer.data()[size] = 0;
  return buffer;
}

Status WriteFileAtomically(const std::filesystem::path& path, std::span<const uint8_t> content,
                           mode_t mode) {
  const std::filesystem::path directory =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::random_device random;
  const std::filesystem::path temporary =
      directory / ("." + path.filename().string() + ".tmp-" + std::to_string(random()));
  // O_EXCL with the final mode from the start: the content is never visible with looser rights.
  FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) {
    return IoError("cannot create", temporary, errno);
  }
  auto fail = [&](Status status) {
    ::unlink(temporary.c_str());
    return status;
  };
  // The umask may have removed bits from `mode`; set it exactly.
  if (::fchmod(fd.get(), mode) != 0) {
    return fail(IoError("cannot chmod", temporary, errno));
  }
  if (Status status = WriteAll(fd.get(), temporary, content); !status.ok()) {
    return fail(status);
  }
  if (::fsync(fd.get()) != 0) {
    return fail(IoError("cannot fsync", temporary, errno));
  }
  if (::close(fd.Release()) != 0) {
    return fail(IoError("cannot close", temporary, errno));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    return fail(IoError("cannot rename onto", path, errno));
  }
  FileDescriptor directory_fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (directory_fd.get() < 0 || ::fsync(directory_fd.get()) != 0) {
    return IoError("cannot fsync directory", directory, errno);
  }
  return Status::Ok();
}

}  // namespace base
