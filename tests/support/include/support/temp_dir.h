// TempDir: a fresh private directory for one test, removed with everything in it afterwards.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace support {

// TempDir makes <system temp dir>/<prefix>.XXXXXX (mode 0700) and removes it on destruction.
// Move-only.
class TempDir {
 public:
  // A test cannot run without its directory, and mkdtemp under the temp dir only fails on a broken
  // machine, so failure aborts with the reason rather than let the test write elsewhere.
  explicit TempDir(std::string_view prefix = "signer-test");
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::filesystem::path& path() const { return path_; }
  // operator/ names `name` inside the directory, as std::filesystem::path does.
  std::filesystem::path operator/(const std::filesystem::path& name) const { return path_ / name; }
  // Path names `name` inside the directory, as a string for APIs and argv.
  std::string Path(std::string_view name) const { return (path_ / name).string(); }
  // Write puts a file `name` with `content` and `mode` in the directory and returns its path. Like
  // the constructor it aborts on failure: the test's own input file could not be made.
  std::string Write(std::string_view name, std::string_view content, mode_t mode = 0644) const;
  // Keep leaves the directory in place, for a failed test's files to be looked at.
  void Keep() { keep_ = true; }

 private:
  void Remove();

  std::filesystem::path path_;
  bool keep_ = false;
};

}  // namespace support
