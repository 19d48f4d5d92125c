// Tests of the strict configuration parser: YAML and JSON files, defaults, and a table of
// rejections.
#include "signer/config.h"
#include "signer/open_from_config.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include <string>
#include <vector>

namespace signer {
namespace {

constexpr char kGenesis[] = "0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3";

std::string ValidConfig() {
  return std::string(R"({
    "signer_id": "signer-1",
    "hsm": {"module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "signer",
            "pin_file": "hsm.pin", "max_sessions": 8, "disabled_refresh_ms": 30000},
    "history": {"data_dir": "history", "genesis_hash": ")") +
         kGenesis + R"(", "allow_unrecognised": ["para"]},
    "keys": {"delete_guard_seconds": 3600}
  })";
}

TEST(SignerConfigTest, ParsesACompleteFileAndResolvesRelativePaths) {
  auto config = ParseSignerConfig(ValidConfig(), "/etc/signer");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->signer_id, "signer-1");
  EXPECT_EQ(config->hsm.module, "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(config->hsm.pin_file, "/etc/signer/hsm.pin");
  EXPECT_TRUE(config->hsm.pin_env.empty());
  EXPECT_EQ(config->hsm.max_sessions, 8u);
  EXPECT_EQ(config->hsm.disabled_refresh_ms, 30000);
  EXPECT_EQ(config->history.data_dir, "/etc/signer/history");
  EXPECT_EQ(config->history.genesis_hash[0], 0x91);
  EXPECT_EQ(config->history.genesis_hash[31], 0xc3);
  ASSERT_EQ(config->history.allow_unrecognised.size(), 1u);
  EXPECT_EQ(config->history.allow_unrecognised[0], "para");
  EXPECT_EQ(config->keys.delete_guard_seconds, 3600);
}

TEST(SignerConfigTest, ParsesTheYamlAnOperatorWrites) {
  const std::string text = std::string(R"(# signer-1 on host a
signer_id: signer-1
hsm:
  module: /usr/lib/softhsm/libsofthsm2.so
  token_label: signer
  pin_env: SIGNER_HSM_PIN
history:
  data_dir: ./history
  genesis_hash: ")") + kGenesis +
                           R"("
  allow_unrecognised: [para, gran]
keys:
  delete_guard_seconds: 60
)";
  auto config = ParseSignerConfig(text, "/srv/signer");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->hsm.pin_env, "SIGNER_HSM_PIN");
  EXPECT_EQ(config->history.data_dir, "/srv/signer/history");
  EXPECT_EQ(config->history.allow_unrecognised, (std::vector<std::string>{"para", "gran"}));
  EXPECT_EQ(config->keys.delete_guard_seconds, 60);
}

TEST(SignerConfigTest, OptionalSectionsTakeDefaults) {
  const std::string text = std::string(R"({"signer_id": "s",
    "hsm": {"module": "m.so", "token_label": "t", "pin_env": "SIGNER_HSM_PIN"},
    "history": {"data_dir": "/var/lib/signer", "genesis_hash": ")") +
                           kGenesis + R"("}})";
  auto config = ParseSignerConfig(text, "/base");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->hsm.pin_env, "SIGNER_HSM_PIN");
  EXPECT_EQ(config->hsm.max_sessions, 4u);
  EXPECT_EQ(config->hsm.disabled_refresh_ms, 2000);
  EXPECT_EQ(config->history.data_dir, "/var/lib/signer");
  EXPECT_TRUE(config->history.allow_unrecognised.empty());
  EXPECT_EQ(config->keys.delete_guard_seconds, 7 * 24 * 3600);
  EXPECT_FALSE(config->server.has_value());
}

struct RejectCase {
  const char* name;
  std::string from;  // a fragment of ValidConfig() ...
  std::string to;    // ... replaced by this
  std::string expected_message_part;
};

