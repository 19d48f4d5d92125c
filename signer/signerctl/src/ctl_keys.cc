// signerctl keys: the key lifecycle (generate, import, list, rotate, disable, enable, delete,
// backup, restore).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/hash.h"
#include "base/hex.h"
#include "ctl_command.h"
#include "keymgr/custody.h"
#include "keymgr/keypair.h"
#include "keymgr/keys_backup.h"
#include "keymgr/keys_keystore.h"
#include "keymgr/keys_polkadot_js.h"
#include "keymgr/pkcs11_custody.h"
#include "keymgr/ss58.h"
#include "signer/config.h"
#include "signer/open_from_config.h"
#include "slashing/history_admin.h"
#include "slashing/record.h"
#include "slashing/types.h"

namespace signerctl {
namespace {

// Addresses are printed in the generic Substrate format; operators convert for their chain.
constexpr uint16_t kGenericSs58Prefix = 42;

// OpenedCustody is a keys command's view of the signer: its configuration and its token.
struct OpenedCustody {
  signer::SignerConfig config;
  std::unique_ptr<keymgr::Pkcs11Custody> custody;
};

// OpenConfiguredCustody loads the configuration and logs in to the token it names
// (signer::OpenCustody: the PIN never comes from argv).
base::Result<OpenedCustody> OpenConfiguredCustody(const std::string& config_path) {
  auto config = signer::LoadSignerConfig(config_path);
  if (!config.ok()) {
    return base::Status::InvalidArgument("--config: " + config.status().message());
  }
  SIGNER_ASSIGN_OR_RETURN(auto custody, signer::OpenCustody(config->hsm));
  return OpenedCustody{std::move(*config), std::move(custody)};
}

std::string Iso8601Utc(int64_t unix_seconds) {
  const std::time_t time = static_cast<std::time_t>(unix_seconds);
  std::tm parts{};
  if (::gmtime_r(&time, &parts) == nullptr) {
    return "";
  }
  char text[32] = {};
  const size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return std::string(text, length);
}

std::string CustodyName(keymgr::KeyProtection protection) {
  switch (protection) {
    case keymgr::KeyProtection::kHsmNonExtractable:
      return "hsm-native";
    case keymgr::KeyProtection::kHsmWrapped:
      return "hsm-wrapped";
    case keymgr::KeyProtection::kSoftwareMemory:
      return "software";
    case keymgr::KeyProtection::kThresholdShares:
      return "threshold";
  }
  return "unknown";
}

// AccountAddress is the SS58 form Substrate tools show: of the public key itself, or for ecdsa of
// its blake2_256 hash (the account id of an ecdsa signer).
std::string AccountAddress(base::Scheme scheme, std::span<const uint8_t> public_key) {
  std::vector<uint8_t> account(public_key.begin(), public_key.end());
  if (scheme == base::Scheme::kEcdsa) {
    const base::Hash256 hashed = base::Blake2b256(public_key);
    account.assign(hashed.begin(), hashed.end());
  }
  auto address = keymgr::Ss58Encode(account, kGenericSs58Prefix);
  return address.ok() ? *address : "";
}

nlohmann::ordered_json KeyJson(const keymgr::KeyInfo& info) {
  nlohmann::ordered_json json;
  json["key_type"] = base::KeyTypeName(info.id.key_type);
  json["scheme"] = std::string(base::SchemeName(info.scheme));
  json["public_key"] = HexWithPrefix(info.id.public_key);
  json["ss58"] = AccountAddress(info.scheme, info.id.public_key);
  json["custody"] = CustodyName(info.protection);
  json["generated_in_custody"] = info.generated_in_custody;
  json["created_at"] = Iso8601Utc(info.created_at_unix);
  json["disabled"] = info.disabled;
  return json;
}

// AddSharedRoles adds "also_held_as": the other key types under which `listing` holds the same
// public key of the same scheme. A signature carries no key type, so signerd protects such a key
// by every slashable role it holds (docs/protection.md); operators should see when that is so.
// With a slashable role among them, "note" says so in words.
void AddSharedRoles(nlohmann::ordered_json& json, const keymgr::KeyInfo& info,
                    const std::vector<keymgr::KeyInfo>& listing) {
  std::set<std::string> others;
  bool slashable = slashing::IsSlashableKeyType(info.id.key_type);
  for (const keymgr::KeyInfo& other : listing) {
    if (other.scheme != info.scheme || other.id.public_key != info.id.public_key ||
        other.id.key_type == info.id.key_type) {
      continue;
    }
    others.insert(base::KeyTypeName(other.id.key_type));
    slashable = slashable || slashing::IsSlashableKeyType(other.id.key_type);
  }
  json["also_held_as"] = others;
  if (!others.empty() && slashable) {
    json["note"] =
        "this public key holds several key types; signerd judges every request for it by the "
        "protection rules of each slashable one";
  }
}

base::Result<base::KeyTypeId> KeyTypeArgument(const std::string& name) {
  auto key_type = base::MakeKeyTypeId(name);
  if (!key_type.ok()) {
    return base::Status::InvalidArgument("--type: expected 4 characters such as gran or babe");
  }
  return key_type;
}

// SchemeFor picks the scheme of a key: the one Substrate requires for a known key type (a
// different --scheme is refused), otherwise the one given.
base::Result<base::Scheme> SchemeFor(const base::KeyTypeId& key_type,
                                     const std::string& scheme_name) {
  const std::optional<base::Scheme> required = base::RequiredSchemeForKeyType(key_type);
  if (scheme_name.empty()) {
    if (!required.has_value()) {
      return base::Status::InvalidArgument("--scheme is required for key type " +
                                           base::KeyTypeName(key_type));
    }
    return *required;
  }
  auto scheme = base::ParseScheme(scheme_name);
  if (!scheme.ok()) {
    return base::Status::InvalidArgument("--scheme: expected sr25519, ed25519 or ecdsa");
  }
  if (required.has_value() && *required != *scheme) {
    return base::Status::InvalidArgument("key type " + base::KeyTypeName(key_type) + " uses " +
                                         std::string(base::SchemeName(*required)) + ", not " +
                                         std::string(base::SchemeName(*scheme)));
  }
  return scheme;
}

// ----- generate -----

struct GenerateArgs {
  std::string config;
  std::string key_type;
  std::string scheme;
};

Outcome RunGenerate(const GenerateArgs& args) {
  auto key_type = KeyTypeArgument(args.key_type);
  if (!key_type.ok()) return Outcome::Usage(key_type.status().message());
  auto scheme = SchemeFor(*key_type, args.scheme);
  if (!scheme.ok()) return Outcome::Usage(scheme.status().message());
  auto opened = OpenConfiguredCustody(args.config);
  if (!opened.ok()) return Outcome::Usage(opened.status().message());
  auto info = opened->custody->Generate(*key_type, *scheme);
  if (!info.ok()) return Outcome::Usage("generate: " + info.status().message());
  return Outcome::Json(KeyJson(*info));
}

// ----- list -----

Outcome RunList(const std::string& config_path) {
  auto opened = OpenConfiguredCustody(config_path);
  if (!opened.ok()) return Outcome::Usage(opened.status().message());
  // Operators see disabled keys too (validators, through List, do not).
  auto keys = opened->custody->ListAll();
  if (!keys.ok()) return Outcome::Usage("list: " + keys.status().message());
  // The token has no order; sorting by identity makes the output stable for scripts and diffs.
  std::sort(keys->begin(), keys->end(),
            [](const keymgr::KeyInfo& a, const keymgr::KeyInfo& b) { return a.id < b.id; });
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const keymgr::KeyInfo& info : *keys) {
    nlohmann::ordered_json json = KeyJson(info);
    AddSharedRoles(json, info, *keys);
    list.push_back(std::move(json));
  }
  nlohmann::ordered_json out;
  out["keys"] = std::move(list);
  return Outcome::Json(std::move(out));
}

// ----- import -----

struct ImportArgs {
  std::string config;
  std::string key_type;
  std::string scheme;
  SuriOptions suri;
  std::string keystore_dir;
  std::string polkadot_js;
  std::string password_file;
  CLI::Option* polkadot_js_option = nullptr;
  CLI::Option* type_option = nullptr;
  CLI::Option* scheme_option = nullptr;
  CLI::Option* keystore_option = nullptr;
};

// KeypairMatchingFile derives the key a keystore file's SURI names under each scheme its key type
// allows and returns the one whose public key is the one in the file name.
std::optional<keymgr::Keypair> KeypairMatchingFile(const keymgr::KeystoreFile& file) {
  std::vector<base::Scheme> candidates;
  if (auto required = base::RequiredSchemeForKeyType(file.key_type)) {
    candidates.push_back(*required);
  } else if (file.public_key.size() == keymgr::kEcdsaPublicSize) {
    candidates.push_back(base::Scheme::kEcdsa);
  } else {
    candidates = {base::Scheme::kSr25519, base::Scheme::kEd25519};
  }
  for (base::Scheme scheme : candidates) {
    auto pair = keymgr::KeypairFromSuri(scheme, SuriView(file.suri));
    if (pair.ok() && pair->public_key() == file.public_key) return std::move(*pair);
  }
  return std::nullopt;
}

// RunKeystoreImport imports every key of a Substrate file keystore. Every file is checked before
// anything is imported, so a bad file leaves the token unchanged.
Outcome RunKeystoreImport(const ImportArgs& args) {
  auto dir = keymgr::ReadKeystoreDir(args.keystore_dir);
  if (!dir.ok()) return Outcome::Usage("--keystore-dir: " + dir.status().message());
  if (dir->keys.empty()) return Outcome::Usage("--keystore-dir: no key files found");
  std::vector<keymgr::Keypair> pairs;
  // Identities are compared decoded: hex digits of either case name the same key, and a key named
  // twice would be stored from the first file and refused at the second, after the token changed.
  std::map<keymgr::KeyId, std::string> file_naming;
  for (const keymgr::KeystoreFile& file : dir->keys) {
    const auto [earlier, first] =
        file_naming.emplace(keymgr::KeyId{file.key_type, file.public_key}, file.file_name);
    if (!first) {
      return Outcome::Usage("--keystore-dir: files " + earlier->second + " and " + file.file_name +
                            " name the same key; nothing was imported");
    }
    std::optional<keymgr::Keypair> pair = KeypairMatchingFile(file);
    if (!pair.has_value()) {
      return Outcome::Usage("--keystore-dir: file " + file.file_name +
                            ": its SURI does not give the public key in its name (keystores "
                            "with a password are not supported); nothing was imported");
    }
    pairs.push_back(std::move(*pair));
  }
  auto opened = OpenConfiguredCustody(args.config);
  if (!opened.ok()) return Outcome::Usage(opened.status().message());
  auto existing = opened->custody->ListAll();
  if (!existing.ok()) return Outcome::Usage("import: " + existing.status().message());
  std::set<keymgr::KeyId> present;
  for (const keymgr::KeyInfo& info : *existing) present.insert(info.id);
  nlohmann::ordered_json imported = nlohmann::ordered_json::array();
  nlohmann::ordered_json already_present = nlohmann::ordered_json::array();
  std::vector<keymgr::KeyInfo> imported_infos;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const keymgr::KeyId id{dir->keys[i].key_type, dir->keys[i].public_key};
    if (present.contains(id)) {
      already_present.push_back(base::KeyTypeName(id.key_type) + ":" +
                                HexWithPrefix(id.public_key));
      continue;
    }
    auto info = opened->custody->Import(id.key_type, pairs[i]);
    if (!info.ok()) {
      return Outcome::Usage("import: file " + dir->keys[i].file_name + ": " +
                            info.status().message() + "; " + std::to_string(imported_infos.size()) +
                            " keys were imported before it");
    }
    existing->push_back(*info);
    imported_infos.push_back(*info);
  }
  // Roles are reported once every key is in, so two files of one SURI name each other.
  for (const keymgr::KeyInfo& info : imported_infos) {
    nlohmann::ordered_json json = KeyJson(info);
    AddSharedRoles(json, info, *existing);
    imported.push_back(std::move(json));
  }
  nlohmann::ordered_json out;
  out["imported"] = std::move(imported);
  out["already_present"] = std::move(already_present);
  out["skipped_files"] = dir->skipped;
  return Outcome::Json(std::move(out));
}

