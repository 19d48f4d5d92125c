// rpc-pool-controller: receives the LB daemons' heartbeats over mutual TLS, applies the pool's
// rules every tick, keeps the history and drives HAProxy through its runtime API.
#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/process_hardening.h"
#include "metrics/http_server.h"
#include "metrics/registry.h"
#include "rpc_pool/controller.h"
#include "rpc_pool/controller_set.h"
#include "rpc_pool/dashboard_api.h"
#include "rpc_pool/dashboard_server.h"
#include "rpc_pool/heartbeat_service.h"
#include "rpc_pool/payout_scheduler.h"
#include "rpc_pool/pool_metrics.h"
#include "slashing/rocksdb_store.h"
#include "tls/grpc_credentials.h"

namespace {

constexpr int kExitFailure = 1;

struct Flags {
  std::string listen = "127.0.0.1:7443";
  std::string tls_cert;
  std::string tls_key;
  std::string client_ca;
  std::string haproxy_socket;
  std::string history_dir;
  std::string metrics_listen;
  std::string dashboard_listen;
  rpc_pool::DashboardSettings dashboard;
  uint64_t tick_ms = 1000;
  uint64_t points_period_s = 3600;
  uint64_t retention_days = 30;
  std::vector<std::string> aliases;
  // Payouts: the program, its settings file, how often, whom to pay (docs/rpc-pool.md, "Payout").
  std::string payout_executable;
  std::string payout_config;
  std::string payout_accounts;
  std::string payout_dir;
  uint64_t payout_period_days = 7;
  rpc_pool::PoolRules rules;
  rpc_pool::ControllerOptions controller;
};

void Log(const std::string& line) {
  std::fprintf(stderr, "rpc-pool-controller: %s\n", line.c_str());
}

int Run(const Flags& flags) {
  if (base::Status valid = rpc_pool::ValidateRules(flags.rules); !valid.ok()) {
    Log(valid.message());
    return kExitFailure;
  }
  rpc_pool::DashboardSettings dashboard_settings = flags.dashboard;
  dashboard_settings.capacity = flags.rules.capacity;
  dashboard_settings.points_period_ms = flags.points_period_s * 1000;
  if (base::Status valid = rpc_pool::ValidateDashboardSettings(dashboard_settings); !valid.ok()) {
    Log("operator settings: " + valid.message());
    return kExitFailure;
  }
  auto store = slashing::RocksDbStore::Open(flags.history_dir, {});
  if (!store.ok()) {
    Log("history: " + store.status().message());
    return kExitFailure;
  }
  auto history =
      rpc_pool::PoolHistory::Open(**store, flags.retention_days * 24 * 3600 * uint64_t{1000});
  if (!history.ok()) {
    Log("history: " + history.status().message());
    return kExitFailure;
  }
  slashing::SystemClock clock;
  const rpc_pool::HaproxyRuntime haproxy(flags.haproxy_socket);
  rpc_pool::PoolController controller(flags.rules, flags.controller, clock, **history, haproxy);
  // A removal is permanent: the history remembers it across restarts.
  if (auto restored = controller.RestoreFromHistory(); !restored.ok()) {
    Log("history: " + restored.status().message());
    return kExitFailure;
  } else if (*restored > 0) {
    Log("history: " + std::to_string(*restored) + " removed node(s) stay removed");
  }
  rpc_pool::HeartbeatService service(controller, flags.aliases);
  signer::MetricsRegistry registry;
  auto metrics = rpc_pool::PoolMetrics::Create(registry, controller);
  if (!metrics.ok()) {
    Log("metrics: " + metrics.status().message());
    return kExitFailure;
  }
  // The public dashboard reads the controller and the history; it changes nothing.
  const rpc_pool::DashboardApi dashboard_api(
      dashboard_settings, [&controller] { return controller.Overview(); },
      [&history](const rpc_pool::HistoryQuery& query) { return (*history)->Read(query); });
  std::unique_ptr<rpc_pool::DashboardServer> dashboard_server;
  std::unique_ptr<signer::MetricsHttpServer> metrics_server;
  if (!flags.metrics_listen.empty()) {
    auto started = signer::MetricsHttpServer::Start(
        {.listen = flags.metrics_listen, .tls_cert_file = "", .tls_key_file = ""},
        [&registry] { return registry.Render(); });
    if (!started.ok()) {
      Log("metrics: " + started.status().message());
      return kExitFailure;
    }
    metrics_server = std::move(started).value();
    std::printf("rpc-pool-controller metrics on %s\n", metrics_server->address().c_str());
  }
  if (!flags.dashboard_listen.empty()) {
    auto started = rpc_pool::DashboardServer::Start(flags.dashboard_listen, dashboard_api);
    if (!started.ok()) {
      Log("dashboard: " + started.status().message());
      return kExitFailure;
    }
    dashboard_server = std::move(started).value();
    std::printf("rpc-pool-controller dashboard on %s\n", dashboard_server->address().c_str());
  }

  auto credentials = tls::ReloadableServerCredentials::Create({.certificate_chain = flags.tls_cert,
                                                               .private_key = flags.tls_key,
                                                               .client_ca = flags.client_ca});
  if (!credentials.ok()) {
    Log("tls: " + credentials.status().message());
    return kExitFailure;
  }
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(flags.listen, (*credentials)->GrpcCredentials(), &port);
  builder.SetMaxReceiveMessageSize(rpc_pool::kMaxHeartbeatBytes);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    Log("cannot listen on " + flags.listen);
    return kExitFailure;
  }
  const std::string host = flags.listen.substr(0, flags.listen.rfind(':'));
  std::printf("rpc-pool-controller listening on %s:%d\n", host.c_str(), port);
  std::fflush(stdout);

