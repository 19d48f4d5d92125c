// Clock: the wall-clock seam used to timestamp records, and its real implementation.
#pragma once

#include <cstdint>

namespace slashing {

// Clock reports wall time in unix milliseconds. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t NowUnixMs() = 0;
};

// SystemClock reads std::chrono::system_clock.
class SystemClock : public Clock {
 public:
  uint64_t NowUnixMs() override;
};

}  // namespace slashing
