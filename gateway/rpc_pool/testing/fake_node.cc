// Test support: the fake node's accept loop and its JSON-RPC answers.
#include "testing/fake_node.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

namespace rpc_pool::testing {
namespace {

using base::Result;
using base::Status;

constexpr size_t kMaxRequestBytes = size_t{64} * 1024;

// The fake's block hashes carry their block number in the last 8 bytes, so chain_getHeader with a
// hash needs no chain.
std::string HashOf(uint64_t number) {
  char tail[17];
  std::snprintf(tail, sizeof tail, "%016llx", static_cast<unsigned long long>(number));
  return "0x" + std::string(48, '0') + tail;
}

std::string HexNumber(uint64_t number) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(number));
  return text;
}

bool ReadRequest(int connection, std::string& body) {
  std::string data;
  char buffer[4096];
  while (data.size() < kMaxRequestBytes) {
    pollfd entry{.fd = connection, .events = POLLIN, .revents = 0};
    if (::poll(&entry, 1, 5000) <= 0) return false;
    const ssize_t n = ::recv(connection, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    data.append(buffer, static_cast<size_t>(n));
    const size_t end = data.find("\r\n\r\n");
    if (end == std::string::npos) continue;
    // Header names in any case: HAProxy forwards them in lower case.
    std::string head = data.substr(0, end);
    std::transform(head.begin(), head.end(), head.begin(),
                   [](char c) { return static_cast<char>(std::tolower(c)); });
    const size_t length_at = head.find("content-length:");
    if (length_at == std::string::npos) return false;
    const size_t length = std::stoul(head.substr(length_at + 15));
    if (data.size() >= end + 4 + length) {
      body = data.substr(end + 4, length);
      return true;
    }
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<FakeNode>> FakeNode::Start() {
  std::unique_ptr<FakeNode> node(new FakeNode());
  node->listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (node->listener_ < 0 || ::pipe2(node->wake_pipe_, O_CLOEXEC) != 0) {
    return Status::Unavailable("fake node: socket or pipe failed");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(node->listener_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(node->listener_, 64) != 0 ||
      ::getsockname(node->listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return Status::Unavailable("fake node: cannot listen on 127.0.0.1");
  }
  node->port_ = ntohs(address.sin_port);
  node->thread_ = std::thread([raw = node.get()] { raw->Serve(); });
  return node;
}

FakeNode::~FakeNode() {
  if (thread_.joinable()) {
    const char stop = 'x';
    (void)!::write(wake_pipe_[1], &stop, 1);
    thread_.join();
  }
  for (int fd : {listener_, wake_pipe_[0], wake_pipe_[1]}) {
    if (fd >= 0) ::close(fd);
  }
}

void FakeNode::SetBlocks(uint64_t best, uint64_t finalized) {
  std::lock_guard lock(mutex_);
  best_ = best;
  finalized_ = finalized;
}

void FakeNode::SetPeers(uint32_t peers) {
  std::lock_guard lock(mutex_);
  peers_ = peers;
}

void FakeNode::SetVersion(std::string version) {
  std::lock_guard lock(mutex_);
  version_ = std::move(version);
}

void FakeNode::SetHandler(Handler handler) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(handler);
}

void FakeNode::Serve() {
  std::vector<int> held;  // connections of a stalled node: read, never answered
  while (true) {
    pollfd entries[2] = {{.fd = listener_, .events = POLLIN, .revents = 0},
                         {.fd = wake_pipe_[0], .events = POLLIN, .revents = 0}};
    if (::poll(entries, 2, -1) < 0) continue;
    if (entries[1].revents != 0) break;
    const int connection = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;
    if (stalled_.load()) {
      held.push_back(connection);
      continue;
    }
    if (Answer(connection)) {
      held.push_back(connection);
    } else {
      ::close(connection);
    }
  }
  for (int fd : held) ::close(fd);
}

std::string FakeNode::ResultFor(const std::string& method, const std::string& params_hash) {
  std::lock_guard lock(mutex_);
  if (method == "system_health") {
    return nlohmann::json{{"peers", peers_}, {"isSyncing", false}, {"shouldHavePeers", true}}
        .dump();
  }
  if (method == "chain_getHeader") {
    const uint64_t number =
        params_hash.empty() ? best_ : std::stoull(params_hash.substr(50), nullptr, 16);
    return nlohmann::json{{"parentHash", HashOf(number - 1)},
                          {"number", HexNumber(number)},
                          {"stateRoot", HashOf(0)},
                          {"extrinsicsRoot", HashOf(0)},
                          {"digest", {{"logs", nlohmann::json::array()}}}}
        .dump();
  }
  if (method == "chain_getFinalizedHead") return nlohmann::json(HashOf(finalized_)).dump();
  if (method == "system_version") return nlohmann::json(version_).dump();
  return "";
}

bool FakeNode::Answer(int connection) {
  std::string body;
  if (!ReadRequest(connection, body)) return false;
  const nlohmann::json request = nlohmann::json::parse(body, nullptr, false);
  if (request.is_discarded() || !request.is_object() || !request.contains("method") ||
      !request["method"].is_string() || !request.contains("id")) {
    return false;
  }
  ++requests_;
  const std::string method = request["method"].get<std::string>();
  std::string params_hash;
  if (request.contains("params") && request["params"].is_array() && !request["params"].empty() &&
      request["params"][0].is_string()) {
    params_hash = request["params"][0].get<std::string>();
  }
  Handler handler;
  {
    std::lock_guard lock(mutex_);
    handler = handler_;
  }
  MethodAnswer custom;
  if (handler) custom = handler(method, request.value("params", nlohmann::json::array()));
  if (custom.kind == MethodAnswer::Kind::kHold) return true;
  std::string result = ResultFor(method, params_hash);
  std::string answer = R"({"jsonrpc":"2.0","id":)" + request["id"].dump() + ",";
  if (custom.kind == MethodAnswer::Kind::kResult) result = custom.json;
  if (custom.kind == MethodAnswer::Kind::kError) {
    answer += R"("error":)" + custom.json + "}";
  } else if (errors_.load() || result.empty()) {
    answer += R"("error":{"code":-32601,"message":"Method not found"}})";
  } else {
    answer += R"("result":)" + result + "}";
  }
  const std::string response =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(answer.size()) + "\r\nConnection: close\r\n\r\n" + answer;
  (void)!::send(connection, response.data(), response.size(), MSG_NOSIGNAL);
  return false;
}

}  // namespace rpc_pool::testing
