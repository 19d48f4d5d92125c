// The start every daemon shares: key=value logs, no core dumps, `--config FILE`, signals blocked.
#pragma once

#include <csignal>
#include <functional>
#include <string>
#include <string_view>

namespace signer {

// Exit codes of the daemons: 1 for a failure at run time, 2 for a bad command line or config.
inline constexpr int kDaemonExitFailure = 1;
inline constexpr int kDaemonExitUsage = 2;

// DaemonSignals is the set a daemon's main loop waits for: SIGINT and SIGTERM stop it, SIGHUP
// reloads what it can reload.
sigset_t DaemonSignals();

// RunDaemonMain is a daemon's whole `main`. Before `run` is called, in the one thread there is:
// logs go to stderr as `time=… level=… message` lines under `name`; core dumps and same-user
// ptrace are forbidden (the process holds PINs, unwrapped keys or shares; if that cannot be set
// the daemon does not start, since it would be weaker than documented); `--config FILE` (or
// `--config=FILE`) is read, anything else is a usage error; and DaemonSignals are blocked, so
// every thread started later inherits the mask and only the main loop's sigwait sees them.
// Returns `run(config_path)`, or the exit code of whatever failed before it.
int RunDaemonMain(std::string_view name, int argc, char** argv,
                  const std::function<int(const std::string& config_path)>& run);

}  // namespace signer
