// File helpers for tests: streams for reading, mkstemp plus rename for writing.
#include "support/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

namespace support {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

base::Status WriteFile(const std::filesystem::path& path, std::string_view content, mode_t mode) {
  std::string temporary = path.string() + ".tmp-XXXXXX";
  const int fd = ::mkstemp(temporary.data());
  if (fd < 0) {
    return base::Status::IoError("cannot create " + temporary + ": " + std::strerror(errno));
  }
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t got = ::write(fd, content.data() + written, content.size() - written);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    written += static_cast<size_t>(got);
  }
  const bool complete = written == content.size() && ::fchmod(fd, mode) == 0;
  const int error = errno;
  ::close(fd);
  if (!complete || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(complete ? errno : error);
    ::unlink(temporary.c_str());
    return base::Status::IoError("cannot write " + path.string() + ": " + reason);
  }
  return base::Status::Ok();
}

unsigned FileMode(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return ~0u;
  return info.st_mode & 07777u;
}

}  // namespace support
