// Daemon start-up shared by signerd and keyagentd: logging, core dumps, arguments, signal mask.
#include "signer/daemon_main.h"

#include <pthread.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "base/process_hardening.h"

namespace signer {

sigset_t DaemonSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int number : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, number);
  return set;
}

int RunDaemonMain(std::string_view name, int argc, char** argv,
                  const std::function<int(const std::string& config_path)>& run) {
  spdlog::set_default_logger(spdlog::stderr_logger_mt(std::string(name)));
  // key=value lines: messages from other modules may hold quotes, which would break JSON framing.
  spdlog::set_pattern("time=%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
  if (const base::Status hardened = base::ForbidCoreDumps(); !hardened.ok()) {
    spdlog::error("cannot disable core dumps: {}", hardened.message());
    return kDaemonExitFailure;
  }
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view argument = argv[i];
    if (argument == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (argument.starts_with("--config=")) {
      config_path = std::string(argument.substr(9));
    } else {
      config_path.clear();
      break;
    }
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "usage: %.*s --config FILE\n", static_cast<int>(name.size()), name.data());
    return kDaemonExitUsage;
  }
  const sigset_t signals = DaemonSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return run(config_path);
}

}  // namespace signer