  // The tick runs on this thread; SIGINT and SIGTERM (blocked in main) end the wait early.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  const timespec tick{static_cast<time_t>(flags.tick_ms / 1000),
                      static_cast<long>((flags.tick_ms % 1000) * 1'000'000)};
  std::optional<rpc_pool::PayoutScheduler> payouts;
  if (!flags.payout_executable.empty()) {
    rpc_pool::PayoutOptions payout;
    payout.executable = flags.payout_executable;
    if (!flags.payout_config.empty()) payout.leading_args = {"--config", flags.payout_config};
    payout.period_ms = flags.payout_period_days * 24 * 3600 * uint64_t{1000};
    payout.fee_per_mille = static_cast<uint32_t>(std::lround(flags.dashboard.fee_percent * 10));
    auto accounts = rpc_pool::ReadPayoutAccounts(flags.payout_accounts);
    if (!accounts.ok()) {
      Log("payout accounts: " + accounts.status().message());
      return kExitFailure;
    }
    payout.accounts = std::move(accounts).value();
    payout.work_dir = flags.payout_dir;
    payouts.emplace(std::move(payout), **history);
  }
  uint64_t next_period_ms = clock.NowUnixMs() + flags.points_period_s * 1000;
  std::string last_error;
  while (true) {
    const int signal_number = ::sigtimedwait(&stop, nullptr, &tick);
    if (signal_number == SIGINT || signal_number == SIGTERM) break;
    const base::Result<rpc_pool::TickReport> report = controller.Tick();
    (*metrics)->RecordTick(report);
    // One line per change of trouble, not one per tick.
    const std::string error = report.ok() ? "" : report.status().message();
    if (error != last_error) Log(error.empty() ? "tick: ok again" : "tick: " + error);
    last_error = error;
    if (clock.NowUnixMs() >= next_period_ms) {
      next_period_ms += flags.points_period_s * 1000;
      if (auto period = controller.ClosePointsPeriod(); !period.ok()) {
        Log("points: " + period.status().message());
      }
      if (auto pruned = (*history)->Prune(clock.NowUnixMs()); !pruned.ok()) {
        Log("prune: " + pruned.status().message());
      }
    }
    if (payouts) {
      const base::Result<std::optional<std::string>> payout = payouts->Poll(clock.NowUnixMs());
      if (!payout.ok()) {
        Log("payout: " + payout.status().message());
      } else if (*payout) {
        Log(**payout);
      }
    }
  }
  server->Shutdown();
  return 0;
}

