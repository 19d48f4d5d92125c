// Strict parsing of the YAML signer configuration: unknown, duplicate or mistyped fields fail.
#include "signer/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "base/hex.h"
#include "signer/config_section.h"

namespace signer {
namespace {

using base::Result;
using base::Status;

constexpr size_t kMaxConfigBytes = 1 << 20;

// Key types the protection engine treats as slashable; only these may be listed in
// allow_unrecognised, because the policy means nothing for the others.
const std::set<std::string>& SlashableKeyTypes() {
  static const std::set<std::string> kTypes = {"babe", "gran", "beef", "para"};
  return kTypes;
}

Status ParseHsm(const YAML::Node& node, std::string_view base_dir, HsmConfig& out) {
  ConfigSection section(node, "hsm");
  SIGNER_RETURN_IF_ERROR(section.Check());
  SIGNER_RETURN_IF_ERROR(section.String("module", true, out.module));
  SIGNER_RETURN_IF_ERROR(section.String("token_label", true, out.token_label));
  SIGNER_RETURN_IF_ERROR(section.String("pin_file", false, out.pin_file));
  SIGNER_RETURN_IF_ERROR(section.String("pin_env", false, out.pin_env));
  int64_t sessions = static_cast<int64_t>(out.max_sessions);
  SIGNER_RETURN_IF_ERROR(section.Integer("max_sessions", 1, 256, sessions));
  out.max_sessions = static_cast<size_t>(sessions);
  SIGNER_RETURN_IF_ERROR(
      section.Integer("disabled_refresh_ms", 0, 3'600'000, out.disabled_refresh_ms));
  SIGNER_RETURN_IF_ERROR(section.RejectUnknown());
  if (out.pin_file.empty() == out.pin_env.empty()) {
    return Status::InvalidArgument("hsm needs exactly one of pin_file and pin_env");
  }
  out.module = ResolveConfigPath(out.module, base_dir);
  out.pin_file = ResolveConfigPath(out.pin_file, base_dir);
  return Status::Ok();
}

Status ParseHistory(const YAML::Node& node, std::string_view base_dir, HistoryConfig& out) {
  ConfigSection section(node, "history");
  SIGNER_RETURN_IF_ERROR(section.Check());
  SIGNER_RETURN_IF_ERROR(section.String("data_dir", true, out.data_dir));
  std::string genesis_text;
  SIGNER_RETURN_IF_ERROR(section.String("genesis_hash", true, genesis_text));
  auto genesis = base::HexDecode(genesis_text);
  if (!genesis.ok() || genesis->size() != out.genesis_hash.size()) {
    return Status::InvalidArgument("history.genesis_hash must be 32 bytes of hex");
  }
  std::copy(genesis->begin(), genesis->end(), out.genesis_hash.begin());
  if (std::optional<YAML::Node> allow = section.Take("allow_unrecognised"); allow) {
    if (!allow->IsSequence()) {
      return Status::InvalidArgument("history.allow_unrecognised must be a list of key types");
    }
    for (const YAML::Node& entry : *allow) {
      if (!entry.IsScalar() || !SlashableKeyTypes().contains(entry.Scalar())) {
        return Status::InvalidArgument(
            "history.allow_unrecognised entries must be one of babe, gran, beef, para");
      }
      out.allow_unrecognised.push_back(entry.Scalar());
    }
  }
  SIGNER_RETURN_IF_ERROR(section.RejectUnknown());
  out.data_dir = ResolveConfigPath(out.data_dir, base_dir);
  return Status::Ok();
}

Status ParseKeys(const YAML::Node& node, KeysConfig& out) {
  ConfigSection section(node, "keys");
  SIGNER_RETURN_IF_ERROR(section.Check());
  SIGNER_RETURN_IF_ERROR(section.Integer("delete_guard_seconds", 0, int64_t{10} * 365 * 24 * 3600,
                                         out.delete_guard_seconds));
  return section.RejectUnknown();
}

Status ParseServerTls(const YAML::Node& node, std::string_view base_dir, ServerTlsConfig& out) {
  ConfigSection section(node, "server.tls");
  SIGNER_RETURN_IF_ERROR(section.Check());
  SIGNER_RETURN_IF_ERROR(section.String("cert_file", true, out.cert_file));
  SIGNER_RETURN_IF_ERROR(section.String("key_file", true, out.key_file));
  SIGNER_RETURN_IF_ERROR(section.String("client_ca_file", true, out.client_ca_file));
  SIGNER_RETURN_IF_ERROR(section.RejectUnknown());
  out.cert_file = ResolveConfigPath(out.cert_file, base_dir);
  out.key_file = ResolveConfigPath(out.key_file, base_dir);
  out.client_ca_file = ResolveConfigPath(out.client_ca_file, base_dir);
  return Status::Ok();
}

// ValidListen accepts HOST:PORT with a numeric port up to 65535; HOST may be a bracketed IPv6.
bool ValidListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return false;
  }
  const std::string port = listen.substr(colon + 1);
  int value = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  return error == std::errc() && end == port.data() + port.size() && value >= 0 && value <= 65535;
}

