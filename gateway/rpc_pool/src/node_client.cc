// HTTP/1.1 JSON-RPC calls to the node, one connection per call, every step under one deadline.
#include "rpc_pool/node_client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <optional>

#include "base/file_descriptor.h"

namespace rpc_pool {
namespace {

using base::Result;
using base::Status;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kMaxHeaderBytes = size_t{16} * 1024;

int RemainingMs(SteadyClock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 1'000'000));
}

bool WaitFor(int fd, short events, SteadyClock::time_point deadline) {
  pollfd entry{.fd = fd, .events = events, .revents = 0};
  while (true) {
    const int ready = ::poll(&entry, 1, RemainingMs(deadline));
    if (ready > 0) return true;
    if (ready == 0 || errno != EINTR) return false;
  }
}

Result<base::FileDescriptor> Connect(const NodeClientOptions& options,
                                     SteadyClock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options.port);
  if (::getaddrinfo(options.host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return Status::Unavailable("cannot resolve the node's host " + options.host);
  }
  Status last = Status::Unavailable("no address for " + options.host);
  for (addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
    base::FileDescriptor fd(
        ::socket(entry->ai_family, entry->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd.get() < 0) continue;
    if (::connect(fd.get(), entry->ai_addr, entry->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = Status::Unavailable("cannot connect to the node at " + options.host + ":" + port);
      continue;
    }
    int error = 0;
    socklen_t length = sizeof error;
    if (!WaitFor(fd.get(), POLLOUT, deadline) ||
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
      last = Status::Unavailable("cannot connect to the node at " + options.host + ":" + port);
      continue;
    }
    ::freeaddrinfo(found);
    return fd;
  }
  ::freeaddrinfo(found);
  return last;
}

// ContentLength finds the Content-Length header (names are case-insensitive).
std::optional<size_t> ContentLength(std::string_view headers) {
  size_t start = 0;
  while (start < headers.size()) {
    size_t end = headers.find("\r\n", start);
    if (end == std::string_view::npos) end = headers.size();
    std::string_view line = headers.substr(start, end - start);
    start = end + 2;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return static_cast<char>(std::tolower(c)); });
    if (name == "transfer-encoding") return std::nullopt;
    if (name != "content-length") continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    size_t length = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (ec != std::errc() || ptr != value.data() + value.size()) return std::nullopt;
    return length;
  }
  return std::nullopt;
}

}  // namespace

Result<std::string> NodeRpcClient::Call(uint64_t id, std::string_view method,
                                        std::string_view params_json) const {
  const SteadyClock::time_point deadline = SteadyClock::now() + options_.timeout;
  SIGNER_ASSIGN_OR_RETURN(base::FileDescriptor fd, Connect(options_, deadline));
  const std::string body = JsonRpcRequest(id, method, params_json);
  std::string request = "POST / HTTP/1.1\r\nHost: ";
  request.append(options_.host)
      .append("\r\nContent-Type: application/json\r\nContent-Length: ")
      .append(std::to_string(body.size()))
      .append("\r\nConnection: close\r\n\r\n")
      .append(body);
  size_t sent = 0;
  while (sent < request.size()) {
    if (!WaitFor(fd.get(), POLLOUT, deadline)) return Status::Unavailable("node took no request");
    const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return Status::Unavailable("sending to the node failed");
    }
    if (n > 0) sent += static_cast<size_t>(n);
  }
  std::string answer;
  char buffer[8192];
  std::optional<size_t> header_end;
  std::optional<size_t> length;
  while (true) {
    if (header_end && length && answer.size() >= *header_end + *length) break;
    if (!WaitFor(fd.get(), POLLIN, deadline)) {
      return Status::Unavailable("the node did not answer " + std::string(method) + " in time");
    }
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Status::Unavailable("reading from the node failed");
    }
    if (n == 0) break;
    answer.append(buffer, static_cast<size_t>(n));
    if (!header_end) {
      const size_t end = answer.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (answer.size() > kMaxHeaderBytes) {
          return Status::InvalidArgument("the node's answer headers are too long");
        }
        continue;
      }
      header_end = end + 4;
      const std::string_view head(answer.data(), end);
      if (!head.starts_with("HTTP/1.1 200 ") && !head.starts_with("HTTP/1.0 200 ")) {
        return Status::InvalidArgument("the node answered " + std::string(head.substr(0, 40)));
      }
      length = ContentLength(head);
      if (!length) return Status::InvalidArgument("the node's answer has no Content-Length");
      if (*length > kMaxNodeAnswerBytes) {
        return Status::InvalidArgument("the node's answer is over " +
                                       std::to_string(kMaxNodeAnswerBytes) + " bytes");
      }
    }
  }
  if (!header_end || !length || answer.size() < *header_end + *length) {
    return Status::Unavailable("the node's answer was cut short");
  }
  return answer.substr(*header_end, *length);
}

Result<NodeStatus> NodeRpcClient::Poll() const {
  NodeStatus status;
  SIGNER_ASSIGN_OR_RETURN(const std::string health, Call(1, "system_health", "[]"));
  SIGNER_ASSIGN_OR_RETURN(status.health, ParseHealth(health, 1));
  // Finalized first, best second: the node only moves forward, so a finalized block above the
  // best block read after it is a lie, not a race.
  SIGNER_ASSIGN_OR_RETURN(const std::string head, Call(2, "chain_getFinalizedHead", "[]"));
  SIGNER_ASSIGN_OR_RETURN(const std::string finalized_hash, ParseBlockHash(head, 2));
  // The hash was checked to be 0x and hex, so it is safe inside the JSON array.
  SIGNER_ASSIGN_OR_RETURN(const std::string finalized,
                          Call(3, "chain_getHeader", "[\"" + finalized_hash + "\"]"));
  SIGNER_ASSIGN_OR_RETURN(status.finalized_block, ParseBlockNumberFromHeader(finalized, 3));
  SIGNER_ASSIGN_OR_RETURN(const std::string best, Call(4, "chain_getHeader", "[]"));
  SIGNER_ASSIGN_OR_RETURN(status.best_block, ParseBlockNumberFromHeader(best, 4));
  SIGNER_ASSIGN_OR_RETURN(const std::string version, Call(5, "system_version", "[]"));
  SIGNER_ASSIGN_OR_RETURN(status.version, ParseVersion(version, 5));
  if (status.finalized_block > status.best_block) {
    return Status::InvalidArgument("the node reports finalized above best");
  }
  return status;
}

}  // namespace rpc_pool
