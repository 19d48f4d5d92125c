// Test support: a real HAProxy process on Unix sockets in a test's directory, and plain HTTP over
// a Unix socket to reach its frontends.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "base/status.h"
#include "support/process.h"

namespace rpc_pool::testing {

// HaproxyProcess runs `haproxy -db` (foreground, one process) on a configuration whose global
// section puts an admin-level stats socket in the test's directory. Killed with the object.
// Move-only.
class HaproxyProcess {
 public:
  // Start writes `sections` (defaults, frontends, backends) below the global section to
  // dir/haproxy.cfg, has HAProxy check it, starts it and waits until its stats socket answers.
  // HAProxy has no ready signal in foreground mode, so the wait is for that condition, bounded by
  // `timeout`. Fails with kInvalidArgument when HAProxy refuses the configuration (its words in
  // the message) and kUnavailable when it does not start or answer in time.
  static base::Result<HaproxyProcess> Start(
      const std::string& haproxy_binary, const std::filesystem::path& dir,
      const std::string& sections, std::chrono::milliseconds timeout = std::chrono::seconds(20));

  const std::string& admin_socket() const { return admin_socket_; }
  support::ChildProcess& process() { return process_; }
  // Log returns what HAProxy wrote to stderr so far, for failure messages.
  std::string Log() const;

 private:
  HaproxyProcess(support::ChildProcess process, std::string admin_socket, std::string log_file)
      : process_(std::move(process)),
        admin_socket_(std::move(admin_socket)),
        log_file_(std::move(log_file)) {}

  support::ChildProcess process_;
  std::string admin_socket_;
  std::string log_file_;
};

// HttpGetOverUnixSocket sends "GET `path`" (HTTP/1.1, Connection: close) to the listener at
// `socket_path` and returns the whole response. Fails with kUnavailable when the socket cannot
// be reached or the response does not end within `timeout`.
base::Result<std::string> HttpGetOverUnixSocket(
    const std::string& socket_path, const std::string& path,
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

// HttpPostOverUnixSocket posts `body` (application/json) to "/" at `socket_path` and returns the
// whole response. Fails as HttpGetOverUnixSocket.
base::Result<std::string> HttpPostOverUnixSocket(
    const std::string& socket_path, const std::string& body,
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

// ReserveLoopbackPort finds a TCP port free on 127.0.0.1 by binding port 0 and releases it for
// the caller to hand to HAProxy (whose configuration cannot say "any port"). Another process could
// take it in between; on a test machine that is rare and shows as HAProxy failing to start.
base::Result<int> ReserveLoopbackPort();

}  // namespace rpc_pool::testing