// ImportedKeyJson describes a key just imported, with the other key types its public key holds.
// The key is in; a listing that fails afterwards only leaves the roles out of the report.
nlohmann::ordered_json ImportedKeyJson(keymgr::Pkcs11Custody& custody,
                                       const keymgr::KeyInfo& info) {
  nlohmann::ordered_json json = KeyJson(info);
  auto listing = custody.ListAll();
  if (listing.ok()) {
    AddSharedRoles(json, info, *listing);
  } else {
    json["also_held_as"] = "unknown: " + listing.status().message();
  }
  return json;
}

// An export is a few hundred bytes; this bound only stops a wrong file early.
constexpr size_t kMaxPolkadotJsExportSize = 64 * 1024;

// RunPolkadotJsImport imports the key of an encrypted polkadot-js JSON export under --type.
Outcome RunPolkadotJsImport(const ImportArgs& args, const base::KeyTypeId& key_type) {
  if (args.password_file.empty()) {
    return Outcome::Usage("--polkadot-js needs --password-file (mode 0600 or stricter)");
  }
  auto password = keymgr::ReadPassphraseFile(args.password_file);
  if (!password.ok()) return Outcome::Usage("--password-file: " + password.status().message());
  auto text = ReadTextFile(args.polkadot_js, kMaxPolkadotJsExportSize);
  if (!text.ok()) return Outcome::Usage("--polkadot-js: " + text.status().message());
  auto pair = keymgr::DecodePolkadotJsExport(*text, password->span());
  if (!pair.ok()) return Outcome::Usage("--polkadot-js: " + pair.status().message());
  auto scheme = SchemeFor(key_type, args.scheme);
  if (args.scheme.empty() && !scheme.ok()) scheme = pair->scheme();  // a type with no fixed scheme
  if (!scheme.ok()) return Outcome::Usage(scheme.status().message());
  if (*scheme != pair->scheme()) {
    return Outcome::Usage("--polkadot-js: the export holds an " +
                          std::string(base::SchemeName(pair->scheme())) + " key, but " +
                          base::KeyTypeName(key_type) + " needs " +
                          std::string(base::SchemeName(*scheme)));
  }
  auto opened = OpenConfiguredCustody(args.config);
  if (!opened.ok()) return Outcome::Usage(opened.status().message());
  auto info = opened->custody->Import(key_type, *pair);
  if (!info.ok()) return Outcome::Usage("import: " + info.status().message());
  return Outcome::Json(ImportedKeyJson(*opened->custody, *info));
}

