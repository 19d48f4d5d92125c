// The gateway's configuration: what it accepts, and every refusal an operator could run into.
#include "gateway/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gateway {
namespace {

constexpr char kUpstreams[] = R"(
upstream_tls: {ca: pki/ca.crt, cert: pki/gateway.crt, key: pki/gateway.key}
upstreams:
  - {name: signer-1, address: "10.0.0.1:9000"}
  - {name: signer-2, address: "signer-2.internal:9000", server_name: signer}
)";

TEST(GatewayConfigTest, ReadsAUnixSocketPoolWithRelativePathsResolved) {
  const std::string text = std::string(R"(
listen: {unix_socket: run/keystore.sock, socket_mode: "0660"}
state_dir: state
health_interval_ms: 250
cache_ttl_ms: 0
)") + kUpstreams;
  auto config = ParseGatewayConfig(text, "/etc/gw");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->unix_socket, "/etc/gw/run/keystore.sock");
  EXPECT_EQ(config->socket_mode, 0660u);
  EXPECT_EQ(config->state_dir, "/etc/gw/state");
  EXPECT_EQ(config->upstream_tls.private_key, "/etc/gw/pki/gateway.key");
  ASSERT_EQ(config->upstreams.size(), 2u);
  EXPECT_EQ(config->upstreams[1].server_name, "signer");
  EXPECT_EQ(config->health_interval_ms, 250);
  EXPECT_EQ(config->cache_ttl_ms, 0);
  EXPECT_EQ(config->upstream_timeout_ms, 5'000);
}

TEST(GatewayConfigTest, ReadsALoopbackTlsEndpointWithAPinnedHistory) {
  const std::string text = std::string(R"(
listen:
  tcp: "127.0.0.1:0"
  tls: {cert: a.crt, key: a.key, client_ca: ca.crt}
history_id: "kafka:abc/signer-claims"
)") + kUpstreams;
  auto config = ParseGatewayConfig(text, "");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->tcp_listen, "127.0.0.1:0");
  ASSERT_TRUE(config->listen_tls.has_value());
  EXPECT_EQ(config->history_id, "kafka:abc/signer-claims");
}

TEST(GatewayConfigTest, RefusesWhatWouldBeUnsafeOrAmbiguous) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::string pool = kUpstreams;
  const std::vector<Case> cases = {
      {"state_dir: s\n" + pool, "listen is required"},
      {"listen: {unix_socket: a, tcp: \"127.0.0.1:1\"}\nstate_dir: s\n" + pool, "exactly one"},
      {"listen: {}\nstate_dir: s\n" + pool, "exactly one"},
      {"listen: {tcp: \"0.0.0.0:1\", tls: {cert: a, key: b, client_ca: c}}\nstate_dir: s\n" + pool,
       "127.0.0.1"},
      {"listen: {tcp: \"127.0.0.1:1\"}\nstate_dir: s\n" + pool, "needs listen.tls"},
      {"listen: {unix_socket: a, socket_mode: \"0666\"}\nstate_dir: s\n" + pool, "others"},
      {"listen: {unix_socket: a, socket_mode: \"660\"}\nstate_dir: s\n" + pool, "octal"},
      {"listen: {unix_socket: a}\n" + pool, "history_id"},
      {"listen: {unix_socket: a}\nstate_dir: s\nupstream_tls: {ca: a, cert: b, key: c}\n"
       "upstreams: []\n",
       "non-empty"},
      {"listen: {unix_socket: a}\nstate_dir: s\nupstream_tls: {ca: a, cert: b, key: c}\n"
       "upstreams: [{name: x, address: a}, {name: x, address: b}]\n",
       "used twice"},
      {"listen: {unix_socket: a}\nstate_dir: s\nupstream_tls: {ca: a, cert: b, key: c}\n"
       "upstreams: [{name: \"x y\", address: a}]\n",
       "letters"},
      {"listen: {unix_socket: a}\nstate_dir: s\nhedge: 1\n" + pool, "unknown field hedge"},
      {"listen: {unix_socket: a}\nstate_dir: s\nhealth_interval_ms: 1\n" + pool, "between"},
      {"listen: {unix_socket: a}\nstate_dir: s\nstate_dir: t\n" + pool, "duplicate"},
      {"listen: [\n", "YAML"},
  };
  for (const Case& c : cases) {
    auto config = ParseGatewayConfig(c.text, "");
    ASSERT_FALSE(config.ok()) << c.text;
    EXPECT_EQ(config.status().code(), base::StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(config.status().message().find(c.message), std::string::npos)
        << c.text << " -> " << config.status().message();
  }
}

}  // namespace
}  // namespace gateway