int Main(int argc, char** argv) {
  Flags flags;
  flags.dashboard.name = "RPC pool";
  CLI::App app("rpc-pool-controller: the pool controller of seed 001 (docs/rpc-pool.md)");
  app.add_option("--listen", flags.listen, "heartbeat listener, HOST:PORT (port 0: any)");
  app.add_option("--tls-cert", flags.tls_cert, "server certificate chain (PEM)")->required();
  app.add_option("--tls-key", flags.tls_key, "server private key (PEM, mode 0600)")->required();
  app.add_option("--client-ca", flags.client_ca, "CA of the daemons' certificates")->required();
  app.add_option("--haproxy-socket", flags.haproxy_socket, "HAProxy's admin stats socket")
      ->required();
  app.add_option("--backend", flags.controller.backend, "the HAProxy backend of the pool");
  app.add_option("--history-dir", flags.history_dir, "the history database")->required();
  app.add_option("--metrics-listen", flags.metrics_listen,
                 "Prometheus /metrics listener, PORT or HOST:PORT (none: no listener)");
  app.add_option("--dashboard-listen", flags.dashboard_listen,
                 "public dashboard and JSON API, PORT or HOST:PORT (none: no listener)");
  app.add_option("--name", flags.dashboard.name, "the load balancer's public name");
  app.add_option("--fee-percent", flags.dashboard.fee_percent, "the operator's fee, 0 to 100");
  app.add_option("--contact", flags.dashboard.contact, "how the public reaches the operator");
  app.add_option("--selection", flags.dashboard.selection,
                 "HAProxy's balance algorithm for the pool, as in haproxy.cfg (shown, not set)");
  app.add_option("--heartbeat-record-interval-ms", flags.controller.heartbeat_record_interval_ms,
                 "record an accepted heartbeat at most this often per node")
      ->check(CLI::Range(uint64_t{10}, uint64_t{3'600'000}));
  app.add_option("--settings-hash", flags.rules.settings_hash, "the pool's settings hash")
      ->required();
  app.add_option("--capacity", flags.rules.capacity, "most member nodes");
  std::vector<std::string> whitelist;
  app.add_option("--whitelist", whitelist, "node IDs allowed to join (none: any)");
  app.add_option("--offline-after-ms", flags.rules.offline_after_ms);
  app.add_option("--max-lag-blocks", flags.rules.max_lag_blocks);
  app.add_option("--first-cooldown-ms", flags.rules.first_cooldown_ms);
  app.add_option("--removal-cooldown-ms", flags.rules.removal_cooldown_ms);
  app.add_option("--server-weight", flags.controller.server_weight);
  app.add_flag("--allow-loopback-endpoints", flags.rules.allow_loopback_endpoints,
               "admit nodes whose endpoint is on this host (127.0.0.0/8, ::1, localhost): only "
               "for tests and trials with every node on one host");
  app.add_option("--tick-ms", flags.tick_ms, "how often the rules run")
      ->check(CLI::Range(10, 60'000));
  app.add_option("--points-period-s", flags.points_period_s)->check(CLI::Range(1, 86'400 * 31));
  app.add_option("--retention-days", flags.retention_days, "history age")
      ->check(CLI::Range(1, 3650));
  app.add_option("--alias", flags.aliases,
                 "the heartbeat address (HOST:PORT) of every clone of this LB, this one included; "
                 "every clone lists the same (seed 001's aliases)");
  app.add_option("--payout-executable", flags.payout_executable,
                 "the payout program (rpc-pool-payout), run once per payout period (none: no "
                 "payouts)");
  app.add_option("--payout-config", flags.payout_config,
                 "its settings file, passed to it as --config FILE");
  app.add_option("--payout-accounts", flags.payout_accounts,
                 "JSON object of node ID to payout account (SS58 or 0x hex)");
  app.add_option("--payout-dir", flags.payout_dir, "where points files and payout logs go");
  app.add_option("--payout-period-days", flags.payout_period_days, "the payout period")
      ->check(CLI::Range(1, 366));
  // Every flag may also come from a file (TOML: `name = "…"`, `alias = ["a:7600", "b:7600"]`),
  // so a deployment keeps the operator's settings in one place; a key that is not a flag is an
  // error, never ignored.
  app.set_config("--config", "", "a file of settings, one `flag = value` per line (TOML)");
  app.allow_config_extras(CLI::config_extras_mode::error);
  CLI11_PARSE(app, argc, argv);
  flags.rules.whitelist.insert(whitelist.begin(), whitelist.end());
  if (!flags.payout_executable.empty() &&
      (flags.payout_accounts.empty() || flags.payout_dir.empty())) {
    Log("--payout-executable needs --payout-accounts and --payout-dir");
    return kExitFailure;
  }
  for (const std::string& alias : flags.aliases) {
    if (!rpc_pool::IsValidControllerAddress(alias)) {
      Log("--alias " + alias + " is not HOST:PORT");
      return kExitFailure;
    }
  }
  // The controller holds its TLS private key: a core file must never carry it to disk.
  if (const base::Status hardened = base::ForbidCoreDumps(); !hardened.ok()) {
    Log("cannot disable core dumps: " + hardened.message());
    return kExitFailure;
  }

  // Blocked before any thread starts, so only the tick loop's sigtimedwait receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  return Run(flags);
}

}  // namespace

int main(int argc, char** argv) {
  // Nothing may escape as an uncaught exception (a library throwing on a bad argument, say): it
  // would abort with an unbounded message instead of a clear error and an exit code.
  try {
    return Main(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: unexpected error: %s\n", "rpc-pool-controller", error.what());
  } catch (...) {
    std::fprintf(stderr, "%s: unexpected error\n", "rpc-pool-controller");
  }
  return 1;
}