Outcome RunImport(ImportArgs& args) {
  if (args.polkadot_js_option->count() > 0) {
    if (args.keystore_option->count() > 0 || args.suri.inline_option->count() > 0 ||
        args.suri.file_option->count() > 0) {
      return Outcome::Usage(
          "--polkadot-js takes the key from the export: give no SURI or keystore");
    }
    if (args.type_option->count() == 0) return Outcome::Usage("--polkadot-js needs --type");
    auto key_type = KeyTypeArgument(args.key_type);
    if (!key_type.ok()) return Outcome::Usage(key_type.status().message());
    return RunPolkadotJsImport(args, *key_type);
  }
  if (args.keystore_option->count() > 0) {
    if (args.type_option->count() > 0 || args.scheme_option->count() > 0 ||
        args.suri.inline_option->count() > 0 || args.suri.file_option->count() > 0) {
      return Outcome::Usage(
          "--keystore-dir takes the key types and SURIs from the keystore: give no --type, "
          "--scheme or SURI");
    }
    return RunKeystoreImport(args);
  }
  if (args.type_option->count() == 0) {
    return Outcome::Usage("--type is required (or use --keystore-dir)");
  }
  auto key_type = KeyTypeArgument(args.key_type);
  if (!key_type.ok()) return Outcome::Usage(key_type.status().message());
  auto scheme = SchemeFor(*key_type, args.scheme);
  if (!scheme.ok()) return Outcome::Usage(scheme.status().message());
  // The SURI is read before the token is opened so a missing secret fails without touching it,
  // and only the keypair, never the SURI, outlives this block.
  std::optional<keymgr::Keypair> pair;
  {
    auto suri = ResolveSuri(args.suri);
    if (!suri.ok()) return Outcome::Usage(suri.status().message());
    auto built = keymgr::KeypairFromSuri(*scheme, SuriView(*suri));
    if (!built.ok()) return Outcome::Usage(SafeSuriError(built.status(), SuriView(*suri)));
    pair.emplace(std::move(*built));
  }
  auto opened = OpenConfiguredCustody(args.config);
  if (!opened.ok()) return Outcome::Usage(opened.status().message());
  auto info = opened->custody->Import(*key_type, *pair);
  if (!info.ok()) return Outcome::Usage("import: " + info.status().message());
  return Outcome::Json(ImportedKeyJson(*opened->custody, *info));
}

