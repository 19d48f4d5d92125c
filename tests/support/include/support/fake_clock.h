// FakeClock: the slashing Clock test double, reporting whatever time the test sets.
#pragma once

#include <atomic>
#include <cstdint>

#include "slashing/clock.h"

namespace slashing {

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

namespace support {

// kTestClockStartMs is the wall time tests start a FakeClock at: 2023-11-14T22:13:20Z, a recent
// time that makes round numbers in unix milliseconds.
inline constexpr uint64_t kTestClockStartMs = 1'700'000'000'000;

}  // namespace support
