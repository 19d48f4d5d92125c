// Test support: a fake Substrate node's JSON-RPC over HTTP on 127.0.0.1, which the test steers:
// its best and finalized blocks, a stall (it accepts and never answers), and an error mode.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace rpc_pool::testing {

// FakeNode answers system_health, chain_getHeader (with or without a hash), chain_getFinalizedHead
// and system_version, one request per connection, on a port of its own (port 0: the kernel
// picks). Thread-safe; the destructor stops it.
class FakeNode {
 public:
  // Start listens on 127.0.0.1. Fails with kUnavailable when it cannot.
  static base::Result<std::unique_ptr<FakeNode>> Start();
  ~FakeNode();
  FakeNode(const FakeNode&) = delete;
  FakeNode& operator=(const FakeNode&) = delete;

  int port() const { return port_; }
  void SetBlocks(uint64_t best, uint64_t finalized);
  void SetPeers(uint32_t peers);
  // SetVersion sets what system_version answers (tests name each node by it).
  void SetVersion(std::string version);
  // SetStalled makes it read requests and never answer (a hung node).
  void SetStalled(bool stalled) { stalled_.store(stalled); }
  // SetAnswerErrors makes every answer a JSON-RPC error.
  void SetAnswerErrors(bool errors) { errors_.store(errors); }
  // MethodAnswer is what a handler (SetHandler) says about one request: not its method (the
  // built-in answers apply), a result, a JSON-RPC error object, or hold the connection unanswered.
  struct MethodAnswer {
    enum class Kind { kUnhandled, kResult, kError, kHold };
    Kind kind = Kind::kUnhandled;
    std::string json;  // as JSON text; kResult: the result; kError: the error object
  };
  using Handler =
      std::function<MethodAnswer(const std::string& method, const nlohmann::json& params)>;
  // SetHandler installs `handler`, asked first about every request, on the fake's thread; tests
  // script methods the built-in answers do not cover (a payout's chain) with it.
  void SetHandler(Handler handler);
  // requests counts the JSON-RPC requests it read.
  uint64_t requests() const { return requests_.load(); }

 private:
  FakeNode() = default;
  void Serve();
  // Answer answers one request; true when the handler asked to hold the connection.
  bool Answer(int connection);
  std::string ResultFor(const std::string& method, const std::string& params_hash);

  int listener_ = -1;
  int wake_pipe_[2] = {-1, -1};  // written by the destructor to end Serve
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  uint64_t best_ = 100;
  uint64_t finalized_ = 98;
  uint32_t peers_ = 8;
  std::string version_ = "1.9.0-fake";
  Handler handler_;
  std::atomic<bool> stalled_{false};
  std::atomic<bool> errors_{false};
  std::atomic<uint64_t> requests_{0};
};

}  // namespace rpc_pool::testing