TEST(SignerConfigTest, RejectsBadFiles) {
  const RejectCase cases[] = {
      {"unknown top-level field", R"("signer_id")", R"("signer_idd": 1, "signer_id")",
       "unknown field signer_idd"},
      {"unknown nested field", R"("max_sessions": 8)", R"("max_sessions": 8, "pin": "1234")",
       "unknown field hsm.pin"},
      {"missing signer id", R"("signer_id": "signer-1",)", "", "signer_id is required"},
      {"empty signer id", R"("signer-1")", R"("")", "signer_id must be a non-empty string"},
      {"both PIN sources", R"("pin_file": "hsm.pin")", R"("pin_file": "hsm.pin", "pin_env": "X")",
       "exactly one of pin_file and pin_env"},
      {"no PIN source", R"("pin_file": "hsm.pin",)", "", "exactly one of pin_file and pin_env"},
      {"sessions out of range", R"("max_sessions": 8)", R"("max_sessions": 0)",
       "hsm.max_sessions must be between"},
      {"sessions wrong type", R"("max_sessions": 8)", R"("max_sessions": "8")",
       "hsm.max_sessions must be an integer"},
      {"short genesis", kGenesis, "0x1234", "genesis_hash must be 32 bytes"},
      {"genesis not hex", kGenesis, std::string(kGenesis).replace(2, 1, "z"),
       "genesis_hash must be 32 bytes"},
      {"unslashable allow entry", R"(["para"])", R"(["audi"])", "allow_unrecognised entries"},
      {"negative delete guard", "3600", "-1", "keys.delete_guard_seconds must be between"},
      {"hsm not an object", R"("hsm": {)", R"("hsm": [], "x": {)", "hsm must be a mapping"},
      {"not YAML", "{", "", "not valid YAML"},
      {"duplicate field", R"("token_label": "signer",)",
       R"("token_label": "signer", "token_label": "x",)", "duplicate field hsm.token_label"},
  };
  for (const RejectCase& test_case : cases) {
    std::string text = ValidConfig();
    const size_t at = text.find(test_case.from);
    ASSERT_NE(at, std::string::npos) << test_case.name;
    text.replace(at, test_case.from.size(), test_case.to);
    auto config = ParseSignerConfig(text, "/base");
    ASSERT_FALSE(config.ok()) << test_case.name;
    EXPECT_EQ(config.status().code(), base::StatusCode::kInvalidArgument) << test_case.name;
    EXPECT_NE(config.status().message().find(test_case.expected_message_part), std::string::npos)
        << test_case.name << ": " << config.status().message();
  }
}

TEST(SignerConfigTest, MissingFileIsNotFound) {
  auto config = LoadSignerConfig("/nonexistent/signer.json");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), base::StatusCode::kNotFound);
}

std::string ServerConfigText(const std::string& server_body) {
  return std::string("signer_id: s\nhsm: {module: m.so, token_label: t, pin_env: P}\n") +
         "history: {data_dir: h, genesis_hash: \"" + kGenesis + "\"}\nserver:\n" + server_body;
}

constexpr char kServerBody[] = R"(  listen: "127.0.0.1:0"
  tls: {cert_file: server.pem, key_file: server.key, client_ca_file: /pki/ca.pem}
  policy_file: policy.yaml
  audit_log: audit.jsonl
  max_in_flight: 64
  worker_threads: 2
)";