// ----- rotate -----

// SessionKeyTypes splits "babe,gran,…" into key types, each with a scheme Substrate fixes.
base::Result<std::vector<base::KeyTypeId>> SessionKeyTypes(const std::string& list) {
  std::vector<base::KeyTypeId> types;
  std::set<base::KeyTypeId> seen;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    auto key_type = base::MakeKeyTypeId(std::string_view(list).substr(start, end - start));
    if (!key_type.ok()) {
      return base::Status::InvalidArgument(
          "--session-keys: expected a comma-separated list of 4-character key types");
    }
    if (!base::RequiredSchemeForKeyType(*key_type).has_value()) {
      return base::Status::InvalidArgument("--session-keys: key type " +
                                           base::KeyTypeName(*key_type) +
                                           " has no fixed scheme, so it is not a session key");
    }
    if (!seen.insert(*key_type).second) {
      return base::Status::InvalidArgument("--session-keys: key type " +
                                           base::KeyTypeName(*key_type) + " given twice");
    }
    types.push_back(*key_type);
    start = end + 1;
  }
  return types;
}

// RunRotate generates one key per type in the order given and prints the SCALE SessionKeys: the
// runtime's opaque SessionKeys is a struct of fixed-size public keys (impl_opaque_keys derives
// Encode), so its encoding is the public keys concatenated in field order with no prefixes, which
// is what author_rotateKeys returns and session.setKeys takes.
Outcome RunRotate(const std::string& config_path, const std::string& list) {
  auto types = SessionKeyTypes(list);
  if (!types.ok()) return Outcome::Usage(types.status().message());
  auto opened = OpenConfiguredCustody(config_path);
  if (!opened.ok()) return Outcome::Usage(opened.status().message());
  nlohmann::ordered_json keys = nlohmann::ordered_json::array();
  std::vector<uint8_t> session_keys;
  std::string generated_so_far;
  for (const base::KeyTypeId& key_type : *types) {
    auto info = opened->custody->Generate(key_type, *base::RequiredSchemeForKeyType(key_type));
    if (!info.ok()) {
      // Keys made before the failure stay on the token; name them so the operator can clean up.
      return Outcome::Usage("rotate: generating " + base::KeyTypeName(key_type) +
                            " failed: " + info.status().message() +
                            (generated_so_far.empty() ? std::string("; no key was generated")
                                                      : "; already generated:" + generated_so_far));
    }
    generated_so_far +=
        " " + base::KeyTypeName(key_type) + ":" + base::HexEncode(info->id.public_key);
    session_keys.insert(session_keys.end(), info->id.public_key.begin(), info->id.public_key.end());
    keys.push_back(KeyJson(*info));
  }
  nlohmann::ordered_json out;
  out["keys"] = std::move(keys);
  out["session_keys"] = HexWithPrefix(session_keys);
  return Outcome::Json(std::move(out));
}

