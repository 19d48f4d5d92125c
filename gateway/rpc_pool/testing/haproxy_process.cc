// Test support: starting HAProxy for a test and talking HTTP to it over Unix sockets.
#include "testing/haproxy_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/file_descriptor.h"
#include "rpc_pool/haproxy_runtime.h"

namespace rpc_pool::testing {
namespace {

using base::Result;
using base::Status;
using SteadyClock = std::chrono::steady_clock;

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<HaproxyProcess> HaproxyProcess::Start(const std::string& haproxy_binary,
                                             const std::filesystem::path& dir,
                                             const std::string& sections,
                                             std::chrono::milliseconds timeout) {
  const std::string admin_socket = (dir / "haproxy-admin.sock").string();
  const std::string config_path = (dir / "haproxy.cfg").string();
  const std::string log_file = (dir / "haproxy.log").string();
  {
    std::ofstream config(config_path);
    config << "global\n  stats socket " << admin_socket << " level admin\n\n" << sections;
    if (!config.good()) return Status::IoError("cannot write " + config_path);
  }
  support::ProcessOptions check_options;
  check_options.timeout = timeout;
  const auto check =
      support::RunProcess({haproxy_binary, "-c", "-q", "-f", config_path}, check_options);
  if (!check.ok()) return check.status();
  if (check->exit_code != 0) {
    return Status::InvalidArgument("haproxy refuses the configuration: " + check->Describe());
  }
  support::ChildOptions child_options;
  child_options.stderr_file = log_file;
  SIGNER_ASSIGN_OR_RETURN(
      support::ChildProcess child,
      support::ChildProcess::Start({haproxy_binary, "-db", "-f", config_path}, child_options));
  HaproxyProcess haproxy(std::move(child), admin_socket, log_file);
  const HaproxyRuntime runtime(admin_socket);
  const SteadyClock::time_point deadline = SteadyClock::now() + timeout;
  while (true) {
    if (!haproxy.process().Running()) {
      return Status::Unavailable("haproxy exited: " + haproxy.Log());
    }
    if (runtime.Execute("show info").ok()) return haproxy;
    if (SteadyClock::now() > deadline) {
      return Status::Unavailable("haproxy's stats socket did not answer: " + haproxy.Log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string HaproxyProcess::Log() const { return ReadWholeFile(log_file_); }

namespace {

// Exchange sends `request` to the listener at `socket_path` and reads until it closes.
Result<std::string> Exchange(const std::string& socket_path, const std::string& request,
                             std::chrono::milliseconds timeout) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path) {
    return Status::InvalidArgument("socket path too long");
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  base::FileDescriptor fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0 ||
      ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return Status::Unavailable("cannot connect to " + socket_path);
  }
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return Status::Unavailable("cannot send to " + socket_path);
  }
  std::string response;
  const SteadyClock::time_point deadline = SteadyClock::now() + timeout;
  char buffer[4096];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    pollfd entry{.fd = fd.get(), .events = POLLIN, .revents = 0};
    if (left.count() <= 0 || ::poll(&entry, 1, static_cast<int>(left.count())) <= 0) {
      return Status::Unavailable("no complete response from " + socket_path);
    }
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n == 0) return response;
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Unavailable("reading from " + socket_path);
    }
    response.append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace

Result<std::string> HttpGetOverUnixSocket(const std::string& socket_path, const std::string& path,
                                          std::chrono::milliseconds timeout) {
  return Exchange(socket_path,
                  "GET " + path + " HTTP/1.1\r\nHost: pool\r\nConnection: close\r\n\r\n", timeout);
}

Result<std::string> HttpPostOverUnixSocket(const std::string& socket_path, const std::string& body,
                                           std::chrono::milliseconds timeout) {
  std::string request = "POST / HTTP/1.1\r\nHost: pool\r\nContent-Type: application/json\r\n";
  request.append("Content-Length: ").append(std::to_string(body.size()));
  request.append("\r\nConnection: close\r\n\r\n").append(body);
  return Exchange(socket_path, request, timeout);
}

Result<int> ReserveLoopbackPort() {
  base::FileDescriptor fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Status::Unavailable("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return Status::Unavailable("cannot bind a loopback port");
  }
  return static_cast<int>(ntohs(address.sin_port));
}

}  // namespace rpc_pool::testing
