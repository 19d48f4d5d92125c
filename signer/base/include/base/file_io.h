// File helpers: bounded reads (secrets into guarded memory), atomic permission-exact writes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace base {

// Credential files are small; a larger file is a mistake (or an attack on memory), not a PEM.
inline constexpr size_t kMaxCredentialFileSize = 1 << 20;

// ReadPublicFile reads a whole non-secret file (certificates). kNotFound if it does not exist,
// kInvalidArgument if it is too large or not a regular file, kUnavailable on other I/O errors.
Result<std::string> ReadPublicFile(const std::filesystem::path& path);

// ReadSecretFile reads a private key file straight into guarded memory, followed by one NUL byte
// so the PEM can be handed to C APIs as a string. Refuses a file that group or others may read or
// write: a key that was ever world-readable must be treated as disclosed.
Result<SecretBytes> ReadSecretFile(const std::filesystem::path& path);

// WriteFileAtomically writes `content` to `path` with exactly `mode`: a temporary file in the same
// directory is written, fsync'ed and renamed over `path`, then the directory is fsync'ed, so a
// crash leaves either the old file or the complete new one.
Status WriteFileAtomically(const std::filesystem::path& path, std::span<const uint8_t> content,
                           mode_t mode);

}  // namespace base