// ----- delete -----

// LastSignature is what the slashing-protection history says about one public key.
struct LastSignature {
  bool known = false;                    // false: the history could not tell
  std::string why_unknown;               // set when !known
  std::optional<uint64_t> newest_at_ms;  // nullopt: no record of this key
};

// FindLastSignature scans the history for records of `public_key`. It never creates a history: a
// missing directory, one locked by a running signerd, another chain's store or an undecodable
// record all mean the history cannot tell.
LastSignature FindLastSignature(const signer::HistoryConfig& history,
                                std::span<const uint8_t> public_key) {
  LastSignature result;
  struct stat info {};
  if (history.data_dir.empty() || ::stat(history.data_dir.c_str(), &info) != 0 ||
      !S_ISDIR(info.st_mode)) {
    result.why_unknown = "the history directory does not exist";
    return result;
  }
  slashing::RocksDbStoreOptions options;
  options.create_if_missing = false;
  auto store = slashing::OpenHistory(history.data_dir, history.genesis_hash, options);
  if (!store.ok()) {
    result.why_unknown = "the history cannot be opened (" + store.status().message() + ")";
    return result;
  }
  std::optional<uint64_t> newest;
  bool corrupt = false;
  const base::Status scanned =
      (*store)->Scan(slashing::RecordKeyPrefix(public_key, std::nullopt),
                     [&](std::string_view key, std::string_view value) {
                       auto record_key = slashing::DecodeRecordKey(key);
                       auto record = slashing::DecodeRecordValue(value);
                       if (!record_key.ok() || !record.ok()) {
                         corrupt = true;
                         return false;
                       }
                       if (!std::equal(record_key->public_key.begin(), record_key->public_key.end(),
                                       public_key.begin(), public_key.end())) {
                         return true;
                       }
                       if (!newest.has_value() || record->recorded_at_ms > *newest) {
                         newest = record->recorded_at_ms;
                       }
                       return true;
                     });
  if (!scanned.ok() || corrupt) {
    result.why_unknown = "the history cannot be read";
    return result;
  }
  result.known = true;
  result.newest_at_ms = newest;
  return result;
}

struct DeleteArgs {
  std::string config;
  std::string key_type;
  std::string public_key;
  bool force = false;
};

Outcome RunDelete(const DeleteArgs& args) {
  auto key_type = KeyTypeArgument(args.key_type);
  if (!key_type.ok()) return Outcome::Usage(key_type.status().message());
  auto public_key = DecodeHexArgument("--public", args.public_key);
  if (!public_key.ok()) return Outcome::Usage(public_key.status().message());
  auto opened = OpenConfiguredCustody(args.config);
  if (!opened.ok()) return Outcome::Usage(opened.status().message());

  const keymgr::KeyId id{*key_type, *public_key};
  // A disabled key is deleted under the same guard as any other.
  auto keys = opened->custody->ListAll();
  if (!keys.ok()) return Outcome::Usage("delete: " + keys.status().message());
  const keymgr::KeyInfo* found = nullptr;
  for (const keymgr::KeyInfo& info : *keys) {
    if (info.id == id) found = &info;
  }
  if (found == nullptr) {
    return Outcome::Usage("delete: no " + base::KeyTypeName(*key_type) +
                          " key with that public key on the token");
  }

  const LastSignature last = FindLastSignature(opened->config.history, id.public_key);
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t guard_ms = opened->config.keys.delete_guard_seconds * 1000;
  if (!args.force) {
    if (!last.known) {
      return Outcome::Usage("delete refused: " + last.why_unknown +
                            ", so it cannot tell whether the key signed within " +
                            std::to_string(opened->config.keys.delete_guard_seconds) +
                            " s; stop signerd or use --force");
    }
    if (last.newest_at_ms.has_value() &&
        static_cast<int64_t>(*last.newest_at_ms) > now_ms - guard_ms) {
      return Outcome::Usage("delete refused: the key signed at " +
                            Iso8601Utc(static_cast<int64_t>(*last.newest_at_ms / 1000)) +
                            ", within " + std::to_string(opened->config.keys.delete_guard_seconds) +
                            " s (keys.delete_guard_seconds); use --force to delete anyway");
    }
  }

  nlohmann::ordered_json out;
  out["deleted"] = KeyJson(*found);
  if (!last.known) {
    out["last_signed_at"] = nullptr;
    out["history"] = "unknown: " + last.why_unknown;
  } else if (last.newest_at_ms.has_value()) {
    out["last_signed_at"] = Iso8601Utc(static_cast<int64_t>(*last.newest_at_ms / 1000));
    out["history"] = "recorded";
  } else {
    out["last_signed_at"] = nullptr;
    out["history"] = "no record";
  }
  out["forced"] = args.force;
  if (base::Status deleted = opened->custody->Delete(id); !deleted.ok()) {
    return Outcome::Usage("delete: " + deleted.message());
  }
  return Outcome::Json(std::move(out));
}

// ----- disable and enable -----

