// The /metrics listener: civetweb for plain HTTP, a small OpenSSL TLS 1.3 front for HTTPS.
#include "metrics/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <string_view>
#include <system_error>
#include <utility>

#include "metrics/civetweb_listener.h"

namespace signer {
namespace {

using base::Result;
using base::Status;

constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr char kLoopback[] = "127.0.0.1";

// civetweb prints its errors to stderr unless told otherwise. Start keeps the last one instead:
// mg_start2's own error text is generic ("Error initializing SSL context") and the logged line
// says which file or library was the problem.
int KeepLog(const mg_connection* connection, const char* message) {
  if (connection == nullptr || message == nullptr) {
    return 1;
  }
  mg_context* context = mg_get_context(connection);
  void* server = context == nullptr ? nullptr : mg_get_user_data(context);
  if (server != nullptr) {
    static_cast<MetricsHttpServer*>(server)->KeepStartupLog(message);
  }
  return 1;
}

// Reply is one whole HTTP response; both listeners send the same ones.
struct Reply {
  int status = 200;
  std::string bytes;
};

// Answer decides the response to `method` on `path` (query string removed): GET /metrics renders,
// other methods on it are 405, every other path 404.
Reply Answer(std::string_view method, std::string_view path,
             const std::function<std::string()>& render) {
  const auto make = [](int status, std::string_view head, const std::string& body,
                       std::string_view content_type) {
    Reply reply;
    reply.status = status;
    reply.bytes = std::string(head) + "\r\nContent-Type: " + std::string(content_type) +
                  "\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" + body;
    return reply;
  };
  if (path != "/metrics") {
    return make(404, "HTTP/1.1 404 Not Found", "only /metrics is served here\n",
                "text/plain; charset=utf-8");
  }
  if (method != "GET") {
    return make(405, "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET", "only GET\n",
                "text/plain; charset=utf-8");
  }
  return make(200, "HTTP/1.1 200 OK", render(), kContentType);
}

bool ParsePort(std::string_view text, int& port) {
  if (text.empty() || text.size() > 5) {
    return false;
  }
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  return error == std::errc() && end == text.data() + text.size() && port >= 0 && port <= 65535;
}

// NumericAddress writes `address` the way civetweb's listening_ports reads it.
std::string NumericAddress(const sockaddr* address, int port) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text.data(), text.size());
    return "[" + std::string(text.data()) + "]:" + std::to_string(port);
  }
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
  ::inet_ntop(AF_INET, &v4->sin_addr, text.data(), text.size());
  return std::string(text.data()) + ":" + std::to_string(port);
}

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  if (code == 0) {
    return "unknown OpenSSL error";
  }
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  ERR_clear_error();
  return text.data();
}

// CheckTlsFiles gives the operator a precise reason before civetweb's generic "cannot start".
Status CheckTlsFiles(const MetricsListenerOptions& options) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return Status::InvalidArgument("metrics TLS needs both a certificate and a key");
  }
  if (options.tls_cert_file.empty()) {
    return Status::Ok();
  }
  struct stat info {};
  if (::stat(options.tls_cert_file.c_str(), &info) != 0) {
    return Status::NotFound("metrics TLS certificate " + options.tls_cert_file + " is missing");
  }
  if (::stat(options.tls_key_file.c_str(), &info) != 0) {
    return Status::NotFound("metrics TLS key " + options.tls_key_file + " is missing");
  }
  // The same rule as the gRPC listener's key: a key others can read is no longer private.
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return Status::InvalidArgument("metrics TLS key " + options.tls_key_file +
                                   " must be mode 0600 or stricter");
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::string>> ResolveMetricsListen(const std::string& listen) {
  std::string host;
  std::string_view port_text;
  int port = 0;
  if (ParsePort(listen, port)) {
    return std::vector<std::string>{std::string(kLoopback) + ":" + std::to_string(port)};
  }
  if (listen.starts_with('[')) {
    const size_t close = listen.find("]:");
    if (close == std::string::npos) {
      return Status::InvalidArgument("metrics listen address " + listen + " must be [IPv6]:PORT");
    }
    host = listen.substr(1, close - 1);
    port_text = std::string_view(listen).substr(close + 2);
  } else {
    const size_t colon = listen.rfind(':');
    // An unbracketed IPv6 address has several colons and no unambiguous port.
    if (colon == std::string::npos || listen.find(':') != colon) {
      return Status::InvalidArgument("metrics listen address " + listen +
                                     " must be PORT, HOST:PORT or [IPv6]:PORT");
    }
    host = listen.substr(0, colon);
    port_text = std::string_view(listen).substr(colon + 1);
  }
  if (host.empty() || !ParsePort(port_text, port)) {
    return Status::InvalidArgument("metrics listen address " + listen +
                                   " needs a host and a port from 0 to 65535");
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // No AI_ADDRCONFIG: it ignores loopback, so "localhost" would not resolve on a host whose only
  // interface is lo, which is exactly where a metrics page bound to loopback lives.
  addrinfo* found = nullptr;
  if (const int error = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); error != 0) {
    return Status::NotFound("metrics listen host " + host + ": " + ::gai_strerror(error));
  }
  std::vector<std::string> addresses;
  for (const addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
    if (entry->ai_family != AF_INET && entry->ai_family != AF_INET6) {
      continue;
    }
    std::string address = NumericAddress(entry->ai_addr, port);
    if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
      addresses.push_back(std::move(address));
    }
  }
  ::freeaddrinfo(found);
  if (addresses.empty()) {
    return Status::NotFound("metrics listen host " + host + " has no IPv4 or IPv6 address");
  }
  return addresses;
}

