// Strict reading of YAML configuration sections: consumed fields, unknown and duplicate refused.
#include "signer/config_section.h"

#include <charconv>
#include <filesystem>
#include <utility>

namespace signer {

using base::Status;

// yaml-cpp tags quoted scalars "!".
bool IsQuoted(const YAML::Node& node) { return node.Tag() == "!"; }

ConfigSection::ConfigSection(YAML::Node node, std::string path)
    : node_(std::move(node)), path_(std::move(path)) {}

Status ConfigSection::Check() const {
  if (!node_.IsMap()) {
    return Status::InvalidArgument((path_.empty() ? "config" : path_) + " must be a mapping");
  }
  std::set<std::string> seen;
  for (const auto& entry : node_) {
    if (!entry.first.IsScalar()) {
      return Status::InvalidArgument("non-scalar key in " + (path_.empty() ? "config" : path_));
    }
    if (!seen.insert(entry.first.Scalar()).second) {
      return Status::InvalidArgument("duplicate field " + FieldPath(entry.first.Scalar()));
    }
  }
  return Status::Ok();
}

std::optional<YAML::Node> ConfigSection::Take(const std::string& field) {
  consumed_.insert(field);
  for (const auto& entry : node_) {
    if (entry.first.Scalar() == field) {
      return entry.second;
    }
  }
  return std::nullopt;
}

std::string ConfigSection::FieldPath(const std::string& field) const {
  return path_.empty() ? field : path_ + "." + field;
}

Status ConfigSection::String(const std::string& field, bool required, std::string& out) {
  std::optional<YAML::Node> value = Take(field);
  if (!value) {
    return required ? Status::InvalidArgument(FieldPath(field) + " is required") : Status::Ok();
  }
  if (!value->IsScalar() || value->Scalar().empty()) {
    return Status::InvalidArgument(FieldPath(field) + " must be a non-empty string");
  }
  out = value->Scalar();
  return Status::Ok();
}

Status ConfigSection::Integer(const std::string& field, int64_t min, int64_t max, int64_t& out) {
  std::optional<YAML::Node> value = Take(field);
  if (!value) {
    return Status::Ok();
  }
  const std::string text = value->IsScalar() ? value->Scalar() : std::string();
  int64_t number = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (!value->IsScalar() || IsQuoted(*value) || text.empty() || error != std::errc() ||
      end != text.data() + text.size()) {
    return Status::InvalidArgument(FieldPath(field) + " must be an integer");
  }
  if (number < min || number > max) {
    return Status::InvalidArgument(FieldPath(field) + " must be between " + std::to_string(min) +
                                   " and " + std::to_string(max));
  }
  out = number;
  return Status::Ok();
}

Status ConfigSection::RejectUnknown() const {
  for (const auto& entry : node_) {
    if (!consumed_.contains(entry.first.Scalar())) {
      return Status::InvalidArgument("unknown field " + FieldPath(entry.first.Scalar()));
    }
  }
  return Status::Ok();
}

std::string ResolveConfigPath(const std::string& path, std::string_view base_dir) {
  if (path.empty() || base_dir.empty()) {
    return path;
  }
  std::filesystem::path candidate(path);
  if (candidate.is_absolute()) {
    return path;
  }
  return (std::filesystem::path(base_dir) / candidate).lexically_normal().string();
}

}  // namespace signer
