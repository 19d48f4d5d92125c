// Process hardening every program that holds a private key applies first: no core dumps, no ptrace.
#pragma once

#include "base/status.h"

namespace base {

// ForbidCoreDumps makes the process non-dumpable (no core file, and no ptrace attach or
// /proc/PID/mem read by other processes of the same user) and sets RLIMIT_CORE to 0, so a crash
// never writes a PIN, a key or a TLS private key to disk. Call it before reading any secret.
// Fails with kInternal naming the call and errno; a program should then refuse to start, since it
// would be weaker than documented. Affects the whole process; call from one thread.
[[nodiscard]] Status ForbidCoreDumps();

}  // namespace base
