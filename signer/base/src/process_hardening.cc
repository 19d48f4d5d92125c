// ForbidCoreDumps: prctl(PR_SET_DUMPABLE, 0) and RLIMIT_CORE 0.
#include "base/process_hardening.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace base {

Status ForbidCoreDumps() {
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return Status::Internal(std::string("prctl(PR_SET_DUMPABLE): ") + std::strerror(errno));
  }
  const rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0) {
    return Status::Internal(std::string("setrlimit(RLIMIT_CORE): ") + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace base
