// HAProxy runtime API client: one connection per command on the Unix stats socket.
#include "rpc_pool/haproxy_runtime.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <utility>

#include "base/file_descriptor.h"

namespace rpc_pool {
namespace {

using base::Result;
using base::Status;
using Clock = std::chrono::steady_clock;

std::string ErrnoText(int error) {
  char buffer[128];
  // The GNU strerror_r returns the text (maybe not in `buffer`).
  return strerror_r(error, buffer, sizeof buffer);
}

int RemainingMs(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 1'000'000));
}

// WaitFor polls `fd` for `events` until `deadline`: false on timeout or a poll error.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  pollfd entry{.fd = fd, .events = events, .revents = 0};
  while (true) {
    const int ready = ::poll(&entry, 1, RemainingMs(deadline));
    if (ready > 0) return true;
    if (ready == 0 || errno != EINTR) return false;
  }
}

std::string_view TrimBlankLines(std::string_view text) {
  while (!text.empty() && (text.front() == '\n' || text.front() == '\r')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  for (std::string_view line : Split(text, '\n')) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// ParseNumber reads an unsigned decimal; an empty field (HAProxy leaves counters it does not
// keep empty) is 0.
template <typename T>
bool ParseNumber(std::string_view text, T& out) {
  if (text.empty()) {
    out = 0;
    return true;
  }
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

// ErrorFromAnswer maps a refusal HAProxy wrote to a status kind; the text goes along.
Status ErrorFromAnswer(const std::string& command, std::string_view answer) {
  const std::string message = "haproxy refused '" + command + "': " + std::string(answer);
  if (answer.starts_with("No such backend") || answer.starts_with("No such server") ||
      answer.starts_with("Can't find backend") || answer.starts_with("No such proxy")) {
    return Status::NotFound(message);
  }
  // Everything else (a name taken, a server not in maintenance, a command the socket's level
  // does not allow) is HAProxy declining in its present state.
  return Status::FailedPrecondition(message);
}

Status CheckNames(std::string_view backend, std::string_view server) {
  if (!IsValidHaproxyName(backend)) return Status::InvalidArgument("bad backend name");
  if (!IsValidHaproxyName(server)) return Status::InvalidArgument("bad server name");
  return Status::Ok();
}

std::string ServerPath(std::string_view backend, std::string_view server) {
  std::string path(backend);
  path += '/';
  path += server;
  return path;
}

}  // namespace

bool IsValidHaproxyName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

HaproxyRuntime::HaproxyRuntime(std::string socket_path, HaproxyRuntimeOptions options)
    : socket_path_(std::move(socket_path)), options_(options) {}

Result<std::string> HaproxyRuntime::Execute(std::string_view command) const {
  // HAProxy reads ';' as a command separator and a newline as the end of the command.
  if (command.empty() || command.find_first_of(";\n\r") != std::string_view::npos) {
    return Status::InvalidArgument("an HAProxy command is one line without ';'");
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof address.sun_path) {
    return Status::InvalidArgument("HAProxy socket path too long: " + socket_path_);
  }
  std::memcpy(address.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  const Clock::time_point deadline = Clock::now() + options_.timeout;

  base::FileDescriptor fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return Status::Unavailable("socket: " + ErrnoText(errno));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    // A Unix socket connects at once or, with a full backlog, answers EAGAIN.
    return Status::Unavailable("cannot reach HAProxy at " + socket_path_ + ": " + ErrnoText(errno));
  }
  std::string request(command);
  request += '\n';
  size_t sent = 0;
  while (sent < request.size()) {
    if (!WaitFor(fd.get(), POLLOUT, deadline)) {
      return Status::Unavailable("HAProxy did not take the command in time");
    }
    const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return Status::Unavailable("sending to HAProxy: " + ErrnoText(errno));
    }
    if (n > 0) sent += static_cast<size_t>(n);
  }
  // Without `prompt`, HAProxy answers one command and closes the connection.
  std::string answer;
  char buffer[16384];
  while (true) {
    if (!WaitFor(fd.get(), POLLIN, deadline)) {
      return Status::Unavailable("HAProxy did not answer '" + std::string(command) + "' in time");
    }
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Status::Unavailable("reading from HAProxy: " + ErrnoText(errno));
    }
    if (answer.size() + static_cast<size_t>(n) > options_.max_response_bytes) {
      return Status::InvalidArgument("HAProxy's answer exceeds " +
                                     std::to_string(options_.max_response_bytes) + " bytes");
    }
    answer.append(buffer, static_cast<size_t>(n));
  }
  return answer;
}