TEST(SignerConfigTest, ParsesTheServerSection) {
  auto config = ParseSignerConfig(ServerConfigText(kServerBody), "/etc/signer");
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_TRUE(config->server.has_value());
  EXPECT_EQ(config->server->listen, "127.0.0.1:0");
  EXPECT_EQ(config->server->tls.cert_file, "/etc/signer/server.pem");
  EXPECT_EQ(config->server->tls.client_ca_file, "/pki/ca.pem");
  EXPECT_EQ(config->server->policy_file, "/etc/signer/policy.yaml");
  EXPECT_EQ(config->server->audit_log, "/etc/signer/audit.jsonl");
  EXPECT_EQ(config->server->max_in_flight, 64u);
  EXPECT_EQ(config->server->worker_threads, 2u);
  EXPECT_EQ(config->server->max_deadline_ms, 10'000);
}

TEST(SignerConfigTest, RejectsBadServerSections) {
  const RejectCase cases[] = {
      {"no port", R"("127.0.0.1:0")", R"("127.0.0.1")", "server.listen must be HOST:PORT"},
      {"port too big", R"("127.0.0.1:0")", R"("127.0.0.1:70000")", "server.listen"},
      {"no tls",
       "  tls: {cert_file: server.pem, key_file: server.key, client_ca_file: /pki/ca.pem}\n", "",
       "server.tls is required"},
      {"tls missing ca", ", client_ca_file: /pki/ca.pem", "",
       "server.tls.client_ca_file is required"},
      {"unknown tls field", "key_file: server.key", "key_file: server.key, insecure: true",
       "unknown field server.tls.insecure"},
      {"unknown server field", "worker_threads: 2", "worker_threads: 2\n  plaintext: true",
       "unknown field server.plaintext"},
      {"zero in flight", "max_in_flight: 64", "max_in_flight: 0", "server.max_in_flight"},
      {"no audit log", "  audit_log: audit.jsonl\n", "", "server.audit_log is required"},
  };
  for (const RejectCase& test_case : cases) {
    std::string body = kServerBody;
    const size_t at = body.find(test_case.from);
    ASSERT_NE(at, std::string::npos) << test_case.name;
    body.replace(at, test_case.from.size(), test_case.to);
    auto config = ParseSignerConfig(ServerConfigText(body), "/base");
    ASSERT_FALSE(config.ok()) << test_case.name;
    EXPECT_NE(config.status().message().find(test_case.expected_message_part), std::string::npos)
        << test_case.name << ": " << config.status().message();
  }
}

constexpr char kUplinkBody[] = R"(  uplink:
    gateway: "gw.example:7444"
    ca_file: gateway-ca.pem
    cert_file: signer.pem
    key_file: signer.key
)";

TEST(SignerConfigTest, ParsesTheUplinkWithDefaults) {
  auto config =
      ParseSignerConfig(ServerConfigText(std::string(kServerBody) + kUplinkBody), "/etc/signer");
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_TRUE(config->server->uplink.has_value());
  const UplinkConfig& uplink = *config->server->uplink;
  EXPECT_EQ(uplink.gateway, "gw.example:7444");
  EXPECT_EQ(uplink.server_name, "gw.example") << "the gateway's host, when not given";
  EXPECT_EQ(uplink.ca_file, "/etc/signer/gateway-ca.pem");
  EXPECT_EQ(uplink.key_file, "/etc/signer/signer.key");
  EXPECT_EQ(uplink.keepalive_ms, 10'000);
  EXPECT_EQ(uplink.min_backoff_ms, 500);
  EXPECT_EQ(uplink.max_backoff_ms, 30'000);
  auto without = ParseSignerConfig(ServerConfigText(kServerBody), "/etc/signer");
  ASSERT_TRUE(without.ok());
  EXPECT_FALSE(without->server->uplink.has_value());
}

TEST(SignerConfigTest, RejectsBadUplinks) {
  const RejectCase cases[] = {
      {"no port", R"("gw.example:7444")", R"("gw.example")", "server.uplink.gateway"},
      {"no ca", "    ca_file: gateway-ca.pem\n", "", "server.uplink.ca_file is required"},
      {"no key", "    key_file: signer.key\n", "", "server.uplink.key_file is required"},
      {"unknown field", "    key_file: signer.key\n",
       "    key_file: signer.key\n    identity: gateway\n", "unknown field server.uplink.identity"},
      {"backoff upside down", "    key_file: signer.key\n",
       "    key_file: signer.key\n    min_backoff_ms: 5000\n    max_backoff_ms: 1000\n",
       "min_backoff_ms"},
      {"keepalive too short", "    key_file: signer.key\n",
       "    key_file: signer.key\n    keepalive_ms: 1\n", "server.uplink.keepalive_ms"},
  };
  for (const RejectCase& test_case : cases) {
    std::string body = kUplinkBody;
    const size_t at = body.find(test_case.from);
    ASSERT_NE(at, std::string::npos) << test_case.name;
    body.replace(at, test_case.from.size(), test_case.to);
    auto config = ParseSignerConfig(ServerConfigText(std::string(kServerBody) + body), "/base");
    ASSERT_FALSE(config.ok()) << test_case.name;
    EXPECT_NE(config.status().message().find(test_case.expected_message_part), std::string::npos)
        << test_case.name << ": " << config.status().message();
  }
}

TEST(SignerConfigTest, ParsesMetricsListen) {
  std::string body = kServerBody;
  body += "  metrics_listen: 127.0.0.1:9615\n";
  auto config = ParseSignerConfig(ServerConfigText(body), "/etc/signer");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->server->metrics_listen, "127.0.0.1:9615");
  auto bad = ParseSignerConfig(ServerConfigText(std::string(kServerBody) + "  metrics_listen: x\n"),
                               "/etc/signer");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("server.metrics_listen"), std::string::npos);
}

