// Starting civetweb the one way the project's HTTP listeners (/metrics, the pool's dashboard) use
// it.
#pragma once

#include <string>

#include "base/status.h"

struct mg_context;
struct mg_connection;

namespace signer {

// CivetwebListenerOptions says where and with what civetweb serves. Never a document root (no
// path reaches the file system), no keep-alive and a 10 s request timeout, so an idle or slow
// client frees its thread quickly; one catch-all handler on "/" decides every path.
struct CivetwebListenerOptions {
  std::string address;  // "IP:PORT" or "[IPv6]:PORT", port 0: any
  int threads = 2;
  int backlog = 16;
  int (*log)(const mg_connection* connection, const char* message) = nullptr;
  int (*handler)(mg_connection* connection, void* user_data) = nullptr;
  void* user_data = nullptr;  // civetweb's user data and the handler's argument
};

// CivetwebListener is a started context and the port it bound.
struct CivetwebListener {
  mg_context* context = nullptr;  // the caller stops it with mg_stop
  int port = 0;
};

// StartCivetwebListener starts civetweb (mg_init_library must have been called). Fails with
// kUnavailable carrying civetweb's own error text, without a prefix, when it does not start, or
// "no bound port" when it started without one (then it is stopped again). Thread-safe.
[[nodiscard]] base::Result<CivetwebListener> StartCivetwebListener(
    const CivetwebListenerOptions& options);

}  // namespace signer