Status HaproxyRuntime::Command(const std::string& command, std::string_view success) const {
  SIGNER_ASSIGN_OR_RETURN(const std::string answer, Execute(command));
  const std::string_view trimmed = TrimBlankLines(answer);
  if (trimmed == success) return Status::Ok();
  return ErrorFromAnswer(command, trimmed);
}

Result<std::vector<ServerStat>> HaproxyRuntime::ShowStat(std::string_view backend) const {
  if (!IsValidHaproxyName(backend)) return Status::InvalidArgument("bad backend name");
  // Type 4 selects the server rows only; -1: all servers.
  const std::string command = "show stat " + std::string(backend) + " 4 -1";
  SIGNER_ASSIGN_OR_RETURN(const std::string answer, Execute(command));
  const std::vector<std::string_view> lines = Lines(answer);
  if (lines.empty() || !lines[0].starts_with("# ")) {
    return ErrorFromAnswer(command, TrimBlankLines(answer));
  }
  // Columns are found by name: their order is HAProxy's and grows between versions.
  const std::vector<std::string_view> header = Split(lines[0].substr(2), ',');
  std::map<std::string_view, size_t> column;
  for (size_t i = 0; i < header.size(); ++i) column.emplace(header[i], i);
  for (const char* needed : {"pxname", "svname", "status", "weight", "stot", "lbtot", "addr"}) {
    if (!column.contains(needed)) {
      return Status::Corruption(std::string("HAProxy's show stat has no column ") + needed);
    }
  }
  std::vector<ServerStat> servers;
  for (size_t row = 1; row < lines.size(); ++row) {
    const std::vector<std::string_view> fields = Split(lines[row], ',');
    if (fields.size() < header.size()) {
      return Status::Corruption("HAProxy's show stat has a short row");
    }
    ServerStat stat;
    stat.backend = fields[column["pxname"]];
    stat.server = fields[column["svname"]];
    // HAProxy filters by backend name; a rename race cannot slip another backend's rows in.
    if (stat.backend != backend || stat.server == "BACKEND" || stat.server == "FRONTEND") continue;
    stat.status = fields[column["status"]];
    stat.address = fields[column["addr"]];
    const auto request_column = column.find("req_tot");
    // Optional columns, empty until the server has answered: absent or empty reads as 0.
    const auto optional_number = [&](const char* name, uint64_t& out) {
      const auto found = column.find(name);
      return found == column.end() || fields[found->second].empty() ||
             ParseNumber(fields[found->second], out);
    };
    if (!optional_number("rtime", stat.response_time_ms) ||
        !optional_number("ttime", stat.total_time_ms) ||
        !ParseNumber(fields[column["weight"]], stat.weight) ||
        !ParseNumber(fields[column["stot"]], stat.sessions) ||
        !ParseNumber(fields[column["lbtot"]], stat.selected) ||
        (request_column != column.end() &&
         !ParseNumber(fields[request_column->second], stat.requests))) {
      return Status::Corruption("HAProxy's show stat has a malformed number");
    }
    servers.push_back(std::move(stat));
  }
  return servers;
}

