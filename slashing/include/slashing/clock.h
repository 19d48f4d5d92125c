// Clock: the wall-clock seam used to timestamp records, with a real and a settable implementation.
#pragma once

#include <atomic>
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

// FakeClock returns whatever the test set. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(uint64_t now_ms = 0) : now_ms_(now_ms) {}
  uint64_t NowUnixMs() override { return now_ms_.load(); }
  void Set(uint64_t now_ms) { now_ms_.store(now_ms); }
  void Advance(uint64_t delta_ms) { now_ms_.fetch_add(delta_ms); }

 private:
  std::atomic<uint64_t> now_ms_;
};

}  // namespace slashing
