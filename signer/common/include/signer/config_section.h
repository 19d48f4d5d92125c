// Strict reading of YAML configuration files: every field consumed once, unknown and duplicate
// fields refused, types checked. Shared by every program's configuration (signerd, signerctl, the
// gateway).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "base/status.h"

namespace signer {

// ConfigSection is a YAML mapping whose fields are consumed one by one, so what is left at the end
// is unknown. `path` names the section in messages ("" for the document itself).
class ConfigSection {
 public:
  ConfigSection(YAML::Node node, std::string path);

  // Check refuses anything but a mapping, and duplicate keys, which YAML parsers resolve silently
  // and a reviewer would not see.
  base::Status Check() const;
  // Take consumes `field` and returns its node, nullopt when absent.
  std::optional<YAML::Node> Take(const std::string& field);
  std::string FieldPath(const std::string& field) const;
  // String reads a non-empty scalar; absent is an error only when `required`.
  base::Status String(const std::string& field, bool required, std::string& out);
  // Integer reads an unquoted integer in [min, max]; absent leaves `out` as it was.
  base::Status Integer(const std::string& field, int64_t min, int64_t max, int64_t& out);
  // RejectUnknown fails naming the first field nobody took.
  base::Status RejectUnknown() const;

 private:
  YAML::Node node_;
  std::string path_;
  std::set<std::string> consumed_;
};

// IsQuoted tells a quoted scalar ("8") from a plain one (8).
bool IsQuoted(const YAML::Node& node);

// ResolveConfigPath makes a relative `path` relative to `base_dir` (the configuration file's
// directory); absolute paths, and everything when `base_dir` is empty, stay as they are.
std::string ResolveConfigPath(const std::string& path, std::string_view base_dir);

}  // namespace signer