Result<std::vector<ServerState>> HaproxyRuntime::ShowServersState(std::string_view backend) const {
  if (!IsValidHaproxyName(backend)) return Status::InvalidArgument("bad backend name");
  const std::string command = "show servers state " + std::string(backend);
  SIGNER_ASSIGN_OR_RETURN(const std::string answer, Execute(command));
  const std::vector<std::string_view> lines = Lines(answer);
  // The first line is the format version, the second the column names.
  if (lines.size() < 2 || lines[0] != "1" || !lines[1].starts_with("# ")) {
    return ErrorFromAnswer(command, TrimBlankLines(answer));
  }
  const std::vector<std::string_view> header = Split(lines[1].substr(2), ' ');
  std::map<std::string_view, size_t> column;
  for (size_t i = 0; i < header.size(); ++i) column.emplace(header[i], i);
  for (const char* needed : {"be_name", "srv_name", "srv_addr", "srv_op_state", "srv_admin_state",
                             "srv_uweight", "srv_port"}) {
    if (!column.contains(needed)) {
      return Status::Corruption(std::string("HAProxy's servers state has no column ") + needed);
    }
  }
  std::vector<ServerState> servers;
  for (size_t row = 2; row < lines.size(); ++row) {
    const std::vector<std::string_view> fields = Split(lines[row], ' ');
    if (fields.size() < header.size()) {
      return Status::Corruption("HAProxy's servers state has a short row");
    }
    ServerState state;
    state.backend = fields[column["be_name"]];
    state.server = fields[column["srv_name"]];
    state.address = fields[column["srv_addr"]];
    if (!ParseNumber(fields[column["srv_port"]], state.port) ||
        !ParseNumber(fields[column["srv_op_state"]], state.operational_state) ||
        !ParseNumber(fields[column["srv_admin_state"]], state.admin_state) ||
        !ParseNumber(fields[column["srv_uweight"]], state.user_weight)) {
      return Status::Corruption("HAProxy's servers state has a malformed number");
    }
    servers.push_back(std::move(state));
  }
  return servers;
}

Status HaproxyRuntime::SetServerState(std::string_view backend, std::string_view server,
                                      ServerAdminState state) const {
  SIGNER_RETURN_IF_ERROR(CheckNames(backend, server));
  const char* name = state == ServerAdminState::kReady   ? "ready"
                     : state == ServerAdminState::kDrain ? "drain"
                                                         : "maint";
  return Command("set server " + ServerPath(backend, server) + " state " + name, "");
}

Status HaproxyRuntime::SetServerWeight(std::string_view backend, std::string_view server,
                                       uint32_t weight) const {
  SIGNER_RETURN_IF_ERROR(CheckNames(backend, server));
  if (weight > 256) return Status::InvalidArgument("an HAProxy weight is 0 to 256");
  return Command("set server " + ServerPath(backend, server) + " weight " + std::to_string(weight),
                 "");
}

Status HaproxyRuntime::EnableServer(std::string_view backend, std::string_view server) const {
  SIGNER_RETURN_IF_ERROR(CheckNames(backend, server));
  return Command("enable server " + ServerPath(backend, server), "");
}

Status HaproxyRuntime::DisableServer(std::string_view backend, std::string_view server) const {
  SIGNER_RETURN_IF_ERROR(CheckNames(backend, server));
  return Command("disable server " + ServerPath(backend, server), "");
}

Status HaproxyRuntime::AddServer(std::string_view backend, std::string_view server,
                                 std::string_view address, uint32_t weight) const {
  SIGNER_RETURN_IF_ERROR(CheckNames(backend, server));
  if (weight > 256) return Status::InvalidArgument("an HAProxy weight is 0 to 256");
  const bool address_ok = !address.empty() && address.size() <= 255 &&
                          std::all_of(address.begin(), address.end(), [](char c) {
                            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                   (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' ||
                                   c == '[' || c == ']';
                          });
  if (!address_ok) return Status::InvalidArgument("bad server address");
  return Command("add server " + ServerPath(backend, server) + " " + std::string(address) +
                     " weight " + std::to_string(weight),
                 "New server registered.");
}

Status HaproxyRuntime::DeleteServer(std::string_view backend, std::string_view server) const {
  SIGNER_RETURN_IF_ERROR(CheckNames(backend, server));
  return Command("del server " + ServerPath(backend, server), "Server deleted.");
}

}  // namespace rpc_pool
