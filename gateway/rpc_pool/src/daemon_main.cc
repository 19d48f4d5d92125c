// rpc-pool-daemon: the LB daemon beside a node. Polls the node's JSON-RPC and sends the pool
// controller a heartbeat (over mutual TLS, as the node ID of its certificate) every interval, to
// every clone of the LB its controllers list as aliases.
//
// Usage: rpc-pool-daemon [options] -- <the node's startup flags>
// The flags after "--" are hashed into the settings hash (docs/rpc-pool.md), or --settings-hash
// gives it directly.
#include <grpcpp/grpcpp.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/process_hardening.h"
#include "rpc_pool.grpc.pb.h"
#include "rpc_pool/controller_set.h"
#include "rpc_pool/node_client.h"
#include "rpc_pool/settings_hash.h"
#include "tls/grpc_credentials.h"

namespace {

constexpr int kExitFailure = 1;

void Log(const std::string& line) { std::fprintf(stderr, "rpc-pool-daemon: %s\n", line.c_str()); }

std::string VerdictName(rpc_pool::v1::HeartbeatResponse::Verdict verdict) {
  return rpc_pool::v1::HeartbeatResponse::Verdict_Name(verdict);
}

// Answer is one controller's reply to one heartbeat.
struct Answer {
  grpc::Status status;
  rpc_pool::v1::HeartbeatResponse response;
};

// SendToAll sends `request` to every controller in `stubs` at once (a dead clone must not hold up
// the others) and returns their answers in the same order.
std::vector<Answer> SendToAll(const std::vector<rpc_pool::v1::PoolController::Stub*>& stubs,
                              const rpc_pool::v1::HeartbeatRequest& request) {
  std::vector<Answer> answers(stubs.size());
  std::vector<std::thread> senders;
  senders.reserve(stubs.size());
  for (size_t i = 0; i < stubs.size(); ++i) {
    senders.emplace_back([&, i] {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(5000));
      answers[i].status = stubs[i]->Heartbeat(&context, request, &answers[i].response);
    });
  }
  for (std::thread& sender : senders) sender.join();
  return answers;
}

