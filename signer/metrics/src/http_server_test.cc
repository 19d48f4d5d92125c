// The /metrics listener: what it serves, where it binds, and TLS 1.3 only.
#include "metrics/http_server.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <utility>

#include "support/dev_pki.h"
#include "support/loopback.h"
#include "support/temp_dir.h"

namespace signer {
namespace {

namespace fs = std::filesystem;
using support::HttpRequest;

// Plain is a listener without TLS on `listen`.
MetricsListenerOptions Plain(std::string listen) {
  MetricsListenerOptions options;
  options.listen = std::move(listen);
  return options;
}

// TlsClientOptions is what a test scraper offers and checks.
struct TlsClientOptions {
  fs::path ca_file;                       // the server certificate must chain to it
  std::string server_name = "localhost";  // checked against the certificate's names
  int max_version = TLS1_3_VERSION;
};

// HttpsRequest sends one GET over TLS (OpenSSL, verifying the server) to 127.0.0.1:`port` and
// returns the whole response, or "" if the connection or the handshake fails.
std::string HttpsExchange(int port, const std::string& request, const TlsClientOptions& options) {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  if (context == nullptr) return "";
  SSL_CTX_set_max_proto_version(context, options.max_version);
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  std::string response;
  if (SSL_CTX_load_verify_locations(context, options.ca_file.c_str(), nullptr) == 1) {
    const base::Result<int> fd = support::ConnectToLoopback(port);
    SSL* ssl = SSL_new(context);
    if (fd.ok() && ssl != nullptr && SSL_set_fd(ssl, *fd) == 1 &&
        SSL_set1_host(ssl, options.server_name.c_str()) == 1 &&
        SSL_set_tlsext_host_name(ssl, options.server_name.c_str()) == 1 && SSL_connect(ssl) == 1) {
      if (SSL_write(ssl, request.data(), static_cast<int>(request.size())) > 0) {
        char buffer[4096];
        for (;;) {
          const int got = SSL_read(ssl, buffer, sizeof(buffer));
          if (got <= 0) break;
          response.append(buffer, static_cast<size_t>(got));
        }
      }
    }
    SSL_free(ssl);
    if (fd.ok()) ::close(*fd);
  }
  SSL_CTX_free(context);
  ERR_clear_error();
  return response;
}

// HttpsRequest sends GET `path` over TLS (see HttpsExchange).
std::string HttpsRequest(int port, const std::string& path, const TlsClientOptions& options) {
  return HttpsExchange(
      port, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", options);
}

TEST(MetricsHttpServerTest, ServesOnlyGetMetrics) {
  int renders = 0;
  auto server = MetricsHttpServer::Start(Plain("127.0.0.1:0"), [&renders] {
    ++renders;
    return std::string("# HELP a_total h\n# TYPE a_total counter\na_total 1\n");
  });
  ASSERT_TRUE(server.ok()) << server.status().message();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);

  const std::string ok = HttpRequest(port, "GET", "/metrics");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok;
  EXPECT_NE(ok.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << ok;
  EXPECT_EQ(support::HttpBody(ok), "# HELP a_total h\n# TYPE a_total counter\na_total 1\n");
  EXPECT_EQ(renders, 1);

  EXPECT_EQ(HttpRequest(port, "GET", "/").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(HttpRequest(port, "GET", "/metrics/x").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(HttpRequest(port, "GET", "/etc/passwd").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(HttpRequest(port, "POST", "/metrics").rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(renders, 1);

  // The port is taken: a second listener on it fails instead of serving nothing.
  auto second = MetricsHttpServer::Start(Plain("127.0.0.1:" + std::to_string(port)),
                                         [] { return std::string(); });
  EXPECT_FALSE(second.ok());
  EXPECT_FALSE(MetricsHttpServer::Start(Plain("no-port"), [] { return std::string(); }).ok());
}

TEST(MetricsHttpServerTest, APortAloneBindsLoopbackOnly) {
  auto resolved = ResolveMetricsListen("9615");
  ASSERT_TRUE(resolved.ok()) << resolved.status().message();
  EXPECT_EQ(*resolved, std::vector<std::string>{"127.0.0.1:9615"});

  auto server = MetricsHttpServer::Start(Plain("0"), [] { return std::string("a 1\n"); });
  ASSERT_TRUE(server.ok()) << server.status().message();
  EXPECT_EQ((*server)->address(), "127.0.0.1:" + std::to_string((*server)->port()));
  EXPECT_FALSE((*server)->tls());
  EXPECT_EQ(support::HttpBody(HttpRequest((*server)->port(), "GET", "/metrics")), "a 1\n");
}

TEST(MetricsHttpServerTest, AcceptsHostNamesAndBracketedIpv6) {
  auto server = MetricsHttpServer::Start(Plain("localhost:0"), [] { return std::string("a 1\n"); });
  ASSERT_TRUE(server.ok()) << server.status().message();
  // localhost may resolve to ::1 first; either way the listener is on a loopback address.
  const std::string& address = (*server)->address();
  EXPECT_TRUE(address.starts_with("127.") || address.starts_with("[::1]:")) << address;
  if (address.starts_with("127.0.0.1:")) {
    EXPECT_EQ(support::HttpBody(HttpRequest((*server)->port(), "GET", "/metrics")), "a 1\n");
  }

  auto ipv6 = ResolveMetricsListen("[::1]:0");
  ASSERT_TRUE(ipv6.ok()) << ipv6.status().message();
  EXPECT_EQ(*ipv6, std::vector<std::string>{"[::1]:0"});
  auto v6_server = MetricsHttpServer::Start(Plain("[::1]:0"), [] { return std::string(); });
  if (v6_server.ok()) {
    EXPECT_EQ((*v6_server)->address(), "[::1]:" + std::to_string((*v6_server)->port()));
  } else {
    // A host without IPv6 cannot bind ::1; that is the bind failing, not the address parser.
    EXPECT_EQ(v6_server.status().code(), base::StatusCode::kUnavailable);
  }

  for (const std::string bad : {"::1:9615", "localhost:", ":9615", "[::1]9615", "host:99999"}) {
    auto refused = ResolveMetricsListen(bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.status().code(), base::StatusCode::kInvalidArgument) << bad;
  }
  // .invalid never resolves (RFC 6761).
  auto unknown = ResolveMetricsListen("metrics.invalid:0");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), base::StatusCode::kNotFound);
}

TEST(MetricsHttpServerTest, ServesTls13WithTheDevPki) {
  support::TempDir dir;
  const auto pki = support::MakeDevPki(dir.path() / "pki");
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  auto server = MetricsHttpServer::Start(
      {"127.0.0.1:0", pki->server_certificate.string(), pki->server_key.string()},
      [] { return std::string("# HELP a_total h\n# TYPE a_total counter\na_total 1\n"); });
  ASSERT_TRUE(server.ok()) << server.status().message();
  EXPECT_TRUE((*server)->tls());
  const int port = (*server)->port();

  const std::string ok = HttpsRequest(port, "/metrics", {pki->ca_certificate});
  EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok;
  EXPECT_EQ(support::HttpBody(ok), "# HELP a_total h\n# TYPE a_total counter\na_total 1\n");
  EXPECT_EQ(HttpsRequest(port, "/", {pki->ca_certificate}).rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(HttpsRequest(port, "/metrics?x=1", {pki->ca_certificate}).rfind("HTTP/1.1 200", 0), 0u);
  const std::string post = "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(HttpsExchange(port, post, {pki->ca_certificate}).rfind("HTTP/1.1 405", 0), 0u);
  // The TLS listener parses the request line itself: anything that is not one is refused, and so
  // is a head that does not end within 8 KiB (sent whole, so no unread bytes reset the reply).
  EXPECT_EQ(HttpsExchange(port, "GARBAGE\r\n\r\n", {pki->ca_certificate}).rfind("HTTP/1.1 400", 0),
            0u);
  EXPECT_EQ(
      HttpsExchange(port, std::string(8192, 'A'), {pki->ca_certificate}).rfind("HTTP/1.1 400", 0),
      0u);

  // A client that stops at TLS 1.2 gets no handshake, and plain HTTP gets no page.
  TlsClientOptions tls12{pki->ca_certificate};
  tls12.max_version = TLS1_2_VERSION;
  EXPECT_EQ(HttpsRequest(port, "/metrics", tls12), "");
  EXPECT_EQ(HttpRequest(port, "GET", "/metrics").find("a_total 1"), std::string::npos);
  // The certificate is for localhost, not for another name.
  TlsClientOptions wrong_name{pki->ca_certificate};
  wrong_name.server_name = "metrics.example";
  EXPECT_EQ(HttpsRequest(port, "/metrics", wrong_name), "");
}

TEST(MetricsHttpServerTest, RefusesBadTlsSettings) {
  support::TempDir dir;
  const auto pki = support::MakeDevPki(dir.path() / "pki");
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  const auto other = support::MakeDevPki(dir.path() / "other");
  ASSERT_TRUE(other.ok()) << other.status().message();
  const auto render = [] { return std::string(); };
  const std::string cert = pki->server_certificate.string();
  const std::string key = pki->server_key.string();

  auto half = MetricsHttpServer::Start({"127.0.0.1:0", cert, ""}, render);
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.status().code(), base::StatusCode::kInvalidArgument);

  auto missing = MetricsHttpServer::Start({"127.0.0.1:0", cert, key + ".missing"}, render);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::StatusCode::kNotFound);

  // Another PKI's key does not match this certificate.
  auto mismatched =
      MetricsHttpServer::Start({"127.0.0.1:0", cert, other->server_key.string()}, render);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.status().code(), base::StatusCode::kUnavailable);

  fs::permissions(key, fs::perms::group_read | fs::perms::others_read, fs::perm_options::add);
  auto loose = MetricsHttpServer::Start({"127.0.0.1:0", cert, key}, render);
  ASSERT_FALSE(loose.ok());
  EXPECT_EQ(loose.status().code(), base::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace signer
