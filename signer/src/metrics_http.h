// The plain-HTTP listener that serves GET /metrics to Prometheus (civetweb).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "keymgr/status.h"

struct mg_context;
struct mg_connection;

namespace signer {

// MetricsHttpServer answers GET /metrics with `render()` as Prometheus text format 0.0.4, any
// other path with 404 and any other method on /metrics with 405. It binds only `listen` and runs
// two worker threads, so a slow scraper cannot take more than that. No TLS and no
// authentication: bind it to a loopback or management address. Thread-safe; `render` is called
// on the server's threads and must stay valid until the server is destroyed.
class MetricsHttpServer {
 public:
  // Start listens on `listen`, "IP:PORT" or "[IPv6]:PORT" (a host name is not accepted; port 0
  // picks a free port). Fails with kInvalidArgument on a malformed address and kUnavailable when
  // the address cannot be bound.
  [[nodiscard]] static keymgr::Result<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& listen, std::function<std::string()> render);

  // The destructor stops the listener and waits for requests being served.
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // port is the bound port (the real one when 0 was asked for).
  int port() const { return port_; }

 private:
  explicit MetricsHttpServer(std::function<std::string()> render);
  static int Handle(mg_connection* connection, void* self);

  std::function<std::string()> render_;
  mg_context* context_ = nullptr;
  int port_ = 0;
};

}  // namespace signer
