// NotifyServiceManager and WatchdogPingInterval over libsystemd's sd_notify API.
#include "signerd/service_manager.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <string>

namespace signer {

void NotifyServiceManager(std::string_view state) {
  // sd_notify returns 0 without NOTIFY_SOCKET and a negative errno when sending fails; neither
  // changes what signerd does (see the header).
  const std::string message(state);
  (void)sd_notify(/*unset_environment=*/0, message.c_str());
}

std::optional<std::chrono::microseconds> WatchdogPingInterval() {
  uint64_t timeout_usec = 0;
  if (sd_watchdog_enabled(/*unset_environment=*/0, &timeout_usec) <= 0 || timeout_usec == 0) {
    return std::nullopt;
  }
  return std::chrono::microseconds(timeout_usec / 2);
}

}  // namespace signer