MetricsHttpServer::MetricsHttpServer(std::function<std::string()> render, std::string tls_cert_file,
                                     std::string tls_key_file)
    : render_(std::move(render)),
      tls_cert_file_(std::move(tls_cert_file)),
      tls_key_file_(std::move(tls_key_file)) {}

MetricsHttpServer::~MetricsHttpServer() {
  if (context_ != nullptr) {
    mg_stop(context_);
  }
  if (civetweb_initialised_) {
    mg_exit_library();
  }
  StopTls();
  if (tls_context_ != nullptr) {
    SSL_CTX_free(tls_context_);
  }
}

Result<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const MetricsListenerOptions& options, std::function<std::string()> render) {
  SIGNER_ASSIGN_OR_RETURN(auto addresses, ResolveMetricsListen(options.listen));
  SIGNER_RETURN_IF_ERROR(CheckTlsFiles(options));
  std::unique_ptr<MetricsHttpServer> server(
      new MetricsHttpServer(std::move(render), options.tls_cert_file, options.tls_key_file));
  if (server->tls()) {
    SIGNER_RETURN_IF_ERROR(server->LoadTlsContext());
  } else {
    mg_init_library(0);  // reference counted; the destructor releases it
    server->civetweb_initialised_ = true;
  }
  Status last = Status::Unavailable("metrics listener: nothing to bind");
  for (const std::string& address : addresses) {
    last = server->tls() ? server->ListenTls(address) : server->Listen(address);
    if (last.ok()) {
      return server;
    }
  }
  return last;
}

Status MetricsHttpServer::Listen(const std::string& address) {
  {
    base::MutexLock lock(log_mutex_);
    last_log_.clear();
  }
  auto listener = StartCivetwebListener({.address = address,
                                         .threads = 2,
                                         .backlog = 16,
                                         .log = KeepLog,
                                         .handler = &MetricsHttpServer::Handle,
                                         .user_data = this});
  if (!listener.ok()) {
    base::MutexLock lock(log_mutex_);
    const std::string why = last_log_.empty() ? listener.status().message() : last_log_;
    return Status::Unavailable("metrics listener on " + address + ": " + why);
  }
  context_ = listener->context;
  port_ = listener->port;
  address_ = address.substr(0, address.rfind(':') + 1) + std::to_string(port_);
  return Status::Ok();
}

void MetricsHttpServer::KeepStartupLog(const char* message) {
  base::MutexLock lock(log_mutex_);
  last_log_ = message;
}

