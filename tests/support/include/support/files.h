// Small file helpers for tests: read a whole file, write one with an exact mode, read a mode.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "base/status.h"

namespace support {

// ReadFile returns the whole file, or an empty string if it cannot be read (tests compare it or
// print it, and a missing file then shows as a mismatch).
std::string ReadFile(const std::filesystem::path& path);

// WriteFile replaces `path` with `content` and exactly `mode`, atomically (a temporary file beside
// it is renamed over it), so a reader never sees half a file. Fails with kIoError.
base::Status WriteFile(const std::filesystem::path& path, std::string_view content, mode_t mode);

// FileMode returns the permission bits of `path`, or ~0u (no mode at all) if it cannot be read.
unsigned FileMode(const std::filesystem::path& path);

}  // namespace support
