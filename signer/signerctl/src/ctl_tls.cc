// signerctl tls commands: make a development PKI, inspect a certificate, check server credentials.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ctl_command.h"
#include "tls/certificate.h"
#include "tls/credentials.h"
#include "tls/dev_pki.h"

namespace signerctl {
namespace {

constexpr size_t kMaxCertificateFileSize = 1 << 20;

std::string IsoUtc(std::chrono::system_clock::time_point time) {
  const time_t seconds = std::chrono::system_clock::to_time_t(time);
  struct tm broken_down = {};
  gmtime_r(&seconds, &broken_down);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &broken_down);
  return text;
}

std::string OctalMode(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "0%03o", mode & 0777u);
  return text;
}

std::string Absolute(const std::filesystem::path& path) {
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(path, error);
  return (error ? path : absolute.lexically_normal()).string();
}

nlohmann::ordered_json DescribeCertificate(const tls::CertificateInfo& info,
                                           std::chrono::system_clock::time_point now) {
  nlohmann::ordered_json document;
  document["subject"] = info.subject;
  document["issuer"] = info.issuer;
  document["serial"] = info.serial_hex;
  document["not_before"] = IsoUtc(info.not_before);
  document["not_after"] = IsoUtc(info.not_after);
  document["days_until_expiry"] = tls::DaysUntilExpiry(info, now);
  return document;
}

struct InitDevOptions {
  std::string directory;
  std::vector<std::string> clients = {"validator-alice", "intruder"};
  std::vector<std::string> server_names;
  int days = 365;
  bool force = false;
};

Outcome RunInitDev(const InitDevOptions& options) {
  tls::DevPkiOptions pki;
  pki.directory = options.directory;
  pki.client_identities = options.clients;
  pki.server_names = options.server_names;
  pki.validity_days = options.days;
  pki.overwrite = options.force;
  auto files = tls::CreateDevPki(pki);
  if (!files.ok()) {
    std::string message = "init-dev: " + files.status().message();
    if (!options.force && files.status().code() == base::StatusCode::kInvalidArgument &&
        message.find("already exists") != std::string::npos) {
      message += " (pass --force to replace it)";
    }
    return Outcome::Usage(message);
  }
  nlohmann::ordered_json document;
  document["directory"] = Absolute(options.directory);
  document["ca_certificate"] = Absolute(files->ca_certificate);
  document["server_certificate"] = Absolute(files->server_certificate);
  document["server_key"] = Absolute(files->server_key);
  nlohmann::ordered_json clients = nlohmann::ordered_json::object();
  nlohmann::ordered_json listed = nlohmann::ordered_json::array();
  for (const tls::DevPkiFile& file : files->files) {
    nlohmann::ordered_json entry;
    entry["role"] = file.role;
    if (!file.identity.empty()) {
      entry["identity"] = file.identity;
      clients[file.identity][file.role == "client-key" ? "key" : "certificate"] =
          Absolute(file.path);
    }
    entry["path"] = Absolute(file.path);
    entry["mode"] = OctalMode(file.mode);
    listed.push_back(std::move(entry));
  }
  document["clients"] = std::move(clients);
  document["files"] = std::move(listed);
  return Outcome::Json(std::move(document));
}

Outcome RunInspect(const std::string& path) {
  auto text = ReadTextFile(path, kMaxCertificateFileSize);
  if (!text.ok()) {
    return Outcome::Usage("inspect: " + text.status().message());
  }
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(text->data()),
                                       text->size());
  auto info = tls::InspectCertificate(bytes);
  if (!info.ok()) {
    return Outcome::Usage("inspect: " + path + ": " + info.status().message());
  }
  nlohmann::ordered_json document = DescribeCertificate(*info, std::chrono::system_clock::now());
  auto identity = tls::IdentityFromCertificate(bytes);
  document["client_identity"] =
      identity.ok() ? nlohmann::ordered_json(identity.value()) : nlohmann::ordered_json();
  return Outcome::Json(std::move(document));
}

struct CheckOptions {
  std::string certificate;
  std::string key;
  std::string client_ca;
};

Outcome RunCheck(const CheckOptions& options) {
  const auto now = std::chrono::system_clock::now();
  auto loaded =
      tls::LoadServerCredentials({options.certificate, options.key, options.client_ca}, now);
  if (!loaded.ok()) {
    return Outcome::Usage("check: " + loaded.status().message());
  }
  nlohmann::ordered_json document;
  document["valid"] = true;
  document["server"] = DescribeCertificate(loaded->server, now);
  document["ca"] = DescribeCertificate(loaded->ca, now);
  return Outcome::Json(std::move(document));
}

}  // namespace

void RegisterTlsCommands(CLI::App& app, CommandTable& table) {
  CLI::App* tls_group =
      app.add_subcommand("tls", "mutual-TLS material: development PKI, inspection, checks");
  tls_group->require_subcommand(1);

  auto init = std::make_shared<InitDevOptions>();
  CLI::App* init_command = tls_group->add_subcommand(
      "init-dev",
      "create a development CA, a server certificate and client certificates (ECDSA P-256); "
      "keys are written 0600, certificates 0644");
  init_command->add_option("--dir", init->directory, "directory to write the PKI into")->required();
  init_command
      ->add_option("--clients", init->clients,
                   "client identities, comma-separated (default validator-alice,intruder)")
      ->delimiter(',');
  init_command
      ->add_option("--server-name", init->server_names,
                   "extra server DNS name or IP besides localhost, 127.0.0.1 and ::1 "
                   "(repeatable or comma-separated; the first is also the server's CN)")
      ->delimiter(',');
  init_command->add_option("--days", init->days, "validity in days, 1 to 3650 (default 365)");
  init_command->add_flag("--force", init->force, "replace an existing PKI in --dir");
  table.Add(init_command, [init] { return RunInitDev(*init); });

  auto inspect_path = std::make_shared<std::string>();
  CLI::App* inspect_command = tls_group->add_subcommand(
      "inspect", "show a certificate's subject, validity, days to expiry and client identity");
  inspect_command->add_option("--cert", *inspect_path, "PEM or DER certificate file")->required();
  table.Add(inspect_command, [inspect_path] { return RunInspect(*inspect_path); });

  auto check = std::make_shared<CheckOptions>();
  CLI::App* check_command = tls_group->add_subcommand(
      "check",
      "check server credentials as signerd loads them: key matches, chain verifies against the "
      "client CA, valid now");
  check_command->add_option("--cert", check->certificate, "server certificate chain (PEM)")
      ->required();
  check_command->add_option("--key", check->key, "server private key (PEM, mode 0600)")->required();
  check_command->add_option("--client-ca", check->client_ca, "client CA certificate(s) (PEM)")
      ->required();
  table.Add(check_command, [check] { return RunCheck(*check); });
}

}  // namespace signerctl
