// ScopedEnvironmentVariable: sets one variable of this process and puts back what was there.
#pragma once

#include <optional>
#include <string>

namespace support {

// ScopedEnvironmentVariable sets `name` to `value` until it is destroyed, then restores the
// previous value (or unsets the variable). Libraries that read the environment once (SoftHSM2
// reads SOFTHSM2_CONF in C_Initialize) see whatever is set at that moment. Not thread-safe, like
// setenv itself: use it on the test's thread while no other thread reads the environment.
class ScopedEnvironmentVariable {
 public:
  ScopedEnvironmentVariable(std::string name, const std::string& value);
  ~ScopedEnvironmentVariable();
  ScopedEnvironmentVariable(const ScopedEnvironmentVariable&) = delete;
  ScopedEnvironmentVariable& operator=(const ScopedEnvironmentVariable&) = delete;

 private:
  std::string name_;
  std::optional<std::string> previous_;
};

}  // namespace support
