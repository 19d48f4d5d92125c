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

TEST(GatewayConfigTest, ReadsTheIdentitiesALoopbackListenerAdmits) {
  const std::string listen = R"(
listen:
  tcp: "127.0.0.1:0"
  tls: {cert: a.crt, key: a.key, client_ca: ca.crt, identities: [validator-1, probe]}
history_id: "kafka:abc/signer-claims"
)";
  auto config = ParseGatewayConfig(listen + kUpstreams, "");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->listen_identities, (std::vector<std::string>{"validator-1", "probe"}));
  for (const std::string& bad : {std::string("identities: []"), std::string("identities: x"),
                                 std::string("identities: [\"\"]")}) {
    std::string text = listen;
    text.replace(text.find("identities: [validator-1, probe]"),
                 std::string("identities: [validator-1, probe]").size(), bad);
    auto refused = ParseGatewayConfig(text + kUpstreams, "");
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("listen.tls.identities"), std::string::npos)
        << refused.status().message();
  }
}

constexpr char kDialIn[] = R"(
listen: {unix_socket: keystore.sock}
state_dir: state
upstream_tls: {ca: pki/ca.crt, cert: pki/gateway.crt, key: pki/gateway.key}
uplink_listen: "0.0.0.0:7444"
uplink_tls: {cert: pki/uplink.crt, key: pki/uplink.key, client_ca: pki/signers-ca.crt}
upstreams:
  - {name: signer-1, address: "10.0.0.1:9000"}
  - {name: signer-nat, dial_in: true, identity: signer-nat.example}
)";

TEST(GatewayConfigTest, ReadsSignersThatDialIn) {
  auto config = ParseGatewayConfig(kDialIn, "/etc/gw");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->uplink_listen, "0.0.0.0:7444");
  ASSERT_TRUE(config->uplink_tls.has_value());
  EXPECT_EQ(config->uplink_tls->client_ca, "/etc/gw/pki/signers-ca.crt");
  EXPECT_EQ(config->uplink_keepalive_ms, 10'000);
  ASSERT_EQ(config->upstreams.size(), 2u);
  EXPECT_FALSE(config->upstreams[0].dial_in);
  EXPECT_TRUE(config->upstreams[1].dial_in);
  EXPECT_EQ(config->upstreams[1].identity, "signer-nat.example");
  EXPECT_TRUE(config->upstreams[1].address.empty());
}

TEST(GatewayConfigTest, RefusesDialInSettingsThatDoNotFit) {
  struct Case {
    std::string from;
    std::string to;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"dial_in: true, identity: signer-nat.example", "dial_in: true",
       "identity is required when dial_in is true"},
      {"dial_in: true, identity", "dial_in: true, address: \"10.0.0.2:1\", identity",
       "has no address"},
      {"dial_in: true", "dial_in: \"true\"", "must be true or false"},
      {"dial_in: true", "dial_in: yes", "must be true or false"},
      {"dial_in: true, identity: signer-nat.example",
       "address: \"10.0.0.2:1\", identity: signer-nat.example",
       "identity applies to a signer that dials in only"},
      {"  - {name: signer-1, address: \"10.0.0.1:9000\"}",
       "  - {name: signer-1, dial_in: true, identity: signer-nat.example}", "is used twice"},
      {"uplink_listen: \"0.0.0.0:7444\"\n", "", "uplink_listen and uplink_tls go together"},
      {"uplink_tls: {cert: pki/uplink.crt, key: pki/uplink.key, client_ca: pki/signers-ca.crt}\n",
       "", "uplink_listen and uplink_tls go together"},
      {"  - {name: signer-nat, dial_in: true, identity: signer-nat.example}\n", "",
       "with at least one upstream that has dial_in: true"},
      {"client_ca: pki/signers-ca.crt", "ca: pki/signers-ca.crt", "uplink_tls"},
  };
  for (const Case& c : cases) {
    std::string text = kDialIn;
    const size_t at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    text.replace(at, c.from.size(), c.to);
    auto config = ParseGatewayConfig(text, "");
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_EQ(config.status().code(), base::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(config.status().message().find(c.message), std::string::npos)
        << text << " -> " << config.status().message();
  }
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
