// signerctl dev init: a whole dev signer (SoftHSM2 token, dev PKI, //Alice keys, policy, config).
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "base/hex.h"
#include "base/secret_bytes.h"
#include "ctl_command.h"
#include "keymgr/custody.h"
#include "keymgr/keypair.h"
#include "keymgr/pkcs11_custody.h"
#include "keymgr/pkcs11_token_init.h"
#include "signer/config.h"
#include "tls/dev_pki.h"

namespace signerctl {
namespace {

namespace fs = std::filesystem;

constexpr int kDefaultDevPort = 7443;
constexpr std::string_view kTokenLabel = "dev-signer";
// A made-up dev-only value (not any chain's genesis), so dev history is never taken for a real
// chain's.
constexpr std::string_view kDevGenesisHash =
    "0xdede000000000000000000000000000000000000000000000000000000000001";
// The config is written last, by rename: its presence means an earlier run finished.
constexpr std::string_view kConfigFile = "signerd.yaml";

// Where Debian and common installs put SoftHSM2, tried in order when --module is not given.
constexpr std::array<std::string_view, 4> kSoftHsmCandidates = {
    "/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so"};

// //Alice's public keys, the spec's known answers: an import that yields anything else is a bug
// in the derivation, and the dev policy (which names these keys) would silently grant nothing.
constexpr std::string_view kAliceSr25519 =
    "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";
constexpr std::string_view kAliceEd25519 =
    "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee";
constexpr std::string_view kAliceEcdsa =
    "020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1";

struct DevKey {
  std::string_view key_type;
  std::string_view expected_public_key;
};
constexpr std::array<DevKey, 6> kDevKeys = {{{"babe", kAliceSr25519},
                                             {"gran", kAliceEd25519},
                                             {"beef", kAliceEcdsa},
                                             {"para", kAliceSr25519},
                                             {"asgn", kAliceSr25519},
                                             {"audi", kAliceSr25519}}};

// PINs are 24 characters from 62 (about 143 bits): far beyond guessing, and plain ASCII so any
// PKCS#11 tool accepts them.
constexpr size_t kPinLength = 24;
constexpr std::string_view kPinAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

struct InitOptions {
  std::string directory;
  int port = kDefaultDevPort;
  std::string module;
};

base::SecretBytes RandomPin() {
  base::SecretBytes pin(kPinLength);
  for (uint8_t& character : pin.span()) {
    character = static_cast<uint8_t>(
        kPinAlphabet[randombytes_uniform(static_cast<uint32_t>(kPinAlphabet.size()))]);
  }
  return pin;
}

// WriteNewFile creates `path` (failing if it exists) with `mode` and writes `bytes` to it, synced.
base::Status WriteNewFile(const fs::path& path, std::span<const uint8_t> bytes, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    return base::Status::Unavailable("cannot create " + path.string() + ": " +
                                     std::strerror(errno));
  }
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      ::close(fd);
      return base::Status::Unavailable("cannot write " + path.string() + ": " +
                                       std::strerror(saved));
    }
    written += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed) {
    return base::Status::Unavailable("cannot write " + path.string());
  }
  return base::Status::Ok();
}

base::Status WriteNewTextFile(const fs::path& path, std::string_view text, mode_t mode) {
  return WriteNewFile(path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, mode);
}

std::optional<std::string> FindSoftHsmModule() {
  for (std::string_view candidate : kSoftHsmCandidates) {
    std::error_code error;
    if (fs::is_regular_file(candidate, error)) return std::string(candidate);
  }
  return std::nullopt;
}

// DevPaths names every file of a dev directory; the layout is what `signerctl demo --dev-dir` and
// the tests read.
struct DevPaths {
  explicit DevPaths(const fs::path& root)
      : dir(root),
        config(root / kConfigFile),
        partial_config(root / "signerd.yaml.partial"),
        softhsm_conf(root / "softhsm2.conf"),
        tokens(root / "tokens"),
        user_pin(root / "hsm.pin"),
        so_pin(root / "hsm-so.pin"),
        pki(root / "pki"),
        policy(root / "policy.yaml"),
        history(root / "history"),
        audit_log(root / "audit.jsonl") {}
  fs::path dir, config, partial_config, softhsm_conf, tokens, user_pin, so_pin, pki, policy,
      history, audit_log;
};

