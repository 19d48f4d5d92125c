// SystemClock: wall time from std::chrono::system_clock.
#include "slashing/clock.h"

#include <chrono>

namespace slashing {

uint64_t SystemClock::NowUnixMs() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count());
}

}  // namespace slashing
