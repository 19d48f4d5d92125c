// The /metrics HTTP listener over civetweb: one path, one method, a bounded number of threads.
#include "metrics_http.h"

#include <civetweb.h>

#include <array>
#include <cstring>
#include <string_view>
#include <utility>

namespace signer {
namespace {

constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// civetweb prints its errors to stderr unless told otherwise; Start reports them instead.
int SilenceLog(const mg_connection* /*connection*/, const char* /*message*/) { return 1; }

void SendPlain(mg_connection* connection, int status, const char* reason, std::string_view body,
               const char* extra_header = "") {
  mg_printf(connection,
            "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
            status, reason, body.size(), extra_header);
  mg_write(connection, body.data(), body.size());
}

}  // namespace

MetricsHttpServer::MetricsHttpServer(std::function<std::string()> render)
    : render_(std::move(render)) {}

MetricsHttpServer::~MetricsHttpServer() {
  if (context_ != nullptr) {
    mg_stop(context_);
  }
  mg_exit_library();
}

keymgr::Result<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& listen, std::function<std::string()> render) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return keymgr::Status::InvalidArgument("metrics listen address must be IP:PORT");
  }
  mg_init_library(0);  // reference counted; the destructor releases it
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer(std::move(render)));
  // No document_root: civetweb serves no files. Keep-alive off and a short request timeout, so
  // an idle or slow client frees its thread quickly.
  const std::array<const char*, 11> options = {"listening_ports",
                                               listen.c_str(),
                                               "num_threads",
                                               "2",
                                               "enable_keep_alive",
                                               "no",
                                               "request_timeout_ms",
                                               "10000",
                                               "listen_backlog",
                                               "16",
                                               nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = SilenceLog;
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = server.get();
  init.configuration_options = const_cast<const char**>(options.data());
  std::array<char, 256> error_text{};
  unsigned error_code = 0;
  mg_error_data error{};
  error.code = &error_code;
  error.text = error_text.data();
  error.text_buffer_size = error_text.size();
  server->context_ = mg_start2(&init, &error);
  if (server->context_ == nullptr) {
    return keymgr::Status::Unavailable("metrics listener on " + listen + ": " +
                                       std::string(error_text.data()));
  }
  // One catch-all handler decides by path: civetweb would otherwise try files for unknown paths.
  mg_set_request_handler(server->context_, "/", &MetricsHttpServer::Handle, server.get());
  std::array<mg_server_port, 4> ports{};
  const int count =
      mg_get_server_ports(server->context_, static_cast<int>(ports.size()), ports.data());
  if (count < 1 || ports[0].port <= 0) {
    return keymgr::Status::Unavailable("metrics listener on " + listen + ": no bound port");
  }
  server->port_ = ports[0].port;
  return server;
}

int MetricsHttpServer::Handle(mg_connection* connection, void* self) {
  const mg_request_info* request = mg_get_request_info(connection);
  if (request == nullptr || request->local_uri == nullptr ||
      std::strcmp(request->local_uri, "/metrics") != 0) {
    SendPlain(connection, 404, "Not Found", "only /metrics is served here\n");
    return 404;
  }
  if (request->request_method == nullptr || std::strcmp(request->request_method, "GET") != 0) {
    SendPlain(connection, 405, "Method Not Allowed", "only GET\n", "Allow: GET\r\n");
    return 405;
  }
  const std::string body = static_cast<MetricsHttpServer*>(self)->render_();
  mg_printf(connection,
            "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            kContentType, body.size());
  mg_write(connection, body.data(), body.size());
  return 200;
}

}  // namespace signer