std::string PolicyText() {
  std::string text =
      "# Development policy: validator-alice may use every //Alice session key; intruder is "
      "known but granted nothing.\n"
      "identities:\n"
      "  validator-alice:\n";
  text += "    - {key_types: [gran], operations: [sign, list], public_keys: [\"" +
          std::string(kAliceEd25519) + "\"]}\n";
  text += "    - {key_types: [babe, asgn], operations: [sign, vrf, list], public_keys: [\"" +
          std::string(kAliceSr25519) + "\"]}\n";
  text += "    - {key_types: [para, audi], operations: [sign, list], public_keys: [\"" +
          std::string(kAliceSr25519) + "\"]}\n";
  text += "    - {key_types: [beef], operations: [sign, list], public_keys: [\"" +
          std::string(kAliceEcdsa) + "\"]}\n";
  text += "  intruder: []\n";
  return text;
}

// ConfigText writes absolute paths, so a copy of the config elsewhere (run.sh --smoke makes one)
// still names this directory's files.
std::string ConfigText(const DevPaths& paths, const std::string& module, int port) {
  std::string text =
      "# Development signer (signerctl dev init). Not for production: //Alice keys, dev PKI, dev "
      "genesis hash.\n";
  text += "signer_id: dev-signer\n";
  text += "hsm:\n";
  text += "  module: " + module + "\n";
  text += "  token_label: " + std::string(kTokenLabel) + "\n";
  text += "  pin_file: " + paths.user_pin.string() + "\n";
  text += "history:\n";
  text += "  data_dir: " + paths.history.string() + "\n";
  text += "  genesis_hash: \"" + std::string(kDevGenesisHash) + "\"\n";
  text += "server:\n";
  text += "  listen: \"127.0.0.1:" + std::to_string(port) + "\"\n";
  text += "  tls:\n";
  text += "    cert_file: " + (paths.pki / tls::kServerCertificateFile).string() + "\n";
  text += "    key_file: " + (paths.pki / tls::kServerKeyFile).string() + "\n";
  text += "    client_ca_file: " + (paths.pki / tls::kCaCertificateFile).string() + "\n";
  text += "  policy_file: " + paths.policy.string() + "\n";
  text += "  audit_log: " + paths.audit_log.string() + "\n";
  text += "  max_in_flight: 64\n";
  text += "  worker_threads: 2\n";
  return text;
}

// ImportAliceKeys puts //Alice under every dev key type on the token and checks each public key
// against the known answer.
base::Result<nlohmann::ordered_json> ImportAliceKeys(const std::string& module,
                                                     base::SecretBytes user_pin) {
  keymgr::Pkcs11Config hsm;
  hsm.module_path = module;
  hsm.token_label = std::string(kTokenLabel);
  hsm.pin = std::move(user_pin);
  auto custody = keymgr::Pkcs11Custody::Open(std::move(hsm));
  if (!custody.ok()) {
    return base::Status::Unavailable("cannot open the new token: " + custody.status().message());
  }
  nlohmann::ordered_json keys = nlohmann::ordered_json::array();
  for (const DevKey& dev_key : kDevKeys) {
    auto key_type = base::MakeKeyTypeId(dev_key.key_type);
    if (!key_type.ok()) return key_type.status();
    const base::Scheme scheme = *base::RequiredSchemeForKeyType(*key_type);
    auto pair = keymgr::KeypairFromSuri(scheme, "//Alice");
    if (!pair.ok()) return pair.status();
    auto info = (*custody)->Import(*key_type, *pair);
    if (!info.ok()) {
      return base::Status::Unavailable("importing " + std::string(dev_key.key_type) + ": " +
                                       info.status().message());
    }
    const std::string public_key = base::HexEncode(info->id.public_key);
    if (public_key != dev_key.expected_public_key) {
      return base::Status::Internal("importing //Alice as " + std::string(dev_key.key_type) +
                                    " gave " + public_key + ", not the known answer " +
                                    std::string(dev_key.expected_public_key));
    }
    nlohmann::ordered_json entry;
    entry["key_type"] = std::string(dev_key.key_type);
    entry["scheme"] = std::string(base::SchemeName(scheme));
    entry["public_key"] = "0x" + public_key;
    keys.push_back(std::move(entry));
  }
  return keys;
}

