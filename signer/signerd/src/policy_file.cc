// Strict parsing and evaluation of the signerd policy file.
#include "signerd/policy_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <utility>

#include "base/hex.h"

namespace signer {
namespace {

using base::Result;
using base::Status;

constexpr size_t kMaxPolicyBytes = 1 << 20;

std::optional<Operation> ParseOperation(std::string_view name) {
  for (Operation operation : {Operation::kSign, Operation::kVrf, Operation::kGenerate,
                              Operation::kInsert, Operation::kList}) {
    if (OperationName(operation) == name) {
      return operation;
    }
  }
  return std::nullopt;
}

// CheckMapping refuses anything but a mapping of scalar keys without duplicates: YAML parsers keep
// one of two duplicate keys silently, and a reviewer reading the file would not notice.
Status CheckMapping(const YAML::Node& node, const std::string& where) {
  if (!node.IsMap()) {
    return Status::InvalidArgument(where + " must be a mapping");
  }
  std::set<std::string> seen;
  for (const auto& entry : node) {
    if (!entry.first.IsScalar() || !seen.insert(entry.first.Scalar()).second) {
      return Status::InvalidArgument(where + " has a duplicate or non-scalar key");
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> ScalarList(const YAML::Node& node, const std::string& where) {
  if (!node.IsSequence()) {
    return Status::InvalidArgument(where + " must be a list");
  }
  std::vector<std::string> out;
  for (const YAML::Node& entry : node) {
    if (!entry.IsScalar()) {
      return Status::InvalidArgument(where + " entries must be strings");
    }
    out.push_back(entry.Scalar());
  }
  return out;
}

}  // namespace

std::string_view OperationName(Operation operation) {
  switch (operation) {
    case Operation::kSign:
      return "sign";
    case Operation::kVrf:
      return "vrf";
    case Operation::kGenerate:
      return "generate";
    case Operation::kInsert:
      return "insert";
    case Operation::kList:
      return "list";
  }
  return "unknown";
}

Result<Policy> Policy::Parse(std::string_view yaml_text) {
  Policy policy;
  YAML::Node root;
  // yaml-cpp throws on malformed input; nothing may escape this module boundary.
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& error) {
    return Status::InvalidArgument("policy is not valid YAML (line " +
                                   std::to_string(error.mark.line + 1) + ")");
  }
  SIGNER_RETURN_IF_ERROR(CheckMapping(root, "policy"));
  for (const auto& entry : root) {
    if (entry.first.Scalar() != "identities") {
      return Status::InvalidArgument("unknown field " + entry.first.Scalar());
    }
  }
  const YAML::Node identities = root["identities"];
  if (!identities) {
    return Status::InvalidArgument("identities is required");
  }
  SIGNER_RETURN_IF_ERROR(CheckMapping(identities, "identities"));
  for (const auto& identity_entry : identities) {
    const std::string identity = identity_entry.first.Scalar();
    const std::string where = "identities." + identity;
    if (identity.empty()) {
      return Status::InvalidArgument("identities has an empty identity");
    }
    const YAML::Node grants = identity_entry.second;
    if (!grants.IsSequence()) {
      return Status::InvalidArgument(where + " must be a list of grants");
    }
    std::vector<Grant>& out = policy.grants_[identity];
    size_t index = 0;
    for (const YAML::Node& grant_node : grants) {
      const std::string grant_where = where + "[" + std::to_string(index++) + "]";
      SIGNER_RETURN_IF_ERROR(CheckMapping(grant_node, grant_where));
      Grant grant;
      bool has_key_types = false;
      bool has_operations = false;
      for (const auto& field : grant_node) {
        const std::string name = field.first.Scalar();
        const std::string field_where = grant_where + "." + name;
        auto values = ScalarList(field.second, field_where);
        if (!values.ok()) {
          if (name != "key_types" && name != "operations" && name != "public_keys") {
            return Status::InvalidArgument("unknown field " + field_where);
          }
          return values.status();
        }
        if (name == "key_types") {
          has_key_types = true;
          for (const std::string& value : *values) {
            auto key_type = base::MakeKeyTypeId(value);
            if (!key_type.ok()) {
              return Status::InvalidArgument(field_where + ": bad key type");
            }
            grant.key_types.insert(*key_type);
          }
        } else if (name == "operations") {
          has_operations = true;
          for (const std::string& value : *values) {
            std::optional<Operation> operation = ParseOperation(value);
            if (!operation) {
              return Status::InvalidArgument(field_where + ": unknown operation " + value);
            }
            grant.operations.insert(*operation);
          }
        } else if (name == "public_keys") {
          for (const std::string& value : *values) {
            std::string_view hex = value;
            if (hex.starts_with("0x")) {
              hex.remove_prefix(2);
            }
            auto bytes = base::HexDecode(hex);
            if (!bytes.ok() || (bytes->size() != 32 && bytes->size() != 33)) {
              return Status::InvalidArgument(field_where +
                                             ": public keys are 32 or 33 bytes of hex");
            }
            grant.public_keys.insert(std::move(*bytes));
          }
        } else {
          return Status::InvalidArgument("unknown field " + field_where);
        }
      }
      if (!has_key_types || !has_operations) {
        return Status::InvalidArgument(grant_where + " needs key_types and operations");
      }
      out.push_back(std::move(grant));
    }
  }
  return policy;
}

Result<Policy> Policy::Load(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Status::NotFound("cannot read policy file " + path);
  }
  std::string text(kMaxPolicyBytes + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(file.gcount()));
  if (text.size() > kMaxPolicyBytes) {
    return Status::InvalidArgument("policy file is larger than 1 MiB");
  }
  return Parse(text);
}

bool Policy::Allows(std::string_view identity, Operation operation,
                    const base::KeyTypeId& key_type) const {
  auto found = grants_.find(identity);
  if (identity.empty() || found == grants_.end()) {
    return false;
  }
  return std::any_of(found->second.begin(), found->second.end(), [&](const Grant& grant) {
    return grant.operations.contains(operation) && grant.key_types.contains(key_type);
  });
}

bool Policy::Owns(std::string_view identity, Operation operation, const base::KeyTypeId& key_type,
                  std::span<const uint8_t> public_key) const {
  auto found = grants_.find(identity);
  if (identity.empty() || found == grants_.end()) {
    return false;
  }
  const std::vector<uint8_t> key(public_key.begin(), public_key.end());
  return std::any_of(found->second.begin(), found->second.end(), [&](const Grant& grant) {
    return grant.operations.contains(operation) && grant.key_types.contains(key_type) &&
           grant.public_keys.contains(key);
  });
}

}  // namespace signer
