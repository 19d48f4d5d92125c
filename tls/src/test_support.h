// Helpers shared by the tls/ tests: a self-deleting temporary directory and small file utilities.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace tls::testing {

// TemporaryDirectory is a fresh directory under the system temp dir, removed with its contents.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tls_test_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
    }
    path_ = pattern;
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream stream(path, std::ios::binary);
  std::ostringstream content;
  content << stream.rdbuf();
  return content.str();
}

inline void WriteAll(const std::filesystem::path& path, const std::string& content,
                     mode_t mode = 0644) {
  const std::filesystem::path temporary = path.string() + ".new";
  {
    std::ofstream stream(temporary, std::ios::binary | std::ios::trunc);
    stream << content;
  }
  ::chmod(temporary.c_str(), mode);
  std::filesystem::rename(temporary, path);
}

inline unsigned ModeOf(const std::filesystem::path& path) {
  struct stat info = {};
  if (::stat(path.c_str(), &info) != 0) {
    return ~0u;
  }
  return info.st_mode & 07777;
}

inline std::span<const uint8_t> Bytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace tls::testing