// CreateDevSetup fills the empty directory `paths.dir`; the config is written last.
base::Result<nlohmann::ordered_json> CreateDevSetup(const DevPaths& paths,
                                                    const std::string& module, int port) {
  // The token's files hold the wrapped keys: nobody but the owner needs to see them.
  if (::mkdir(paths.tokens.c_str(), 0700) != 0) {
    return base::Status::Unavailable("cannot create " + paths.tokens.string() + ": " +
                                     std::strerror(errno));
  }
  const std::string softhsm_conf = "directories.tokendir = " + paths.tokens.string() +
                                   "\nobjectstore.backend = file\nlog.level = ERROR\n";
  if (auto status = WriteNewTextFile(paths.softhsm_conf, softhsm_conf, 0600); !status.ok()) {
    return status;
  }
  // SoftHSM2 reads its token directory from SOFTHSM2_CONF at C_Initialize, so this process must
  // point at the new token before loading the module; signerd gets the same from its caller.
  if (::setenv("SOFTHSM2_CONF", paths.softhsm_conf.c_str(), 1) != 0) {
    return base::Status::Unavailable("cannot set SOFTHSM2_CONF");
  }

  base::SecretBytes user_pin = RandomPin();
  base::SecretBytes so_pin = RandomPin();
  if (auto status = WriteNewFile(paths.user_pin, user_pin.span(), 0600); !status.ok()) {
    return status;
  }
  if (auto status = WriteNewFile(paths.so_pin, so_pin.span(), 0600); !status.ok()) return status;

  SIGNER_RETURN_IF_ERROR(keymgr::InitializeToken(module, kTokenLabel, so_pin, user_pin));
  auto keys = ImportAliceKeys(module, std::move(user_pin));
  if (!keys.ok()) return keys.status();

  tls::DevPkiOptions pki;
  pki.directory = paths.pki;
  pki.client_identities = {"validator-alice", "intruder"};
  auto pki_files = tls::CreateDevPki(pki);
  if (!pki_files.ok()) return base::Status::Unavailable("dev PKI: " + pki_files.status().message());

  if (auto status = WriteNewTextFile(paths.policy, PolicyText(), 0600); !status.ok()) {
    return status;
  }
  const std::string config = ConfigText(paths, module, port);
  // The parser signerd uses must accept what we write: a setup that signerd then refuses would
  // only fail later and further from the cause.
  if (auto parsed = signer::ParseSignerConfig(config, paths.dir.string()); !parsed.ok()) {
    return base::Status::Internal("the written config does not parse: " +
                                  parsed.status().message());
  }
  if (auto status = WriteNewTextFile(paths.partial_config, config, 0600); !status.ok()) {
    return status;
  }
  std::error_code error;
  fs::rename(paths.partial_config, paths.config, error);
  if (error) return base::Status::Unavailable("cannot rename to " + paths.config.string());
  return keys;
}

nlohmann::ordered_json Describe(const DevPaths& paths, bool created) {
  nlohmann::ordered_json document;
  document["directory"] = paths.dir.string();
  document["created"] = created;
  document["config"] = paths.config.string();
  document["softhsm2_conf"] = paths.softhsm_conf.string();
  return document;
}