TEST(SignerConfigTest, MetricsListenAcceptsAPortAloneAHostNameAndIpv6) {
  for (const std::string listen : {"9615", "localhost:9615", "[::1]:0", "metrics.internal:9615"}) {
    auto config = ParseSignerConfig(
        ServerConfigText(std::string(kServerBody) + "  metrics_listen: \"" + listen + "\"\n"),
        "/etc/signer");
    ASSERT_TRUE(config.ok()) << listen << ": " << config.status().message();
    EXPECT_EQ(config->server->metrics_listen, listen);
  }
  for (const std::string listen : {"65536", "localhost:", ":9615", "localhost:http"}) {
    auto config = ParseSignerConfig(
        ServerConfigText(std::string(kServerBody) + "  metrics_listen: \"" + listen + "\"\n"),
        "/etc/signer");
    EXPECT_FALSE(config.ok()) << listen;
  }
}

TEST(SignerConfigTest, MetricsTlsNeedsCertificateAndKeyTogether) {
  const std::string listen = "  metrics_listen: 127.0.0.1:9615\n";
  auto config = ParseSignerConfig(
      ServerConfigText(std::string(kServerBody) + listen +
                       "  metrics_tls_cert: tls/metrics.crt\n  metrics_tls_key: tls/metrics.key\n"),
      "/etc/signer");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->server->metrics_tls_cert, "/etc/signer/tls/metrics.crt");
  EXPECT_EQ(config->server->metrics_tls_key, "/etc/signer/tls/metrics.key");

  auto plain =
      ParseSignerConfig(ServerConfigText(std::string(kServerBody) + listen), "/etc/signer");
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_TRUE(plain->server->metrics_tls_cert.empty());

  auto half = ParseSignerConfig(
      ServerConfigText(std::string(kServerBody) + listen + "  metrics_tls_cert: tls/metrics.crt\n"),
      "/etc/signer");
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.status().message().find("together"), std::string::npos);
  auto unknown = ParseSignerConfig(
      ServerConfigText(std::string(kServerBody) + listen + "  metrics_tls_ca: tls/ca.crt\n"),
      "/etc/signer");
  EXPECT_FALSE(unknown.ok());
}

std::string KafkaConfigText(const std::string& kafka_body) {
  return ServerConfigText(kServerBody) + "kafka:\n" + kafka_body;
}

TEST(SignerConfigTest, StandaloneWhenTheKafkaSectionIsAbsent) {
  auto config = ParseSignerConfig(ServerConfigText(kServerBody), "/etc/signer");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_FALSE(config->kafka.has_value());
}

