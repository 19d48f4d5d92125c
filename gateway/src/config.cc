// Strict parsing of the gateway's YAML configuration (unknown, duplicate or mistyped fields fail).
#include "gateway/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <utility>

#include "base/file_io.h"
#include "signer/config_section.h"

namespace gateway {
namespace {

using base::Result;
using base::Status;
using signer::ConfigSection;
using signer::IsQuoted;
using signer::ResolveConfigPath;

// ParseServerTls reads a listener's TLS files; with `identities`, also the optional list of the
// client identities it admits.
Status ParseServerTls(const YAML::Node& node, std::string_view base_dir,
                      tls::ServerCredentialFiles& out, const std::string& path,
                      std::vector<std::string>* identities = nullptr) {
  ConfigSection section(node, path);
  SIGNER_RETURN_IF_ERROR(section.Check());
  std::string cert, key, client_ca;
  SIGNER_RETURN_IF_ERROR(section.String("cert", true, cert));
  SIGNER_RETURN_IF_ERROR(section.String("key", true, key));
  SIGNER_RETURN_IF_ERROR(section.String("client_ca", true, client_ca));
  if (identities != nullptr) {
    if (std::optional<YAML::Node> list = section.Take("identities")) {
      if (!list->IsSequence() || list->size() == 0) {
        return Status::InvalidArgument(path + ".identities must be a non-empty list of names");
      }
      for (const YAML::Node& entry : *list) {
        if (!entry.IsScalar() || entry.Scalar().empty()) {
          return Status::InvalidArgument(path + ".identities entries must be non-empty names");
        }
        identities->push_back(entry.Scalar());
      }
    }
  }
  SIGNER_RETURN_IF_ERROR(section.RejectUnknown());
  out.certificate_chain = ResolveConfigPath(cert, base_dir);
  out.private_key = ResolveConfigPath(key, base_dir);
  out.client_ca = ResolveConfigPath(client_ca, base_dir);
  return Status::Ok();
}

Status ParseListen(const YAML::Node& node, std::string_view base_dir, GatewayConfig& out) {
  ConfigSection section(node, "listen");
  SIGNER_RETURN_IF_ERROR(section.Check());
  SIGNER_RETURN_IF_ERROR(section.String("unix_socket", false, out.unix_socket));
  out.unix_socket = ResolveConfigPath(out.unix_socket, base_dir);
  std::string mode_text;
  SIGNER_RETURN_IF_ERROR(section.String("socket_mode", false, mode_text));
  if (!mode_text.empty()) {
    // Written as octal text ("0660"): YAML would read a bare 0660 as decimal 660.
    if (mode_text.size() != 4 || mode_text[0] != '0' ||
        mode_text.find_first_not_of("01234567") != std::string::npos) {
      return Status::InvalidArgument("listen.socket_mode must be four octal digits, e.g. \"0660\"");
    }
    out.socket_mode = static_cast<uint32_t>(std::stoul(mode_text, nullptr, 8));
    if ((out.socket_mode & 0007) != 0) {
      return Status::InvalidArgument("listen.socket_mode must not let others connect");
    }
  }
  SIGNER_RETURN_IF_ERROR(section.String("tcp", false, out.tcp_listen));
  if (std::optional<YAML::Node> tls_node = section.Take("tls")) {
    tls::ServerCredentialFiles files;
    SIGNER_RETURN_IF_ERROR(
        ParseServerTls(*tls_node, base_dir, files, "listen.tls", &out.listen_identities));
    out.listen_tls = std::move(files);
  }
  SIGNER_RETURN_IF_ERROR(section.RejectUnknown());
  if (out.unix_socket.empty() == out.tcp_listen.empty()) {
    return Status::InvalidArgument("listen needs exactly one of unix_socket and tcp");
  }
  if (!out.tcp_listen.empty()) {
    // The node is beside the gateway; a TCP endpoint reachable from elsewhere would let anyone
    // with a client certificate of that CA sign through it.
    if (!out.tcp_listen.starts_with("127.0.0.1:") && !out.tcp_listen.starts_with("[::1]:")) {
      return Status::InvalidArgument("listen.tcp must be 127.0.0.1:PORT or [::1]:PORT");
    }
    if (!out.listen_tls) {
      return Status::InvalidArgument("listen.tcp needs listen.tls (mutual TLS)");
    }
  } else if (out.listen_tls) {
    return Status::InvalidArgument("listen.tls applies to listen.tcp only");
  }
  return Status::Ok();
}

Status ParseUpstreamTls(const YAML::Node& node, std::string_view base_dir,
                        tls::ClientCredentialFiles& out) {
  ConfigSection section(node, "upstream_tls");
  SIGNER_RETURN_IF_ERROR(section.Check());
  std::string ca, cert, key;
  SIGNER_RETURN_IF_ERROR(section.String("ca", true, ca));
  SIGNER_RETURN_IF_ERROR(section.String("cert", true, cert));
  SIGNER_RETURN_IF_ERROR(section.String("key", true, key));
  SIGNER_RETURN_IF_ERROR(section.RejectUnknown());
  out.server_ca = ResolveConfigPath(ca, base_dir);
  out.certificate = ResolveConfigPath(cert, base_dir);
  out.private_key = ResolveConfigPath(key, base_dir);
  return Status::Ok();
}

Status ParseUpstreams(const YAML::Node& node, std::vector<UpstreamConfig>& out) {
  if (!node.IsSequence() || node.size() == 0) {
    return Status::InvalidArgument("upstreams must be a non-empty list");
  }
  std::set<std::string> names;
  std::set<std::string> identities;
  for (size_t i = 0; i < node.size(); ++i) {
    ConfigSection section(node[i], "upstreams[" + std::to_string(i) + "]");
    SIGNER_RETURN_IF_ERROR(section.Check());
    UpstreamConfig upstream;
    SIGNER_RETURN_IF_ERROR(section.String("name", true, upstream.name));
    SIGNER_RETURN_IF_ERROR(section.String("address", false, upstream.address));
    SIGNER_RETURN_IF_ERROR(section.String("server_name", false, upstream.server_name));
    if (std::optional<YAML::Node> dial_in = section.Take("dial_in")) {
      if (!dial_in->IsScalar() || IsQuoted(*dial_in) ||
          (dial_in->Scalar() != "true" && dial_in->Scalar() != "false")) {
        return Status::InvalidArgument(section.FieldPath("dial_in") + " must be true or false");
      }
      upstream.dial_in = dial_in->Scalar() == "true";
    }
    SIGNER_RETURN_IF_ERROR(section.String("identity", false, upstream.identity));
    SIGNER_RETURN_IF_ERROR(section.RejectUnknown());
    if (upstream.dial_in) {
      if (!upstream.address.empty() || !upstream.server_name.empty()) {
        return Status::InvalidArgument(section.FieldPath("address") +
                                       ": a signer that dials in has no address or server_name");
      }
      if (upstream.identity.empty()) {
        return Status::InvalidArgument(
            section.FieldPath("identity") +
            " is required when dial_in is true: the client certificate identity it dials in with");
      }
      if (!identities.insert(upstream.identity).second) {
        return Status::InvalidArgument("dial-in identity " + upstream.identity + " is used twice");
      }
    } else {
      if (upstream.address.empty()) {
        return Status::InvalidArgument(section.FieldPath("address") +
                                       " is required unless dial_in is true");
      }
      if (!upstream.identity.empty()) {
        return Status::InvalidArgument(section.FieldPath("identity") +
                                       " applies to a signer that dials in only");
      }
    }
    if (upstream.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_.") != std::string::npos ||
        upstream.name.size() > 64) {
      return Status::InvalidArgument(section.FieldPath("name") +
                                     " must be at most 64 letters, digits, '-', '_' or '.'");
    }
    if (!names.insert(upstream.name).second) {
      return Status::InvalidArgument("upstream name " + upstream.name + " is used twice");
    }
    out.push_back(std::move(upstream));
  }
  return Status::Ok();
}

}  // namespace

Result<GatewayConfig> ParseGatewayConfig(std::string_view text, std::string_view base_dir) {
  YAML::Node document;
  try {
    document = YAML::Load(std::string(text));
  } catch (const YAML::Exception& error) {
    return Status::InvalidArgument(std::string("config is not valid YAML: ") + error.what());
  }
  ConfigSection root(document, "");
  SIGNER_RETURN_IF_ERROR(root.Check());
  GatewayConfig config;
  std::optional<YAML::Node> listen = root.Take("listen");
  if (!listen) return Status::InvalidArgument("listen is required");
  SIGNER_RETURN_IF_ERROR(ParseListen(*listen, base_dir, config));
  std::optional<YAML::Node> upstream_tls = root.Take("upstream_tls");
  if (!upstream_tls) return Status::InvalidArgument("upstream_tls is required");
  SIGNER_RETURN_IF_ERROR(ParseUpstreamTls(*upstream_tls, base_dir, config.upstream_tls));
  std::optional<YAML::Node> upstreams = root.Take("upstreams");
  if (!upstreams) return Status::InvalidArgument("upstreams is required");
  SIGNER_RETURN_IF_ERROR(ParseUpstreams(*upstreams, config.upstreams));
  SIGNER_RETURN_IF_ERROR(root.String("history_id", false, config.history_id));
  SIGNER_RETURN_IF_ERROR(root.String("state_dir", false, config.state_dir));
  config.state_dir = ResolveConfigPath(config.state_dir, base_dir);
  SIGNER_RETURN_IF_ERROR(root.Integer("health_interval_ms", 50, 60'000, config.health_interval_ms));
  SIGNER_RETURN_IF_ERROR(
      root.Integer("upstream_timeout_ms", 100, 60'000, config.upstream_timeout_ms));
  SIGNER_RETURN_IF_ERROR(root.Integer("cache_ttl_ms", 0, 600'000, config.cache_ttl_ms));
  SIGNER_RETURN_IF_ERROR(root.Integer("hedge_delay_ms", 0, 60'000, config.hedge_delay_ms));
  SIGNER_RETURN_IF_ERROR(root.Integer("hedge_budget_percent", 0, 100, config.hedge_budget_percent));
  SIGNER_RETURN_IF_ERROR(root.String("metrics_listen", false, config.metrics_listen));
  std::string log_format;
  SIGNER_RETURN_IF_ERROR(root.String("log_format", false, log_format));
  if (!log_format.empty() && log_format != "text" && log_format != "json") {
    return Status::InvalidArgument("log_format must be text or json");
  }
  config.log_json = log_format == "json";
  SIGNER_RETURN_IF_ERROR(root.String("uplink_listen", false, config.uplink_listen));
  if (std::optional<YAML::Node> uplink_tls = root.Take("uplink_tls")) {
    tls::ServerCredentialFiles files;
    SIGNER_RETURN_IF_ERROR(ParseServerTls(*uplink_tls, base_dir, files, "uplink_tls"));
    config.uplink_tls = std::move(files);
  }
  SIGNER_RETURN_IF_ERROR(
      root.Integer("uplink_keepalive_ms", 100, 600'000, config.uplink_keepalive_ms));
  SIGNER_RETURN_IF_ERROR(root.RejectUnknown());
  const bool any_dial_in =
      std::any_of(config.upstreams.begin(), config.upstreams.end(),
                  [](const UpstreamConfig& upstream) { return upstream.dial_in; });
  if (any_dial_in != !config.uplink_listen.empty() ||
      config.uplink_listen.empty() != !config.uplink_tls) {
    return Status::InvalidArgument(
        "uplink_listen and uplink_tls go together, and with at least one upstream that has "
        "dial_in: true");
  }
  if (config.history_id.empty() && config.state_dir.empty()) {
    return Status::InvalidArgument(
        "either history_id (pin the pool's history) or state_dir (remember the first one) is "
        "required");
  }
  return config;
}

Result<GatewayConfig> LoadGatewayConfig(const std::string& path) {
  SIGNER_ASSIGN_OR_RETURN(const std::string text, base::ReadPublicFile(path));
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return ParseGatewayConfig(text, parent.empty() ? "." : parent.string());
}

}  // namespace gateway
