// The listener that serves GET /metrics to Prometheus, over plain HTTP (civetweb) or TLS 1.3.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "base/thread_annotations.h"

struct mg_context;
struct mg_connection;
struct ssl_ctx_st;

namespace signer {

// MetricsListenerOptions says where and how /metrics is served.
struct MetricsListenerOptions {
  // "PORT" (bound on 127.0.0.1, so the page is never exposed by accident), "HOST:PORT" with an
  // IPv4 address or a host name, or "[IPv6]:PORT". Port 0 picks a free port.
  std::string listen;
  // Both set: TLS 1.3 with this PEM certificate chain and PEM private key (mode 0600 or
  // stricter); both empty: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
};

// ResolveMetricsListen turns `listen` (the forms above) into the numeric addresses to try, in
// the resolver's order, each as "IP:PORT" or "[IPv6]:PORT". A host name is resolved once, here;
// a PORT alone gives "127.0.0.1:PORT". Fails with kInvalidArgument on a malformed address or a
// port out of range, kNotFound when the host name does not resolve. Thread-safe.
[[nodiscard]] base::Result<std::vector<std::string>> ResolveMetricsListen(
    const std::string& listen);

// MetricsHttpServer answers GET /metrics with `render()` as Prometheus text format 0.0.4, any
// other path with 404 and any other method on /metrics with 405. It binds one address and runs
// two worker threads, so a slow scraper cannot take more than that. No authentication: bind it
// to loopback or a management address, and use TLS when the scrape crosses a network.
// Thread-safe; `render` is called on the server's threads and must stay valid until the server
// is destroyed.
class MetricsHttpServer {
 public:
  // Start resolves `options.listen` and binds the first of its addresses that can be bound.
  // Fails with kInvalidArgument on a malformed address, half a TLS setting or a TLS key readable
  // by group or others, kNotFound for a host name that does not resolve or a missing TLS file,
  // and kUnavailable when no address can be bound or the TLS files cannot be loaded.
  [[nodiscard]] static base::Result<std::unique_ptr<MetricsHttpServer>> Start(
      const MetricsListenerOptions& options, std::function<std::string()> render);

  // The destructor stops the listener and waits for requests being served.
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // address is the bound address as "IP:PORT" or "[IPv6]:PORT", with the real port when 0 was
  // asked for; port is that port.
  const std::string& address() const { return address_; }
  int port() const { return port_; }
  // tls says whether the listener speaks TLS.
  bool tls() const { return !tls_cert_file_.empty(); }

  // KeepStartupLog records civetweb's last log line, for Start's error message (internal: called
  // from civetweb's log callback).
  void KeepStartupLog(const char* message) EXCLUDES(log_mutex_);

 private:
  MetricsHttpServer(std::function<std::string()> render, std::string tls_cert_file,
                    std::string tls_key_file);
  base::Status Listen(const std::string& address) EXCLUDES(log_mutex_);
  base::Status LoadTlsContext();
  base::Status ListenTls(const std::string& address);
  void StopTls();
  void ServeTls();
  void ServeTlsConnection(int client);
  static int Handle(mg_connection* connection, void* self);

  std::function<std::string()> render_;
  const std::string tls_cert_file_;
  const std::string tls_key_file_;
  base::Mutex log_mutex_;                        // civetweb may log from its threads
  std::string last_log_ GUARDED_BY(log_mutex_);  // civetweb's last log line
  // Plain HTTP: civetweb.
  bool civetweb_initialised_ = false;
  mg_context* context_ = nullptr;
  // TLS: our own accept loop. Debian's civetweb 1.15 is built to load OpenSSL 1.1 at run time and
  // cannot start TLS with OpenSSL 3 (docs/signerd.md), so HTTPS does not go through it.
  ssl_ctx_st* tls_context_ = nullptr;
  int tls_fd_ = -1;
  std::atomic<bool> tls_stopping_{false};
  std::vector<std::thread> tls_threads_;
  std::string address_;
  int port_ = 0;
};

}  // namespace signer