struct DisableArgs {
  std::string config;
  std::string key_type;
  std::string public_key;
};

// RunSetDisabled writes (`disable`) or removes the key's disable marker on the token. Disabling is
// how a suspected-compromised key is stopped at once without destroying it: it stays on the token
// for investigation, backup or re-enabling.
Outcome RunSetDisabled(const DisableArgs& args, bool disable) {
  const std::string verb = disable ? "disable" : "enable";
  auto key_type = KeyTypeArgument(args.key_type);
  if (!key_type.ok()) return Outcome::Usage(key_type.status().message());
  auto public_key = DecodeHexArgument("--public", args.public_key);
  if (!public_key.ok()) return Outcome::Usage(public_key.status().message());
  auto opened = OpenConfiguredCustody(args.config);
  if (!opened.ok()) return Outcome::Usage(opened.status().message());
  const keymgr::KeyId id{*key_type, *public_key};
  auto keys = opened->custody->ListAll();
  if (!keys.ok()) return Outcome::Usage(verb + ": " + keys.status().message());
  auto found = std::find_if(keys->begin(), keys->end(),
                            [&](const keymgr::KeyInfo& info) { return info.id == id; });
  if (found == keys->end()) {
    return Outcome::Usage(verb + ": no " + base::KeyTypeName(*key_type) +
                          " key with that public key on the token");
  }
  const bool was_disabled = found->disabled;
  const base::Status changed = disable ? opened->custody->Disable(id) : opened->custody->Enable(id);
  if (!changed.ok()) return Outcome::Usage(verb + ": " + changed.message());
  found->disabled = disable;
  nlohmann::ordered_json out;
  out["key"] = KeyJson(*found);
  out["changed"] = was_disabled != disable;
  return Outcome::Json(std::move(out));
}

// ----- backup and restore -----

// A backup is at most a few megabytes (keys_backup.cc refuses more than 16 MiB).
constexpr size_t kMaxBackupFileSize = 16u << 20;

struct BackupArgs {
  std::string config;
  std::string file;
  std::string passphrase_file;
};

// WriteNewFile writes `bytes` to a file that must not exist yet (so a backup never silently
// replaces another), mode 0600, synced before success is reported; a partial file is removed.
base::Status WriteNewFile(const std::string& path, std::span<const uint8_t> bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return base::Status::InvalidArgument(std::string("--out: cannot create the file (") +
                                         std::strerror(errno) + "); it must not exist yet");
  }
  size_t written = 0;
  bool ok = true;
  while (ok && written < bytes.size()) {
    const ssize_t put = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (put < 0 && errno == EINTR) continue;
    ok = put > 0;
    if (ok) written += static_cast<size_t>(put);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    ::unlink(path.c_str());
    return base::Status::InvalidArgument("--out: cannot write the backup file");
  }
  return base::Status::Ok();
}

Outcome RunBackup(const BackupArgs& args) {
  auto passphrase = keymgr::ReadPassphraseFile(args.passphrase_file);
  if (!passphrase.ok()) {
    return Outcome::Usage("--passphrase-file: " + passphrase.status().message());
  }
  if (passphrase->size() < keymgr::kMinBackupPassphraseSize) {
    return Outcome::Usage("--passphrase-file: the passphrase must be at least " +
                          std::to_string(keymgr::kMinBackupPassphraseSize) + " bytes");
  }
  auto opened = OpenConfiguredCustody(args.config);
  if (!opened.ok()) return Outcome::Usage(opened.status().message());
  auto keys = opened->custody->ListAll();
  if (!keys.ok()) return Outcome::Usage("backup: " + keys.status().message());
  std::sort(keys->begin(), keys->end(),
            [](const keymgr::KeyInfo& a, const keymgr::KeyInfo& b) { return a.id < b.id; });

  // One pass over the token for all sr25519 secrets; searching it once per key is quadratic.
  auto secrets = opened->custody->ExportAllSr25519SecretsForBackup();
  if (!secrets.ok()) {
    return Outcome::Usage("backup: cannot read the sr25519 secrets: " + secrets.status().message() +
                          "; no file was written");
  }
  std::map<keymgr::KeyId, base::SecretBytes> secret_of;
  for (auto& [id, secret] : *secrets) secret_of.emplace(id, std::move(secret));

  std::vector<keymgr::BackupEntry> entries;
  nlohmann::ordered_json included = nlohmann::ordered_json::array();
  nlohmann::ordered_json identity_only = nlohmann::ordered_json::array();
  for (const keymgr::KeyInfo& info : *keys) {
    keymgr::BackupEntry entry;
    entry.key_type = info.id.key_type;
    entry.scheme = info.scheme;
    entry.public_key = info.id.public_key;
    entry.generated_in_custody = info.generated_in_custody;
    entry.created_at_unix = info.created_at_unix;
    entry.disabled = info.disabled;
    // Only HSM-wrapped sr25519 secrets can leave the token; ed25519/ecdsa private keys are
    // non-extractable, so the backup records that they exist and nothing more.
    if (info.protection == keymgr::KeyProtection::kHsmWrapped) {
      auto found = secret_of.find(info.id);
      if (found == secret_of.end()) {
        return Outcome::Usage("backup: the token changed while it was read; no file was written");
      }
      entry.secret = std::move(found->second);
      included.push_back(KeyJson(info));
    } else {
      identity_only.push_back(KeyJson(info));
    }
    entries.push_back(std::move(entry));
  }
  auto file = keymgr::SealBackup(entries, passphrase->span(), keymgr::ModerateBackupKdfLimits());
  if (!file.ok()) return Outcome::Usage("backup: " + file.status().message());
  if (base::Status written = WriteNewFile(args.file, *file); !written.ok()) {
    return Outcome::Usage(written.message());
  }
  nlohmann::ordered_json out;
  out["file"] = args.file;
  out["included"] = std::move(included);
  out["identity_only"] = std::move(identity_only);
  return Outcome::Json(std::move(out));
}

