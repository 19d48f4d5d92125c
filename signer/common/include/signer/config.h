// SignerConfig: the one configuration file signerd and `signerctl --config` read (strict YAML).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace signer {

// HsmConfig says where keys live. The PIN itself is never in the file: it comes from `pin_file`
// (mode 0600 or stricter) or the environment variable `pin_env`, exactly one of them.
struct HsmConfig {
  std::string module;       // PKCS#11 shared object, loaded with dlopen
  std::string token_label;  // token to use
  std::string pin_file;     // empty unless the PIN comes from a file
  std::string pin_env;      // empty unless the PIN comes from the environment
  size_t max_sessions = 4;  // PKCS#11 sessions open at once (one per signing thread)
  // disabled_refresh_ms bounds how long a key disabled by another process may still sign here
  // (keymgr::Pkcs11Config::disabled_refresh). One read of the disable markers must take well under
  // it: on a token where a read takes longer (SoftHSM2 with about 100,000 keys), every signature
  // would wait for a read of its own, so such a deployment must choose a longer bound.
  int64_t disabled_refresh_ms = 2000;
};

// HistoryConfig says where the slashing-protection history lives and which chain it protects.
struct HistoryConfig {
  std::string data_dir;                         // RocksDB directory; one signer process at a time
  std::array<uint8_t, 32> genesis_hash{};       // history for another chain is refused
  std::vector<std::string> allow_unrecognised;  // slashable key types allowed to sign unknown bytes
};

// KeysConfig holds key-lifecycle policy.
struct KeysConfig {
  // A key that signed within this many seconds is not deleted unless forced.
  int64_t delete_guard_seconds = int64_t{7} * 24 * 3600;
};

// ServerTlsConfig names the PEM files of signerd's mTLS listener. Client certificates are
// required and verified against `client_ca_file`; the server key file must be mode 0600 or
// stricter.
struct ServerTlsConfig {
  std::string cert_file;       // server certificate chain
  std::string key_file;        // server private key
  std::string client_ca_file;  // CA bundle client certificates must chain to
};

// UplinkConfig makes signerd dial out to a gateway and serve its calls over that stream
// (docs/gateway.md, "Signers that dial out"), for a signer that cannot accept connections. Every
// call over it is decided for the identity of the gateway's server certificate, which must chain
// to `ca_file` and carry `server_name`; the policy grants that identity what the node may do.
struct UplinkConfig {
  std::string gateway;              // HOST:PORT of the gateway's uplink listener
  std::string server_name;          // the name the gateway's certificate must carry; empty: HOST
  std::string ca_file;              // CA bundle the gateway's certificate chains to
  std::string cert_file;            // this signer's client certificate (chain)
  std::string key_file;             // its key, mode 0600 or stricter
  int64_t keepalive_ms = 10'000;    // ping interval; an unanswered ping ends the stream
  int64_t min_backoff_ms = 500;     // first redial delay (jittered, doubling)
  int64_t max_backoff_ms = 30'000;  // longest redial delay
};

// ServerConfig is signerd's own section; signerctl ignores it.
struct ServerConfig {
  std::string listen;  // HOST:PORT; port 0 picks a free port (signerd prints the bound one)
  ServerTlsConfig tls;
  std::string policy_file;           // identity -> grants (docs/signerd.md)
  std::string audit_log;             // append-only hash-chained JSON lines
  size_t max_in_flight = 256;        // requests beyond this are shed with RESOURCE_EXHAUSTED
  size_t worker_threads = 4;         // threads running crypto, HSM and history calls
  int64_t max_deadline_ms = 10'000;  // a request with no or a longer deadline gets this one
  // Prometheus text exposition (GET /metrics); empty turns it off. PORT alone binds 127.0.0.1, so
  // the page is never exposed by accident; otherwise HOST:PORT with an IP, a host name (resolved at
  // start-up) or a bracketed IPv6. Port 0 picks a free port (signerd prints the bound one).
  std::string metrics_listen;
  // Both set: /metrics is served over TLS 1.3 with this certificate chain and key (PEM, the key
  // mode 0600 or stricter, as for `tls`); both empty: plain HTTP. One without the other is refused.
  std::string metrics_tls_cert;
  std::string metrics_tls_key;
  std::optional<UplinkConfig> uplink;  // present only for a signer that dials out to a gateway
};

// KafkaConfig turns on replicated protection (docs/kafka.md): claims go through a Kafka topic that
// every signer applies in the same order, and every decision is also published to an audit topic.
// Absent means standalone: the local RocksDB history decides alone.
struct KafkaConfig {
  std::string brokers;  // bootstrap servers, comma-separated HOST:PORT
  std::string claims_topic = "signer-claims";
  std::string audit_topic = "signer-audit";  // empty turns the audit stream off
  int64_t claim_timeout_ms = 2'000;          // a claim not applied by then gets UNAVAILABLE
  int64_t catch_up_timeout_ms = 60'000;      // not caught up by then: logged as an error, retrying
  // Extra librdkafka properties (for example security.protocol, ssl.ca.location), passed as they
  // are; ones the replication itself depends on (acks, idempotence) are refused.
  std::vector<std::pair<std::string, std::string>> properties;
};

// ThresholdAgentConfig names one key agent a coordinator signs through.
struct ThresholdAgentConfig {
  std::string name;         // for logs and metrics
  std::string address;      // HOST:PORT of the agent's mTLS listener
  std::string server_name;  // name its certificate must carry; empty means the host of `address`
};

// ThresholdConfig makes signerd a threshold coordinator (docs/threshold.md): keys held as FROST
// shares by these agents sign through them, beside the HSM's keys. The coordinator connects with
// its own client certificate; every agent's server certificate must chain to `agent_ca_file`.
struct ThresholdConfig {
  std::string cert_file;       // the coordinator's client certificate (chain)
  std::string key_file;        // its private key, mode 0600 or stricter
  std::string agent_ca_file;   // CA bundle the agents' certificates chain to
  int64_t timeout_ms = 2'000;  // one round (commit or share) waits at most this long per agent
  std::vector<ThresholdAgentConfig> agents;
};

// SignerConfig is the parsed file. Relative paths in it are resolved against the file's directory,
// so a config and its PIN file can move together.
struct SignerConfig {
  std::string signer_id;  // names this signer in logs, audit events and (later) Kafka claims
  HsmConfig hsm;
  HistoryConfig history;
  KeysConfig keys;
  std::optional<ServerConfig> server;        // present only in signerd's configuration
  std::optional<KafkaConfig> kafka;          // present only for redundant signers
  std::optional<ThresholdConfig> threshold;  // present only for a threshold coordinator
};

// ParseSignerConfig parses YAML (JSON is YAML too). `base_dir` resolves relative paths. Fails with
// kInvalidArgument naming the offending field on malformed text, an unknown field (a typo must not
// silently become a default), a missing required field, a wrong type, or a bad value.
base::Result<SignerConfig> ParseSignerConfig(std::string_view json_text, std::string_view base_dir);

// LoadSignerConfig reads and parses `path` (at most 1 MiB). Fails with kNotFound if it cannot be
// read, otherwise as ParseSignerConfig.
base::Result<SignerConfig> LoadSignerConfig(const std::string& path);

}  // namespace signer