// RemoveContents empties a directory this run found empty, so a failed run can simply be retried.
void RemoveContents(const fs::path& dir) {
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    std::error_code ignored;
    fs::remove_all(entry.path(), ignored);
  }
}

Outcome RunInit(const InitOptions& options) {
  std::string module = options.module;
  if (module.empty()) {
    std::optional<std::string> found = FindSoftHsmModule();
    if (!found.has_value()) {
      return Outcome::Usage(
          "dev init: libsofthsm2.so not found; install softhsm2 "
          "(infra/dev/install-deps.sh) or pass --module");
    }
    module = *found;
  }
  std::error_code error;
  fs::create_directories(options.directory, error);
  if (error) return Outcome::Usage("dev init: cannot create " + options.directory);
  const fs::path dir = fs::canonical(options.directory, error);
  if (error) return Outcome::Usage("dev init: cannot resolve " + options.directory);
  ::chmod(dir.c_str(), 0700);
  const DevPaths paths(dir);

  if (fs::exists(paths.config, error)) {
    nlohmann::ordered_json document = Describe(paths, false);
    document["note"] = "already set up; left as is (delete the directory to start over)";
    return Outcome::Json(std::move(document));
  }
  if (!fs::is_empty(dir, error) || error) {
    return Outcome::Usage("dev init: " + dir.string() + " is not empty and has no " +
                          std::string(kConfigFile) +
                          " (an unfinished setup or another directory); delete it or choose "
                          "another");
  }

  auto keys = CreateDevSetup(paths, module, options.port);
  if (!keys.ok()) {
    RemoveContents(dir);
    return Outcome::Usage("dev init: " + keys.status().message() + " (nothing was kept)");
  }
  nlohmann::ordered_json document = Describe(paths, true);
  document["listen"] = "127.0.0.1:" + std::to_string(options.port);
  document["hsm_module"] = module;
  document["token_label"] = std::string(kTokenLabel);
  document["pin_file"] = paths.user_pin.string();
  document["so_pin_file"] = paths.so_pin.string();
  document["keys"] = std::move(*keys);
  nlohmann::ordered_json pki;
  pki["directory"] = paths.pki.string();
  pki["ca_certificate"] = (paths.pki / tls::kCaCertificateFile).string();
  pki["server_certificate"] = (paths.pki / tls::kServerCertificateFile).string();
  pki["server_key"] = (paths.pki / tls::kServerKeyFile).string();
  for (const char* identity : {"validator-alice", "intruder"}) {
    pki["clients"][identity]["certificate"] =
        (paths.pki / (std::string(identity) + ".crt")).string();
    pki["clients"][identity]["key"] = (paths.pki / (std::string(identity) + ".key")).string();
  }
  document["pki"] = std::move(pki);
  document["policy"] = paths.policy.string();
  document["history"] = paths.history.string();
  document["genesis_hash"] = std::string(kDevGenesisHash);
  document["audit_log"] = paths.audit_log.string();
  return Outcome::Json(std::move(document));
}

}  // namespace

void RegisterDevCommands(CLI::App& app, CommandTable& table) {
  CLI::App* dev_group = app.add_subcommand("dev", "development setups (public //Alice keys)");
  dev_group->require_subcommand(1);

  auto init = std::make_shared<InitOptions>();
  CLI::App* init_command = dev_group->add_subcommand(
      "init",
      "create a development signer in --dir: SoftHSM2 token, dev PKI (validator-alice, intruder), "
      "//Alice session keys, policy and signerd.yaml; a finished setup is left as is, any other "
      "non-empty directory is refused");
  init_command->add_option("--dir", init->directory, "directory to create the setup in")
      ->required();
  init_command
      ->add_option("--port", init->port, "port signerd listens on, on 127.0.0.1 (default 7443)")
      ->check(CLI::Range(0, 65535));
  init_command->add_option("--module", init->module,
                           "SoftHSM2 PKCS#11 module (default: the first of the usual install "
                           "paths that exists)");
  table.Add(init_command, [init] { return RunInit(*init); });
}

}  // namespace signerctl
