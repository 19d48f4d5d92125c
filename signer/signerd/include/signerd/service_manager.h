// Readiness, status and watchdog messages to systemd (sd_notify); no-ops outside a notify service.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace signer {

// NotifyServiceManager sends `state` (newline-separated assignments such as "READY=1" or
// "STATUS=...") to the socket named by NOTIFY_SOCKET. Does nothing when the variable is unset
// (signerd started by hand, by a test, or by a unit that is not Type=notify). A message that cannot
// be sent is not an error for signerd: systemd then sees a missed readiness or watchdog ping and
// acts on it (start timeout, watchdog restart). Thread-safe.
void NotifyServiceManager(std::string_view state);

// WatchdogPingInterval is half of the watchdog timeout systemd set for this process
// (WatchdogSec=, passed as WATCHDOG_USEC and WATCHDOG_PID), so a ping is never late by one
// scheduling delay; nullopt when no watchdog is asked for. Thread-safe.
std::optional<std::chrono::microseconds> WatchdogPingInterval();

}  // namespace signer