TEST(SignerConfigTest, ParsesTheKafkaSection) {
  auto config = ParseSignerConfig(KafkaConfigText(R"(  brokers: 127.0.0.1:9092,127.0.0.1:9093
  claim_timeout_ms: 500
  properties:
    security.protocol: ssl
    ssl.ca.location: /pki/kafka-ca.pem
)"),
                                  "/etc/signer");
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_TRUE(config->kafka.has_value());
  EXPECT_EQ(config->kafka->brokers, "127.0.0.1:9092,127.0.0.1:9093");
  EXPECT_EQ(config->kafka->claims_topic, "signer-claims");
  EXPECT_EQ(config->kafka->audit_topic, "signer-audit");
  EXPECT_EQ(config->kafka->claim_timeout_ms, 500);
  EXPECT_EQ(config->kafka->catch_up_timeout_ms, 60'000);
  ASSERT_EQ(config->kafka->properties.size(), 2u);
  EXPECT_EQ(config->kafka->properties[0].first, "security.protocol");
  EXPECT_EQ(config->kafka->properties[1].second, "/pki/kafka-ca.pem");

  auto no_audit =
      ParseSignerConfig(KafkaConfigText("  brokers: b:9092\n  audit_topic: \"\"\n"), "/etc/signer");
  ASSERT_TRUE(no_audit.ok()) << no_audit.status().message();
  EXPECT_TRUE(no_audit->kafka->audit_topic.empty());
}

TEST(SignerConfigTest, RejectsBadKafkaSections) {
  const std::pair<std::string, std::string> cases[] = {
      {"  claims_topic: c\n", "kafka.brokers is required"},
      {"  brokers: b:9092\n  acks: 1\n", "unknown field kafka.acks"},
      {"  brokers: b:9092\n  properties: {acks: \"1\"}\n",
       "kafka.properties.acks is set by signerd"},
      {"  brokers: b:9092\n  properties: {enable.idempotence: \"false\"}\n",
       "kafka.properties.enable.idempotence"},
      {"  brokers: b:9092\n  claim_timeout_ms: 0\n", "kafka.claim_timeout_ms"},
      {"  brokers: b:9092\n  claims_topic: same\n  audit_topic: same\n", "must differ"},
      {"  brokers: b:9092\n  properties: [a, b]\n", "kafka.properties must be a mapping"},
  };
  for (const auto& [body, expected] : cases) {
    auto config = ParseSignerConfig(KafkaConfigText(body), "/etc/signer");
    ASSERT_FALSE(config.ok()) << body;
    EXPECT_NE(config.status().message().find(expected), std::string::npos)
        << body << ": " << config.status().message();
  }
}

// The PIN from hsm.pin_env is read, then overwritten where it lay and unset: neither a child nor
// /proc/PID/environ (the initial environment block) sees it afterwards. The token does not
// exist, so opening fails after the PIN was taken.
TEST(OpenCustodyTest, APinFromTheEnvironmentIsWipedAndUnset) {
  ASSERT_EQ(::setenv("SIGNER_TEST_HSM_PIN", "8472-9911", 1), 0);
  char* value = std::getenv("SIGNER_TEST_HSM_PIN");
  ASSERT_NE(value, nullptr);
  HsmConfig hsm;
  hsm.module = "/nonexistent/module.so";
  hsm.token_label = "t";
  hsm.pin_env = "SIGNER_TEST_HSM_PIN";
  auto custody = OpenCustody(hsm);
  EXPECT_FALSE(custody.ok());
  EXPECT_EQ(std::getenv("SIGNER_TEST_HSM_PIN"), nullptr);
  // glibc never frees the strings setenv made, so the bytes are still there to be read.
  EXPECT_EQ(std::string(value, 9), std::string(9, '\0'));
}

}  // namespace
}  // namespace signer
