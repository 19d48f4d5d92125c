// Strict parsing of the signer configuration file: unknown fields, wrong types and bad values fail.
#include "signer/config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "keymgr/hex.h"

namespace signer {
namespace {

using keymgr::Result;
using keymgr::Status;
using Json = nlohmann::json;

constexpr size_t kMaxConfigBytes = 1 << 20;

// Key types the protection engine treats as slashable; only these may be listed in
// allow_unrecognised, because the policy means nothing for the others.
const std::set<std::string>& SlashableKeyTypes() {
  static const std::set<std::string> kTypes = {"babe", "gran", "beef", "para"};
  return kTypes;
}

// Section is a JSON object whose fields are consumed one by one, so leftovers are unknown fields.
class Section {
 public:
  Section(const Json& object, std::string path) : object_(object), path_(std::move(path)) {}

  Status CheckObject() const {
    if (!object_.is_object()) {
      return Status::InvalidArgument(path_ + " must be an object");
    }
    return Status::Ok();
  }

  const Json* Take(const std::string& field) {
    consumed_.insert(field);
    auto it = object_.find(field);
    return it == object_.end() ? nullptr : &*it;
  }

  std::string FieldPath(const std::string& field) const {
    return path_.empty() ? field : path_ + "." + field;
  }

  Status String(const std::string& field, bool required, std::string& out) {
    const Json* value = Take(field);
    if (value == nullptr) {
      return required ? Status::InvalidArgument(FieldPath(field) + " is required") : Status::Ok();
    }
    if (!value->is_string() || value->get_ref<const std::string&>().empty()) {
      return Status::InvalidArgument(FieldPath(field) + " must be a non-empty string");
    }
    out = value->get<std::string>();
    return Status::Ok();
  }

  Status Integer(const std::string& field, int64_t min, int64_t max, int64_t& out) {
    const Json* value = Take(field);
    if (value == nullptr) {
      return Status::Ok();
    }
    if (!value->is_number_integer()) {
      return Status::InvalidArgument(FieldPath(field) + " must be an integer");
    }
    const int64_t number = value->get<int64_t>();
    if (number < min || number > max) {
      return Status::InvalidArgument(FieldPath(field) + " must be between " + std::to_string(min) +
                                     " and " + std::to_string(max));
    }
    out = number;
    return Status::Ok();
  }

  Status RejectUnknown() const {
    for (auto it = object_.begin(); it != object_.end(); ++it) {
      if (!consumed_.contains(it.key())) {
        return Status::InvalidArgument("unknown field " + FieldPath(it.key()));
      }
    }
    return Status::Ok();
  }

 private:
  const Json& object_;
  std::string path_;
  std::set<std::string> consumed_;
};

std::string Resolve(const std::string& path, std::string_view base_dir) {
  if (path.empty() || base_dir.empty()) {
    return path;
  }
  std::filesystem::path candidate(path);
  if (candidate.is_absolute()) {
    return path;
  }
  return (std::filesystem::path(base_dir) / candidate).lexically_normal().string();
}

#define SIGNER_RETURN_IF_ERROR(expr)   \
  do {                                 \
    Status status_ = (expr);           \
    if (!status_.ok()) return status_; \
  } while (false)

Status ParseHsm(const Json& json, std::string_view base_dir, HsmConfig& out) {
  Section section(json, "hsm");
  SIGNER_RETURN_IF_ERROR(section.CheckObject());
  SIGNER_RETURN_IF_ERROR(section.String("module", true, out.module));
  SIGNER_RETURN_IF_ERROR(section.String("token_label", true, out.token_label));
  SIGNER_RETURN_IF_ERROR(section.String("pin_file", false, out.pin_file));
  SIGNER_RETURN_IF_ERROR(section.String("pin_env", false, out.pin_env));
  int64_t sessions = static_cast<int64_t>(out.max_sessions);
  SIGNER_RETURN_IF_ERROR(section.Integer("max_sessions", 1, 256, sessions));
  out.max_sessions = static_cast<size_t>(sessions);
  SIGNER_RETURN_IF_ERROR(section.RejectUnknown());
  if (out.pin_file.empty() == out.pin_env.empty()) {
    return Status::InvalidArgument("hsm needs exactly one of pin_file and pin_env");
  }
  out.module = Resolve(out.module, base_dir);
  out.pin_file = Resolve(out.pin_file, base_dir);
  return Status::Ok();
}

Status ParseHistory(const Json& json, std::string_view base_dir, HistoryConfig& out) {
  Section section(json, "history");
  SIGNER_RETURN_IF_ERROR(section.CheckObject());
  SIGNER_RETURN_IF_ERROR(section.String("data_dir", true, out.data_dir));
  std::string genesis_text;
  SIGNER_RETURN_IF_ERROR(section.String("genesis_hash", true, genesis_text));
  auto genesis = keymgr::HexDecode(genesis_text);
  if (!genesis.ok() || genesis->size() != out.genesis_hash.size()) {
    return Status::InvalidArgument("history.genesis_hash must be 32 bytes of hex");
  }
  std::copy(genesis->begin(), genesis->end(), out.genesis_hash.begin());
  if (const Json* allow = section.Take("allow_unrecognised"); allow != nullptr) {
    if (!allow->is_array()) {
      return Status::InvalidArgument("history.allow_unrecognised must be an array of key types");
    }
    for (const Json& entry : *allow) {
      if (!entry.is_string() || !SlashableKeyTypes().contains(entry.get<std::string>())) {
        return Status::InvalidArgument(
            "history.allow_unrecognised entries must be one of babe, gran, beef, para");
      }
      out.allow_unrecognised.push_back(entry.get<std::string>());
    }
  }
  SIGNER_RETURN_IF_ERROR(section.RejectUnknown());
  out.data_dir = Resolve(out.data_dir, base_dir);
  return Status::Ok();
}

Status ParseKeys(const Json& json, KeysConfig& out) {
  Section section(json, "keys");
  SIGNER_RETURN_IF_ERROR(section.CheckObject());
  SIGNER_RETURN_IF_ERROR(section.Integer("delete_guard_seconds", 0, int64_t{10} * 365 * 24 * 3600,
                                         out.delete_guard_seconds));
  return section.RejectUnknown();
}

}  // namespace

Result<SignerConfig> ParseSignerConfig(std::string_view json_text, std::string_view base_dir) {
  Json document =
      Json::parse(json_text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/false);
  if (document.is_discarded()) {
    return Status::InvalidArgument("config is not valid JSON");
  }
  SignerConfig config;
  Section root(document, "");
  if (!document.is_object()) {
    return Status::InvalidArgument("config must be a JSON object");
  }
  SIGNER_RETURN_IF_ERROR(root.String("signer_id", true, config.signer_id));
  const Json* hsm = root.Take("hsm");
  if (hsm == nullptr) {
    return Status::InvalidArgument("hsm is required");
  }
  SIGNER_RETURN_IF_ERROR(ParseHsm(*hsm, base_dir, config.hsm));
  const Json* history = root.Take("history");
  if (history == nullptr) {
    return Status::InvalidArgument("history is required");
  }
  SIGNER_RETURN_IF_ERROR(ParseHistory(*history, base_dir, config.history));
  if (const Json* keys = root.Take("keys"); keys != nullptr) {
    SIGNER_RETURN_IF_ERROR(ParseKeys(*keys, config.keys));
  }
  SIGNER_RETURN_IF_ERROR(root.RejectUnknown());
  return config;
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
