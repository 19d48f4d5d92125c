// The gateway's configuration file: the node's local endpoint, the pool of signers and its rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tls/credentials.h"
#include "tls/grpc_credentials.h"

namespace gateway {

// UpstreamConfig is one signer of the pool.
struct UpstreamConfig {
  std::string name;     // in logs and metrics
  std::string address;  // "host:port" of its gRPC listener
  // The name its server certificate is checked against; empty: the host part of `address`.
  std::string server_name;
  // A signer that dials in (docs/gateway.md): no address; it connects to `uplink_listen` with a
  // client certificate whose identity (tls/certificate.h rule) is `identity`.
  bool dial_in = false;
  std::string identity;
};

// GatewayConfig is the whole file (docs/gateway.md lists every field).
struct GatewayConfig {
  // The node's endpoint: exactly one of a Unix socket (file permissions decide who may call) or a
  // loopback TCP listener with mutual TLS.
  std::string unix_socket;
  uint32_t socket_mode = 0660;
  std::string tcp_listen;
  std::optional<tls::ServerCredentialFiles> listen_tls;
  // listen.tls.identities: the client identities (tls/certificate.h rule) that may call over TCP.
  // Empty: any certificate of listen.tls.client_ca, which is right only for a CA of this node's
  // certificates alone.
  std::vector<std::string> listen_identities;

  // How the gateway authenticates to the signers: the signers' policy sees this identity.
  tls::ClientCredentialFiles upstream_tls;
  std::vector<UpstreamConfig> upstreams;

  // The pool's history. Empty: the first history a healthy signer reports is adopted and written
  // to state_dir/pool-history, and from then on only that history is served (trust on first use,
  // as SSH does with host keys); a restart never adopts another one by itself.
  std::string history_id;
  std::string state_dir;

  int64_t health_interval_ms = 500;     // how often every signer is asked for health and history
  int64_t upstream_timeout_ms = 5'000;  // longest call to a signer when the node sets no deadline
  int64_t cache_ttl_ms = 2'000;         // how long a cached key look-up answers
  // Hedging: a signing call not answered after hedge_delay_ms is also sent to the next eligible
  // signer, and the first answer wins (the pool shares one history, so the second signer judges
  // the same payload by the same record: a re-sign of the same statement, never a conflict).
  // 0 turns it off. At most hedge_budget_percent of signing calls are hedged.
  int64_t hedge_delay_ms = 0;
  int64_t hedge_budget_percent = 10;
  std::string metrics_listen;  // empty: no /metrics
  bool log_json = false;       // log_format: json (one JSON object per line) or text (default)

  // Where signers that dial in connect (HOST:PORT, mutual TLS with `uplink_tls`: the gateway's
  // server certificate and the CA of the signers' client certificates). Required when an upstream
  // has `dial_in: true`, refused otherwise.
  std::string uplink_listen;
  std::optional<tls::ServerCredentialFiles> uplink_tls;
  int64_t uplink_keepalive_ms = 10'000;  // ping each dialed-in signer; no answer ends its stream
};

// ParseGatewayConfig reads YAML `text`; relative paths are resolved against `base_dir`. Unknown,
// duplicate or mistyped fields, no endpoint or two, an empty pool, duplicate upstream names, and
// neither history_id nor state_dir, a dial-in upstream with an address or without an identity
// (or two with one identity), and uplink settings without a dial-in upstream (or the reverse) fail
// with kInvalidArgument naming the field.
base::Result<GatewayConfig> ParseGatewayConfig(std::string_view text, std::string_view base_dir);
// LoadGatewayConfig reads and parses the file at `path` (at most 1 MiB).
base::Result<GatewayConfig> LoadGatewayConfig(const std::string& path);

}  // namespace gateway
