// signerd: reads arguments and signals and drives a SignerDaemon through its steps.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "signer/config.h"
#include "signer/daemon_main.h"
#include "signerd/service_manager.h"
#include "signerd/signer_daemon.h"

namespace {

constexpr int kExitFailure = signer::kDaemonExitFailure;
constexpr int kExitUsage = signer::kDaemonExitUsage;

sigset_t SignalSet(std::initializer_list<int> numbers) {
  sigset_t set;
  sigemptyset(&set);
  for (int number : numbers) sigaddset(&set, number);
  return set;
}

enum class HistoryWait { kCaughtUp, kStopRequested, kFailed };

// WaitForHistory waits until the history has caught up with the claims topic (standalone: at
// once). It retries in short slices for as long as that takes, so neither a broker outage nor a
// long catch-up stops signerd, while SIGINT or SIGTERM still stop it promptly. It logs the bound
// port and the reason while not serving (and tells systemd, as STATUS), pings systemd's watchdog
// between slices, and gives up only on an error retrying cannot fix.
HistoryWait WaitForHistory(signer::SignerDaemon& daemon,
                           std::optional<std::chrono::microseconds> watchdog_ping) {
  auto slice = std::chrono::milliseconds(1'000);
  if (watchdog_ping) {
    slice = std::min(slice, std::chrono::duration_cast<std::chrono::milliseconds>(*watchdog_ping));
  }
  constexpr auto kReportEvery = std::chrono::seconds(10);
  const sigset_t stop_signals = SignalSet({SIGINT, SIGTERM});
  const auto started = std::chrono::steady_clock::now();
  auto next_report = started;
  bool reported_late = false;
  for (;;) {
    base::Status caught_up = daemon.WaitForHistory(slice);
    if (caught_up.ok()) return HistoryWait::kCaughtUp;
    // A catch-up that is still going is progress, not a hang: the watchdog must not restart it.
    if (watchdog_ping) signer::NotifyServiceManager("WATCHDOG=1");
    if (caught_up.code() != base::StatusCode::kUnavailable) {
      spdlog::error("history: {}", caught_up.message());
      return HistoryWait::kFailed;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_report) {
      spdlog::warn("event=not_serving port={} reason=\"{}\"", daemon.port(), caught_up.message());
      signer::NotifyServiceManager("STATUS=not serving yet: " + caught_up.message());
      next_report = now + kReportEvery;
    }
    if (!reported_late && now - started >= daemon.catch_up_warning_after()) {
      spdlog::error(
          "history: not caught up with the claims topic after {} ms; still NOT_SERVING, retrying",
          daemon.catch_up_warning_after().count());
      reported_late = true;
    }
    const timespec no_wait{0, 0};
    const int signal_number = ::sigtimedwait(&stop_signals, nullptr, &no_wait);
    if (signal_number == SIGINT || signal_number == SIGTERM) {
      spdlog::info("signal {}: shutting down before serving", signal_number);
      return HistoryWait::kStopRequested;
    }
  }
}

int Run(const std::string& config_path) {
  auto config = signer::LoadSignerConfig(config_path);
  if (!config.ok()) {
    spdlog::error("config: {}", config.status().message());
    return kExitUsage;
  }
  if (!config->server) {
    spdlog::error("config: the server section is required for signerd");
    return kExitUsage;
  }
  auto daemon = signer::SignerDaemon::Build(std::move(*config));
  if (!daemon.ok()) {
    spdlog::error("{}", daemon.status().message());
    return kExitFailure;
  }
  if (base::Status listening = (*daemon)->Listen(); !listening.ok()) {
    spdlog::error("{}", listening.message());
    return kExitFailure;
  }
  // systemd's watchdog (WatchdogSec=) is pinged from this thread, the one that handles signals
  // and reloads, so a stuck main loop stops the pings and systemd restarts signerd.
  const std::optional<std::chrono::microseconds> watchdog_ping = signer::WatchdogPingInterval();
  const HistoryWait history_wait = WaitForHistory(**daemon, watchdog_ping);
  if (history_wait != HistoryWait::kCaughtUp) {
    (*daemon)->Shutdown(std::chrono::seconds(0));
    return history_wait == HistoryWait::kFailed ? kExitFailure : 0;
  }
  (*daemon)->StartServing();
  std::printf("signerd listening on %s:%d\n", (*daemon)->listen_host().c_str(), (*daemon)->port());
  if (const std::string metrics = (*daemon)->metrics_address(); !metrics.empty()) {
    std::printf("signerd metrics on %s\n", metrics.c_str());
  }
  std::fflush(stdout);

  // Signals were blocked before any thread started (RunDaemonMain), so only this loop sees them.
  const sigset_t signals = signer::DaemonSignals();
  for (;;) {
    int signal_number = 0;
    if (watchdog_ping) {
      const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*watchdog_ping);
      const auto nanoseconds =
          std::chrono::duration_cast<std::chrono::nanoseconds>(*watchdog_ping - seconds);
      const timespec until_ping{static_cast<time_t>(seconds.count()),
                                static_cast<long>(nanoseconds.count())};
      signal_number = ::sigtimedwait(&signals, nullptr, &until_ping);
      if (signal_number < 0) {
        if (errno == EAGAIN) signer::NotifyServiceManager("WATCHDOG=1");
        continue;
      }
    } else if (sigwait(&signals, &signal_number) != 0) {
      continue;
    }
    if (signal_number == SIGHUP) {
      (*daemon)->Reload();
      continue;
    }
    spdlog::info("signal {}: shutting down", signal_number);
    break;
  }
  (*daemon)->Shutdown(std::chrono::seconds(5));
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return signer::RunDaemonMain("signerd", argc, argv, Run); }