nlohmann::ordered_json EntryJson(const keymgr::BackupEntry& entry) {
  keymgr::KeyInfo info;
  info.id = keymgr::KeyId{entry.key_type, entry.public_key};
  info.scheme = entry.scheme;
  info.protection = entry.scheme == base::Scheme::kSr25519
                        ? keymgr::KeyProtection::kHsmWrapped
                        : keymgr::KeyProtection::kHsmNonExtractable;
  info.generated_in_custody = entry.generated_in_custody;
  info.created_at_unix = entry.created_at_unix;
  info.disabled = entry.disabled;
  return KeyJson(info);
}

Outcome RunRestore(const BackupArgs& args) {
  auto passphrase = keymgr::ReadPassphraseFile(args.passphrase_file);
  if (!passphrase.ok()) {
    return Outcome::Usage("--passphrase-file: " + passphrase.status().message());
  }
  auto text = ReadTextFile(args.file, kMaxBackupFileSize);
  if (!text.ok()) return Outcome::Usage("--in: " + text.status().message());
  auto entries = keymgr::OpenBackup({reinterpret_cast<const uint8_t*>(text->data()), text->size()},
                                    passphrase->span());
  if (!entries.ok()) return Outcome::Usage("--in: " + entries.status().message());
  auto opened = OpenConfiguredCustody(args.config);
  if (!opened.ok()) return Outcome::Usage(opened.status().message());
  auto existing = opened->custody->ListAll();
  if (!existing.ok()) return Outcome::Usage("restore: " + existing.status().message());
  std::set<keymgr::KeyId> present;
  for (const keymgr::KeyInfo& info : *existing) present.insert(info.id);
  // One scan of the token for the whole restore: importing key by key would scan it once per key.
  auto bulk = opened->custody->BeginBulkImport();
  if (!bulk.ok()) return Outcome::Usage("restore: " + bulk.status().message());

  nlohmann::ordered_json restored = nlohmann::ordered_json::array();
  nlohmann::ordered_json already_present = nlohmann::ordered_json::array();
  nlohmann::ordered_json not_restored = nlohmann::ordered_json::array();
  for (const keymgr::BackupEntry& entry : *entries) {
    const keymgr::KeyId id{entry.key_type, entry.public_key};
    if (present.contains(id)) {
      already_present.push_back(EntryJson(entry));
      continue;
    }
    if (entry.secret.empty()) {
      nlohmann::ordered_json json = EntryJson(entry);
      json["reason"] =
          "non-extractable HSM key: the backup holds only its identity; import it again from "
          "its SURI with `signerctl keys import`";
      not_restored.push_back(std::move(json));
      continue;
    }
    auto pair = keymgr::Sr25519Keypair::FromSecret(entry.secret.span());
    if (!pair.ok() || !std::equal(pair->public_key().begin(), pair->public_key().end(),
                                  entry.public_key.begin(), entry.public_key.end())) {
      return Outcome::Usage("restore: the backup's secret for " +
                            base::KeyTypeName(entry.key_type) + ":" +
                            base::HexEncode(entry.public_key) +
                            " does not match its public key; nothing more was restored");
    }
    // A key disabled when it was backed up comes back disabled (its marker is written first).
    auto info = (*bulk)->Import(entry.key_type, keymgr::Keypair(std::move(*pair)), entry.disabled);
    if (!info.ok()) {
      return Outcome::Usage("restore: importing " + base::KeyTypeName(entry.key_type) + ":" +
                            base::HexEncode(entry.public_key) +
                            " failed: " + info.status().message());
    }
    restored.push_back(KeyJson(*info));
  }
  nlohmann::ordered_json out;
  out["restored"] = std::move(restored);
  out["already_present"] = std::move(already_present);
  out["not_restored"] = std::move(not_restored);
  return Outcome::Json(std::move(out));
}

void AddConfigOption(CLI::App* command, std::string& path) {
  command
      ->add_option("--config", path,
                   "the signer configuration file (the same one signerd reads); the token PIN "
                   "comes from its hsm.pin_file or hsm.pin_env")
      ->required();
}

}  // namespace

