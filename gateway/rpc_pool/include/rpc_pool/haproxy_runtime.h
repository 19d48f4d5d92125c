// A client for HAProxy's runtime API on its Unix stats socket: read the servers' state and
// counters, and reshape a backend (server state, weight, dynamic servers) without a reload.
//
// Thread safety: HaproxyRuntime is thread-safe (each command opens its own connection).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace rpc_pool {

// ServerAdminState is what `set server <b>/<s> state` sets.
enum class ServerAdminState {
  kReady,  // takes traffic (if its health allows)
  kDrain,  // keeps the connections it has, gets no new ones
  kMaint,  // out of service
};

// ServerStat is one server row of `show stat` (HAProxy's CSV).
struct ServerStat {
  std::string backend;
  std::string server;
  std::string status;     // "UP", "DOWN", "MAINT", "DRAIN", "no check", ...
  uint32_t weight = 0;    // effective weight
  uint64_t sessions = 0;  // stot: connections (a WebSocket is one)
  uint64_t requests = 0;  // req_tot: HTTP requests (0 where HAProxy reports none)
  uint64_t selected = 0;  // lbtot: times the balancer chose this server
  std::string address;    // addr: "ip:port"
  // rtime: the average time in ms from sending a request to the server to its first response
  // byte, over the server's last 1024 requests (0 before any, or where HAProxy reports none).
  uint64_t response_time_ms = 0;
  // ttime: the average total time in ms of the server's last 1024 sessions (a WebSocket's whole
  // life counts, so it is no measure of a node's speed).
  uint64_t total_time_ms = 0;
};

// ServerState is one row of `show servers state <backend>`.
struct ServerState {
  std::string backend;
  std::string server;
  std::string address;
  uint16_t port = 0;
  uint32_t operational_state = 0;  // srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping
  uint32_t admin_state = 0;        // srv_admin_state bits (maintenance, drain, ...)
  uint32_t user_weight = 0;        // srv_uweight: as set by `set server ... weight`

  // InMaintenance: forced, inherited, configured, resolution or health maintenance bits.
  bool InMaintenance() const { return (admin_state & 0x67u) != 0; }
  // Draining: forced or inherited drain bits.
  bool Draining() const { return (admin_state & 0x18u) != 0; }
};

// HaproxyRuntimeOptions bounds one command.
struct HaproxyRuntimeOptions {
  std::chrono::milliseconds timeout{2000};  // connect + send + read, per command
  size_t max_response_bytes = 16u << 20;    // a longer answer is refused, not buffered
};

// IsValidHaproxyName: 1 to 64 of [A-Za-z0-9._-]: safe on an HAProxy command line, where ';'
// separates commands and spaces separate arguments.
bool IsValidHaproxyName(std::string_view name);

// HaproxyRuntime sends one command per connection to the stats socket (which must be
// `level admin` for the commands that change state).
class HaproxyRuntime {
 public:
  explicit HaproxyRuntime(std::string socket_path, HaproxyRuntimeOptions options = {});

  // Execute sends `command` (one line, no ';' and no newline) and returns HAProxy's whole
  // answer. Fails with kInvalidArgument on a command that could smuggle another one or an answer
  // over max_response_bytes, kUnavailable when the socket cannot be reached or does not answer
  // in time.
  [[nodiscard]] base::Result<std::string> Execute(std::string_view command) const;

  // ShowStat returns the server rows of `show stat` for `backend`. Fails as Execute, with
  // kNotFound for an unknown backend and kCorruption on an answer that is not the expected CSV.
  [[nodiscard]] base::Result<std::vector<ServerStat>> ShowStat(std::string_view backend) const;

  // ShowServersState returns the rows of `show servers state <backend>`. Fails as ShowStat.
  [[nodiscard]] base::Result<std::vector<ServerState>> ShowServersState(
      std::string_view backend) const;

  // SetServerState sets the server's administrative state. SetServerWeight sets its weight
  // (0..256). EnableServer and DisableServer are `enable server` and `disable server` (ready and
  // maintenance). Each fails as Execute, with kInvalidArgument on a bad name or weight,
  // kNotFound for an unknown backend or server, kFailedPrecondition when HAProxy refuses.
  [[nodiscard]] base::Status SetServerState(std::string_view backend, std::string_view server,
                                            ServerAdminState state) const;
  [[nodiscard]] base::Status SetServerWeight(std::string_view backend, std::string_view server,
                                             uint32_t weight) const;
  [[nodiscard]] base::Status EnableServer(std::string_view backend, std::string_view server) const;
  [[nodiscard]] base::Status DisableServer(std::string_view backend, std::string_view server) const;

  // AddServer adds a dynamic server at `address` ("ip:port" or "name:port") with `weight`; HAProxy
  // starts it in maintenance, so it takes no traffic until EnableServer. Fails as SetServerState,
  // and with kFailedPrecondition when the name is taken or the backend's balance algorithm does
  // not allow dynamic servers.
  [[nodiscard]] base::Status AddServer(std::string_view backend, std::string_view server,
                                       std::string_view address, uint32_t weight) const;
  // DeleteServer removes a dynamic server; HAProxy requires it to be in maintenance (and without
  // connections), otherwise kFailedPrecondition.
  [[nodiscard]] base::Status DeleteServer(std::string_view backend, std::string_view server) const;

  const std::string& socket_path() const { return socket_path_; }

 private:
  // Command runs `command` and compares the answer, without surrounding blank lines, with
  // `success` (empty: HAProxy's silent success); anything else becomes an error naming it.
  base::Status Command(const std::string& command, std::string_view success) const;

  const std::string socket_path_;
  const HaproxyRuntimeOptions options_;
};

}  // namespace rpc_pool