int Main(int argc, char** argv) {
  std::string node_rpc = "127.0.0.1:9944";
  std::vector<std::string> controllers;
  size_t max_controllers = 16;
  std::string server_ca;
  std::string certificate;
  std::string private_key;
  std::string rpc_endpoint;
  std::string settings_hash;
  uint64_t interval_ms = 5000;
  std::vector<std::string> node_flags;
  CLI::App app("rpc-pool-daemon: the LB daemon of seed 001 (docs/rpc-pool.md)");
  app.add_option("--node-rpc", node_rpc, "the node's HTTP JSON-RPC, HOST:PORT");
  app.add_option("--controller", controllers,
                 "the pool controller, HOST:PORT (repeat for several; the aliases each lists are "
                 "added)")
      ->required()
      // One address per --controller, so the node's flags after "--" are never taken for more.
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--max-controllers", max_controllers,
                 "at most this many controllers (configured and aliases) get heartbeats")
      ->check(CLI::Range(1, 64));
  app.add_option("--server-ca", server_ca, "CA of the controller's certificate")->required();
  app.add_option("--cert", certificate, "this node's client certificate (its ID)")->required();
  app.add_option("--key", private_key, "its private key (mode 0600)")->required();
  app.add_option("--rpc-endpoint", rpc_endpoint,
                 "HOST:PORT where the pool reaches the node (default: --node-rpc); the pool "
                 "refuses one on its own host, such as 127.0.0.1");
  app.add_option("--settings-hash", settings_hash, "the settings hash, instead of the flags");
  app.add_option("--interval-ms", interval_ms, "between heartbeats")->check(CLI::Range(50, 60'000));
  app.add_option("node_flags", node_flags, "the node's startup flags, after --");
  CLI11_PARSE(app, argc, argv);
  // The daemon holds the node's TLS private key: a core file must never carry it to disk.
  if (const base::Status hardened = base::ForbidCoreDumps(); !hardened.ok()) {
    Log("cannot disable core dumps: " + hardened.message());
    return kExitFailure;
  }

  if (settings_hash.empty()) {
    auto hash = rpc_pool::SettingsHash(node_flags);
    if (!hash.ok()) {
      Log("node flags: " + hash.status().message());
      return kExitFailure;
    }
    settings_hash = *hash;
  }
  if (rpc_endpoint.empty()) rpc_endpoint = node_rpc;
  const size_t colon = node_rpc.rfind(':');
  uint16_t port = 0;
  const char* port_end = node_rpc.data() + node_rpc.size();
  if (colon == std::string::npos || colon == 0 ||
      std::from_chars(node_rpc.data() + colon + 1, port_end, port).ptr != port_end || port == 0) {
    Log("--node-rpc must be HOST:PORT");
    return kExitFailure;
  }
  rpc_pool::NodeClientOptions node_options;
  node_options.host = node_rpc.substr(0, colon);
  node_options.port = port;
  const rpc_pool::NodeRpcClient node(node_options);

  auto credentials = tls::ClientChannelCredentials(
      {.server_ca = server_ca, .certificate = certificate, .private_key = private_key});
  if (!credentials.ok()) {
    Log("tls: " + credentials.status().message());
    return kExitFailure;
  }
  for (const std::string& controller : controllers) {
    if (!rpc_pool::IsValidControllerAddress(controller)) {
      Log("--controller " + controller + " is not HOST:PORT");
      return kExitFailure;
    }
  }
  rpc_pool::ControllerSet controller_set(controllers, max_controllers);
  std::map<std::string, std::unique_ptr<rpc_pool::v1::PoolController::Stub>> stubs;

  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  const timespec interval{static_cast<time_t>(interval_ms / 1000),
                          static_cast<long>((interval_ms % 1000) * 1'000'000)};
  while (true) {
    const base::Result<rpc_pool::NodeStatus> status = node.Poll();
    if (!status.ok()) {
      // No heartbeat: a node the daemon cannot read is one the pool should see as offline.
      std::printf("node unavailable: %s\n", status.status().message().c_str());
    } else {
      rpc_pool::v1::HeartbeatRequest request;
      request.set_settings_hash(settings_hash);
      request.set_best_block(status->best_block);
      request.set_finalized_block(status->finalized_block);
      request.set_rpc_endpoint(rpc_endpoint);
      request.set_peers(status->health.peers);
      request.set_node_version(status->version);
      // The stubs follow the set: a new alias gets a channel, a controller no longer listed loses
      // its own and what it reported.
      const std::vector<std::string> addresses = controller_set.Addresses();
      for (auto it = stubs.begin(); it != stubs.end();) {
        if (std::find(addresses.begin(), addresses.end(), it->first) == addresses.end()) {
          controller_set.Forget(it->first);
          it = stubs.erase(it);
        } else {
          ++it;
        }
      }
      std::vector<rpc_pool::v1::PoolController::Stub*> targets;
      for (const std::string& address : addresses) {
        auto& stub = stubs[address];
        if (!stub) {
          stub = rpc_pool::v1::PoolController::NewStub(grpc::CreateChannel(address, *credentials));
        }
        targets.push_back(stub.get());
      }
      const std::vector<Answer> answers = SendToAll(targets, request);
      for (size_t i = 0; i < answers.size(); ++i) {
        // One line per heartbeat and controller on stdout: operators (and tests) follow the
        // pool's answers.
        if (answers[i].status.ok()) {
          // A refusal as malformed says why (the endpoint on the LB's own host, say).
          const std::string reason =
              answers[i].response.reason().empty() ? "" : " reason=" + answers[i].response.reason();
          std::printf("heartbeat controller=%s best=%llu verdict=%s state=%s%s\n",
                      addresses[i].c_str(), static_cast<unsigned long long>(status->best_block),
                      VerdictName(answers[i].response.verdict()).c_str(),
                      answers[i].response.state().c_str(), reason.c_str());
          const std::vector<std::string> aliases(answers[i].response.aliases().begin(),
                                                 answers[i].response.aliases().end());
          for (const std::string& warning : controller_set.OnAliases(addresses[i], aliases)) {
            Log(warning);
          }
        } else {
          std::printf("heartbeat controller=%s failed: %s\n", addresses[i].c_str(),
                      answers[i].status.error_message().c_str());
        }
      }
    }
    std::fflush(stdout);
    const int signal_number = ::sigtimedwait(&stop, nullptr, &interval);
    if (signal_number == SIGINT || signal_number == SIGTERM) return 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Nothing may escape as an uncaught exception (a library throwing on a bad argument, say): it
  // would abort with an unbounded message instead of a clear error and an exit code.
  try {
    return Main(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: unexpected error: %s\n", "rpc-pool-daemon", error.what());
  } catch (...) {
    std::fprintf(stderr, "%s: unexpected error\n", "rpc-pool-daemon");
  }
  return 1;
}