void RegisterKeysCommands(CLI::App& app, CommandTable& table) {
  CLI::App* keys =
      app.add_subcommand("keys", "key lifecycle on the configured PKCS#11 token (JSON on stdout)");
  keys->require_subcommand(1);

  {
    auto args = std::make_shared<GenerateArgs>();
    CLI::App* command = keys->add_subcommand("generate", "generate a key inside the token");
    AddConfigOption(command, args->config);
    command->add_option("--type", args->key_type, "key type, e.g. gran, babe, beef, para")
        ->required();
    command->add_option("--scheme", args->scheme,
                        "sr25519, ed25519 or ecdsa; implied by known key types");
    table.Add(command, [args] { return RunGenerate(*args); });
  }
  {
    auto config = std::make_shared<std::string>();
    CLI::App* command = keys->add_subcommand("list", "list every key on the token");
    AddConfigOption(command, *config);
    table.Add(command, [config] { return RunList(*config); });
  }
  {
    auto args = std::make_shared<ImportArgs>();
    CLI::App* command = keys->add_subcommand("import", "import one key from a SURI (--suri-file, " +
                                                           std::string(kSuriEnvVariable) +
                                                           ", or --suri for development keys)");
    AddConfigOption(command, args->config);
    args->type_option =
        command->add_option("--type", args->key_type, "key type, e.g. gran, babe, beef, para");
    args->scheme_option = command->add_option(
        "--scheme", args->scheme, "sr25519, ed25519 or ecdsa; implied by known key types");
    AddSuriOptions(command, args->suri, /*positional=*/false);
    args->keystore_option = command->add_option(
        "--keystore-dir", args->keystore_dir,
        "import every key of a Substrate file keystore directory (files named hex(key type) + "
        "hex(public key), each holding its SURI as a JSON string)");
    args->polkadot_js_option = command->add_option(
        "--polkadot-js", args->polkadot_js,
        "import the key of an encrypted polkadot-js JSON export (needs --type and "
        "--password-file)");
    command->add_option("--password-file", args->password_file,
                        "file holding the polkadot-js export's password (mode 0600 or stricter)");
    table.Add(command, [args] { return RunImport(*args); });
  }
  {
    auto config = std::make_shared<std::string>();
    auto list = std::make_shared<std::string>();
    CLI::App* command = keys->add_subcommand(
        "rotate", "generate a fresh key per session key type and print the SessionKeys blob");
    AddConfigOption(command, *config);
    command
        ->add_option("--session-keys", *list,
                     "key types in the runtime's SessionKeys order, e.g. "
                     "babe,gran,para,asgn,audi,beef")
        ->required();
    table.Add(command, [config, list] { return RunRotate(*config, *list); });
  }
  for (const bool disable : {true, false}) {
    auto args = std::make_shared<DisableArgs>();
    CLI::App* command = keys->add_subcommand(
        disable ? "disable" : "enable",
        disable ? "stop a key signing and hide it from validators, keeping it on the token (a "
                  "running signerd honours it within 2 s)"
                : "let a disabled key sign again");
    AddConfigOption(command, args->config);
    command->add_option("--type", args->key_type, "key type")->required();
    command->add_option("--public", args->public_key, "public key, hex")->required();
    table.Add(command, [args, disable] { return RunSetDisabled(*args, disable); });
  }
  {
    auto args = std::make_shared<DeleteArgs>();
    CLI::App* command = keys->add_subcommand(
        "delete",
        "delete a key; refused if the slashing-protection history shows it signed within "
        "keys.delete_guard_seconds, or cannot tell, unless --force");
    AddConfigOption(command, args->config);
    command->add_option("--type", args->key_type, "key type")->required();
    command->add_option("--public", args->public_key, "public key, hex")->required();
    command->add_flag("--force", args->force, "delete even if the key signed recently");
    table.Add(command, [args] { return RunDelete(*args); });
  }
  {
    auto args = std::make_shared<BackupArgs>();
    CLI::App* command = keys->add_subcommand(
        "backup",
        "write an encrypted backup (Argon2id + XChaCha20-Poly1305) of the token's sr25519 secrets "
        "and the identities of its non-extractable ed25519/ecdsa keys");
    AddConfigOption(command, args->config);
    command->add_option("--out", args->file, "backup file to create (must not exist)")->required();
    command
        ->add_option("--passphrase-file", args->passphrase_file,
                     "file holding the backup passphrase (mode 0600 or stricter)")
        ->required();
    table.Add(command, [args] { return RunBackup(*args); });
  }
  {
    auto args = std::make_shared<BackupArgs>();
    CLI::App* command = keys->add_subcommand(
        "restore", "import the keys of an encrypted backup that are not on the token yet");
    AddConfigOption(command, args->config);
    command->add_option("--in", args->file, "backup file made by `keys backup`")->required();
    command
        ->add_option("--passphrase-file", args->passphrase_file,
                     "file holding the backup passphrase (mode 0600 or stricter)")
        ->required();
    table.Add(command, [args] { return RunRestore(*args); });
  }
}

}  // namespace signerctl
