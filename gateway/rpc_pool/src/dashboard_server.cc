// The dashboard's HTTP listener: civetweb parses HTTP, DashboardApi decides every answer.
#include "rpc_pool/dashboard_server.h"

#include <civetweb.h>

#include <array>
#include <string_view>
#include <vector>

#include "metrics/civetweb_listener.h"
#include "metrics/http_server.h"

namespace rpc_pool {

using base::Result;
using base::Status;

namespace {

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

// Silence civetweb's own logging to stderr: a public listener would let any client fill the
// controller's log with malformed requests.
int IgnoreLog(const mg_connection* /*connection*/, const char* /*message*/) { return 1; }

}  // namespace

DashboardServer::~DashboardServer() {
  if (context_ != nullptr) mg_stop(context_);
  if (library_initialised_) mg_exit_library();
}

Result<std::unique_ptr<DashboardServer>> DashboardServer::Start(const std::string& listen,
                                                                const DashboardApi& api) {
  // The same address forms as the metrics listener, resolved by the same function.
  SIGNER_ASSIGN_OR_RETURN(const std::vector<std::string> addresses,
                          signer::ResolveMetricsListen(listen));
  std::unique_ptr<DashboardServer> server(new DashboardServer(api));
  mg_init_library(0);  // reference counted with the metrics listener's
  server->library_initialised_ = true;
  Status last = Status::Unavailable("dashboard listener: nothing to bind");
  for (const std::string& address : addresses) {
    last = server->Listen(address);
    if (last.ok()) return server;
  }
  return last;
}

Status DashboardServer::Listen(const std::string& address) {
  auto listener = signer::StartCivetwebListener({.address = address,
                                                 .threads = 4,
                                                 .backlog = 64,
                                                 .log = IgnoreLog,
                                                 .handler = &DashboardServer::Handle,
                                                 .user_data = this});
  if (!listener.ok()) {
    return Status::Unavailable("dashboard listener on " + address + ": " +
                               listener.status().message());
  }
  context_ = listener->context;
  port_ = listener->port;
  address_ = address.substr(0, address.rfind(':') + 1) + std::to_string(port_);
  return Status::Ok();
}

int DashboardServer::Handle(mg_connection* connection, void* self) {
  const mg_request_info* request = mg_get_request_info(connection);
  const char* method = request == nullptr ? nullptr : request->request_method;
  const char* path = request == nullptr ? nullptr : request->local_uri;
  const char* query = request == nullptr ? nullptr : request->query_string;
  const HttpReply reply = static_cast<DashboardServer*>(self)->api_.Handle(
      method == nullptr ? "" : method, path == nullptr ? "" : path, query == nullptr ? "" : query);
  std::string head = "HTTP/1.1 " + std::to_string(reply.status) + " " +
                     std::string(ReasonPhrase(reply.status)) +
                     "\r\nContent-Type: " + reply.content_type +
                     "\r\nContent-Length: " + std::to_string(reply.body.size()) + "\r\n";
  if (!reply.allow.empty()) head += "Allow: " + reply.allow + "\r\n";
  head += kDashboardSecurityHeaders;
  head += "Connection: close\r\n\r\n";
  mg_write(connection, head.data(), head.size());
  mg_write(connection, reply.body.data(), reply.body.size());
  return reply.status;
}

}  // namespace rpc_pool
