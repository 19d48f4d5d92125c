// Reading the small secret files an operator hands over (PIN, passphrase, SURI) under one set of
// rules on who may read them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace keymgr {

// ReadPrivateFile reads all of `path` into guarded memory if it is a regular file (a symlink is
// refused, not followed) owned by this process's effective user, with no group or other permission
// bits (mode 0600, 0400 or stricter), and at most `max_size` bytes long. The checks are made on the
// open descriptor, so the file cannot be swapped between check and read. An empty file gives empty
// SecretBytes. Fails with kNotFound if the file does not exist, otherwise with kInvalidArgument;
// every message starts with `what` (for example "PIN file") and names the rule broken, never the
// content. Thread-safe.
base::Result<base::SecretBytes> ReadPrivateFile(const std::string& path, std::string_view what,
                                                size_t max_size);

}  // namespace keymgr