Status MetricsHttpServer::LoadTlsContext() {
  ERR_clear_error();
  tls_context_ = SSL_CTX_new(TLS_server_method());
  if (tls_context_ == nullptr) {
    return Status::Internal("metrics TLS: " + OpenSslError());
  }
  if (SSL_CTX_set_min_proto_version(tls_context_, TLS1_3_VERSION) != 1) {
    return Status::Internal("metrics TLS: cannot require TLS 1.3: " + OpenSslError());
  }
  if (SSL_CTX_use_certificate_chain_file(tls_context_, tls_cert_file_.c_str()) != 1) {
    return Status::Unavailable("metrics TLS certificate " + tls_cert_file_ + ": " + OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(tls_context_, tls_key_file_.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status::Unavailable("metrics TLS key " + tls_key_file_ + ": " + OpenSslError());
  }
  if (SSL_CTX_check_private_key(tls_context_) != 1) {
    ERR_clear_error();
    return Status::Unavailable("metrics TLS key " + tls_key_file_ +
                               " does not match the certificate");
  }
  // One request per connection, as on the plain listener: no tickets, no resumption state.
  SSL_CTX_set_num_tickets(tls_context_, 0);
  SSL_CTX_set_session_cache_mode(tls_context_, SSL_SESS_CACHE_OFF);
  return Status::Ok();
}

Status MetricsHttpServer::ListenTls(const std::string& address) {
  // `address` is numeric (ResolveMetricsListen), so this lookup never touches DNS.
  const size_t colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host.starts_with('[')) {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port = address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int error = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); error != 0) {
    return Status::InvalidArgument("metrics listener on " + address + ": " + ::gai_strerror(error));
  }
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  const bool bound = fd >= 0 &&
                     ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
                     ::bind(fd, found->ai_addr, found->ai_addrlen) == 0 && ::listen(fd, 16) == 0;
  const int bind_errno = errno;
  ::freeaddrinfo(found);
  if (!bound) {
    if (fd >= 0) {
      ::close(fd);
    }
    return Status::Unavailable("metrics listener on " + address + ": " +
                               std::error_code(bind_errno, std::generic_category()).message());
  }
  sockaddr_storage local{};
  socklen_t local_size = sizeof(local);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size);
  port_ = ntohs(local.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&local)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  address_ = address.substr(0, colon + 1) + std::to_string(port_);
  tls_fd_ = fd;
  // Two threads, as civetweb gets on the plain listener: a slow scraper holds at most one.
  for (int i = 0; i < 2; ++i) {
    tls_threads_.emplace_back([this] { ServeTls(); });
  }
  return Status::Ok();
}

void MetricsHttpServer::StopTls() {
  if (tls_fd_ < 0) {
    return;
  }
  tls_stopping_.store(true);
  ::shutdown(tls_fd_, SHUT_RDWR);  // wakes the threads blocked in accept
  for (std::thread& thread : tls_threads_) {
    thread.join();
  }
  ::close(tls_fd_);
  tls_fd_ = -1;
}

void MetricsHttpServer::ServeTls() {
  // A scraper that hangs up early must cost an EPIPE, not the process.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  while (!tls_stopping_.load()) {
    const int client = ::accept4(tls_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (tls_stopping_.load()) {
        return;
      }
      continue;  // a client that left before accept, or a transient resource shortage
    }
    // The same bound as civetweb's request_timeout_ms: a silent client frees the thread.
    const timeval timeout{10, 0};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    ServeTlsConnection(client);
    ::close(client);
  }
}

void MetricsHttpServer::ServeTlsConnection(int client) {
  constexpr size_t kMaxRequestHead = 8192;
  SSL* ssl = SSL_new(tls_context_);
  if (ssl == nullptr || SSL_set_fd(ssl, client) != 1 || SSL_accept(ssl) != 1) {
    SSL_free(ssl);
    ERR_clear_error();
    return;
  }
  std::string head;
  std::array<char, 1024> buffer{};
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < kMaxRequestHead) {
    const int got = SSL_read(ssl, buffer.data(), static_cast<int>(buffer.size()));
    if (got <= 0) {
      break;
    }
    head.append(buffer.data(), static_cast<size_t>(got));
  }
  Reply reply;
  const size_t line_end = head.find("\r\n");
  const size_t first_space = head.find(' ');
  const size_t second_space =
      first_space == std::string::npos ? std::string::npos : head.find(' ', first_space + 1);
  if (head.find("\r\n\r\n") == std::string::npos || second_space == std::string::npos ||
      second_space > line_end) {
    reply.status = 400;
    reply.bytes = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  } else {
    std::string_view target(head.data() + first_space + 1, second_space - first_space - 1);
    target = target.substr(0, target.find('?'));
    reply = Answer(std::string_view(head.data(), first_space), target, render_);
  }
  size_t sent = 0;
  while (sent < reply.bytes.size()) {
    const int wrote =
        SSL_write(ssl, reply.bytes.data() + sent,
                  static_cast<int>(std::min<size_t>(reply.bytes.size() - sent, 16384)));
    if (wrote <= 0) {
      break;
    }
    sent += static_cast<size_t>(wrote);
  }
  SSL_shutdown(ssl);
  SSL_free(ssl);
  ERR_clear_error();
}

int MetricsHttpServer::Handle(mg_connection* connection, void* self) {
  const mg_request_info* request = mg_get_request_info(connection);
  const char* method = request == nullptr ? nullptr : request->request_method;
  const char* path = request == nullptr ? nullptr : request->local_uri;
  const Reply reply = Answer(method == nullptr ? "" : method, path == nullptr ? "" : path,
                             static_cast<MetricsHttpServer*>(self)->render_);
  mg_write(connection, reply.bytes.data(), reply.bytes.size());
  return reply.status;
}

}  // namespace signer
