// DashboardServer: the read-only HTTP listener (civetweb) that serves the public dashboard and
// its JSON API (DashboardApi) from the pool controller.
//
// Thread safety: DashboardServer is thread-safe; it calls the API from its worker threads.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "rpc_pool/dashboard_api.h"

struct mg_context;
struct mg_connection;

namespace rpc_pool {

// kDashboardSecurityHeaders go with every answer: scripts and styles only from the page's own
// origin (no inline script, no CDN), no framing, no referrer, and no type sniffing of JSON.
inline constexpr char kDashboardSecurityHeaders[] =
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Cache-Control: no-store\r\n";

class DashboardServer {
 public:
  // Start listens on `listen` ("PORT" on 127.0.0.1, "HOST:PORT" or "[IPv6]:PORT"; port 0 picks
  // one) and serves `api`, which must outlive the server. Four worker threads, no keep-alive, a
  // 10 s request timeout, and civetweb serves no files. Fails with kInvalidArgument on a
  // malformed address, kNotFound for a host name that does not resolve, kUnavailable when no
  // address can be bound.
  [[nodiscard]] static base::Result<std::unique_ptr<DashboardServer>> Start(
      const std::string& listen, const DashboardApi& api);

  // The destructor stops the listener and waits for the requests being served.
  ~DashboardServer();
  DashboardServer(const DashboardServer&) = delete;
  DashboardServer& operator=(const DashboardServer&) = delete;

  // address is the bound "IP:PORT" (or "[IPv6]:PORT"), with the real port when 0 was asked for.
  const std::string& address() const { return address_; }
  int port() const { return port_; }

 private:
  explicit DashboardServer(const DashboardApi& api) : api_(api) {}
  base::Status Listen(const std::string& address);
  static int Handle(mg_connection* connection, void* self);

  const DashboardApi& api_;
  mg_context* context_ = nullptr;
  bool library_initialised_ = false;
  std::string address_;
  int port_ = 0;
};

}  // namespace rpc_pool