// ValidMetricsListen also accepts a bare PORT, which the metrics listener binds on loopback.
bool ValidMetricsListen(const std::string& listen) {
  int value = 0;
  const auto [end, error] = std::from_chars(listen.data(), listen.data() + listen.size(), value);
  if (!listen.empty() && error == std::errc() && end == listen.data() + listen.size()) {
    return value >= 0 && value <= 65535;
  }
  return ValidListen(listen);
}

Status ParseUplink(const YAML::Node& node, std::string_view base_dir, UplinkConfig& out) {
  ConfigSection section(node, "server.uplink");
  SIGNER_RETURN_IF_ERROR(section.Check());
  SIGNER_RETURN_IF_ERROR(section.String("gateway", true, out.gateway));
  SIGNER_RETURN_IF_ERROR(section.String("server_name", false, out.server_name));
  SIGNER_RETURN_IF_ERROR(section.String("ca_file", true, out.ca_file));
  SIGNER_RETURN_IF_ERROR(section.String("cert_file", true, out.cert_file));
  SIGNER_RETURN_IF_ERROR(section.String("key_file", true, out.key_file));
  SIGNER_RETURN_IF_ERROR(section.Integer("keepalive_ms", 100, 600'000, out.keepalive_ms));
  SIGNER_RETURN_IF_ERROR(section.Integer("min_backoff_ms", 10, 600'000, out.min_backoff_ms));
  SIGNER_RETURN_IF_ERROR(section.Integer("max_backoff_ms", 10, 3'600'000, out.max_backoff_ms));
  SIGNER_RETURN_IF_ERROR(section.RejectUnknown());
  if (!ValidListen(out.gateway)) {
    return Status::InvalidArgument("server.uplink.gateway must be HOST:PORT");
  }
  if (out.min_backoff_ms > out.max_backoff_ms) {
    return Status::InvalidArgument(
        "server.uplink.min_backoff_ms must not be above server.uplink.max_backoff_ms");
  }
  if (out.server_name.empty()) {
    out.server_name = out.gateway.substr(0, out.gateway.rfind(':'));
  }
  out.ca_file = ResolveConfigPath(out.ca_file, base_dir);
  out.cert_file = ResolveConfigPath(out.cert_file, base_dir);
  out.key_file = ResolveConfigPath(out.key_file, base_dir);
  return Status::Ok();
}

Status ParseServer(const YAML::Node& node, std::string_view base_dir, ServerConfig& out) {
  ConfigSection section(node, "server");
  SIGNER_RETURN_IF_ERROR(section.Check());
  SIGNER_RETURN_IF_ERROR(section.String("listen", true, out.listen));
  if (!ValidListen(out.listen)) {
    return Status::InvalidArgument("server.listen must be HOST:PORT");
  }
  std::optional<YAML::Node> tls = section.Take("tls");
  if (!tls) {
    return Status::InvalidArgument("server.tls is required: signerd serves mutual TLS only");
  }
  SIGNER_RETURN_IF_ERROR(ParseServerTls(*tls, base_dir, out.tls));
  SIGNER_RETURN_IF_ERROR(section.String("policy_file", true, out.policy_file));
  SIGNER_RETURN_IF_ERROR(section.String("audit_log", true, out.audit_log));
  int64_t in_flight = static_cast<int64_t>(out.max_in_flight);
  SIGNER_RETURN_IF_ERROR(section.Integer("max_in_flight", 1, 100000, in_flight));
  out.max_in_flight = static_cast<size_t>(in_flight);
  int64_t workers = static_cast<int64_t>(out.worker_threads);
  SIGNER_RETURN_IF_ERROR(section.Integer("worker_threads", 1, 256, workers));
  out.worker_threads = static_cast<size_t>(workers);
  SIGNER_RETURN_IF_ERROR(section.Integer("max_deadline_ms", 1, 600000, out.max_deadline_ms));
  SIGNER_RETURN_IF_ERROR(section.String("metrics_listen", false, out.metrics_listen));
  if (!out.metrics_listen.empty() && !ValidMetricsListen(out.metrics_listen)) {
    return Status::InvalidArgument("server.metrics_listen must be PORT or HOST:PORT");
  }
  SIGNER_RETURN_IF_ERROR(section.String("metrics_tls_cert", false, out.metrics_tls_cert));
  SIGNER_RETURN_IF_ERROR(section.String("metrics_tls_key", false, out.metrics_tls_key));
  // Half a TLS setting would silently serve plain HTTP; refusing it keeps the choice explicit.
  if (out.metrics_tls_cert.empty() != out.metrics_tls_key.empty()) {
    return Status::InvalidArgument(
        "server.metrics_tls_cert and server.metrics_tls_key must be set together");
  }
  if (std::optional<YAML::Node> uplink = section.Take("uplink"); uplink) {
    out.uplink.emplace();
    SIGNER_RETURN_IF_ERROR(ParseUplink(*uplink, base_dir, *out.uplink));
  }
  SIGNER_RETURN_IF_ERROR(section.RejectUnknown());
  out.policy_file = ResolveConfigPath(out.policy_file, base_dir);
  out.audit_log = ResolveConfigPath(out.audit_log, base_dir);
  if (!out.metrics_tls_cert.empty()) {
    out.metrics_tls_cert = ResolveConfigPath(out.metrics_tls_cert, base_dir);
    out.metrics_tls_key = ResolveConfigPath(out.metrics_tls_key, base_dir);
  }
  return Status::Ok();
}

// These librdkafka properties carry the replication's guarantees; a config must not weaken them.
bool IsReservedKafkaProperty(const std::string& name) {
  static const std::set<std::string> kReserved = {"acks",
                                                  "request.required.acks",
                                                  "enable.idempotence",
                                                  "bootstrap.servers",
                                                  "metadata.broker.list",
                                                  "enable.auto.commit",
                                                  "group.id",
                                                  "isolation.level",
                                                  "max.in.flight.requests.per.connection",
                                                  "max.in.flight",
                                                  "enable.partition.eof"};
  return kReserved.contains(name);
}

Status ParseKafka(const YAML::Node& node, KafkaConfig& out) {
  ConfigSection section(node, "kafka");
  SIGNER_RETURN_IF_ERROR(section.Check());
  SIGNER_RETURN_IF_ERROR(section.String("brokers", true, out.brokers));
  SIGNER_RETURN_IF_ERROR(section.String("claims_topic", false, out.claims_topic));
  if (std::optional<YAML::Node> audit = section.Take("audit_topic"); audit) {
    if (!audit->IsNull() && !audit->IsScalar()) {
      return Status::InvalidArgument("kafka.audit_topic must be a string (empty turns it off)");
    }
    out.audit_topic = audit->IsScalar() ? audit->Scalar() : std::string();
  }
  if (out.claims_topic == out.audit_topic) {
    return Status::InvalidArgument("kafka.claims_topic and kafka.audit_topic must differ");
  }
  SIGNER_RETURN_IF_ERROR(section.Integer("claim_timeout_ms", 1, 600000, out.claim_timeout_ms));
  SIGNER_RETURN_IF_ERROR(
      section.Integer("catch_up_timeout_ms", 1, 86'400'000, out.catch_up_timeout_ms));
  if (std::optional<YAML::Node> properties = section.Take("properties"); properties) {
    ConfigSection props(*properties, "kafka.properties");
    SIGNER_RETURN_IF_ERROR(props.Check());
    for (const auto& entry : *properties) {
      const std::string name = entry.first.Scalar();
      if (!entry.second.IsScalar()) {
        return Status::InvalidArgument("kafka.properties." + name + " must be a string");
      }
      if (IsReservedKafkaProperty(name)) {
        return Status::InvalidArgument("kafka.properties." + name +
                                       " is set by signerd and cannot be overridden");
      }
      out.properties.emplace_back(name, entry.second.Scalar());
    }
  }
  return section.RejectUnknown();
}

Status ParseThresholdAgent(const YAML::Node& node, const std::string& path,
                           ThresholdAgentConfig& out) {
  ConfigSection section(node, path);
  SIGNER_RETURN_IF_ERROR(section.Check());
  SIGNER_RETURN_IF_ERROR(section.String("name", true, out.name));
  SIGNER_RETURN_IF_ERROR(section.String("address", true, out.address));
  SIGNER_RETURN_IF_ERROR(section.String("server_name", false, out.server_name));
  SIGNER_RETURN_IF_ERROR(section.RejectUnknown());
  if (!ValidListen(out.address)) {
    return Status::InvalidArgument(path + ".address must be HOST:PORT");
  }
  if (out.server_name.empty()) {
    out.server_name = out.address.substr(0, out.address.rfind(':'));
  }
  return Status::Ok();
}

Status ParseThreshold(const YAML::Node& node, std::string_view base_dir, ThresholdConfig& out) {
  ConfigSection section(node, "threshold");
  SIGNER_RETURN_IF_ERROR(section.Check());
  SIGNER_RETURN_IF_ERROR(section.String("cert_file", true, out.cert_file));
  SIGNER_RETURN_IF_ERROR(section.String("key_file", true, out.key_file));
  SIGNER_RETURN_IF_ERROR(section.String("agent_ca_file", true, out.agent_ca_file));
  SIGNER_RETURN_IF_ERROR(section.Integer("timeout_ms", 10, 60'000, out.timeout_ms));
  std::optional<YAML::Node> agents = section.Take("agents");
  SIGNER_RETURN_IF_ERROR(section.RejectUnknown());
  if (!agents || !agents->IsSequence() || agents->size() == 0) {
    return Status::InvalidArgument("threshold.agents must be a non-empty list");
  }
  for (size_t i = 0; i < agents->size(); ++i) {
    ThresholdAgentConfig agent;
    SIGNER_RETURN_IF_ERROR(
        ParseThresholdAgent((*agents)[i], "threshold.agents[" + std::to_string(i) + "]", agent));
    for (const ThresholdAgentConfig& earlier : out.agents) {
      if (earlier.name == agent.name || earlier.address == agent.address) {
        return Status::InvalidArgument("threshold.agents: " + agent.name + " is listed twice");
      }
    }
    out.agents.push_back(std::move(agent));
  }
  out.cert_file = ResolveConfigPath(out.cert_file, base_dir);
  out.key_file = ResolveConfigPath(out.key_file, base_dir);
  out.agent_ca_file = ResolveConfigPath(out.agent_ca_file, base_dir);
  return Status::Ok();
}

Result<SignerConfig> ParseDocument(const YAML::Node& document, std::string_view base_dir) {
  SignerConfig config;
  ConfigSection root(document, "");
  SIGNER_RETURN_IF_ERROR(root.Check());
  SIGNER_RETURN_IF_ERROR(root.String("signer_id", true, config.signer_id));
  std::optional<YAML::Node> hsm = root.Take("hsm");
  if (!hsm) {
    return Status::InvalidArgument("hsm is required");
  }
  SIGNER_RETURN_IF_ERROR(ParseHsm(*hsm, base_dir, config.hsm));
  std::optional<YAML::Node> history = root.Take("history");
  if (!history) {
    return Status::InvalidArgument("history is required");
  }
  SIGNER_RETURN_IF_ERROR(ParseHistory(*history, base_dir, config.history));
  if (std::optional<YAML::Node> keys = root.Take("keys"); keys) {
    SIGNER_RETURN_IF_ERROR(ParseKeys(*keys, config.keys));
  }
  if (std::optional<YAML::Node> server = root.Take("server"); server) {
    config.server.emplace();
    SIGNER_RETURN_IF_ERROR(ParseServer(*server, base_dir, *config.server));
  }
  if (std::optional<YAML::Node> kafka = root.Take("kafka"); kafka) {
    config.kafka.emplace();
    SIGNER_RETURN_IF_ERROR(ParseKafka(*kafka, *config.kafka));
  }
  if (std::optional<YAML::Node> threshold = root.Take("threshold"); threshold) {
    config.threshold.emplace();
    SIGNER_RETURN_IF_ERROR(ParseThreshold(*threshold, base_dir, *config.threshold));
  }
  SIGNER_RETURN_IF_ERROR(root.RejectUnknown());
  return config;
}

}  // namespace

Result<SignerConfig> ParseSignerConfig(std::string_view text, std::string_view base_dir) {
  // yaml-cpp reports malformed input by throwing; nothing may escape this module boundary.
  try {
    const YAML::Node document = YAML::Load(std::string(text));
    return ParseDocument(document, base_dir);
  } catch (const YAML::Exception& error) {
    return Status::InvalidArgument("config is not valid YAML (line " +
                                   std::to_string(error.mark.line + 1) + ")");
  }
}

Result<SignerConfig> LoadSignerConfig(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Status::NotFound("cannot read config file " + path);
  }
  std::string text;
  text.resize(kMaxConfigBytes + 1);
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(file.gcount()));
  if (text.size() > kMaxConfigBytes) {
    return Status::InvalidArgument("config file is larger than 1 MiB");
  }
  const std::filesystem::path base = std::filesystem::absolute(path).parent_path();
  return ParseSignerConfig(text, base.string());
}

}  // namespace signer
