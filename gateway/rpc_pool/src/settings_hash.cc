// Standardising a node's startup flags and hashing them into the pool's settings hash.
#include "rpc_pool/settings_hash.h"

#include <algorithm>
#include <cstdint>
#include <span>
#include <utility>

#include "base/hash.h"
#include "base/hex.h"

namespace rpc_pool {
namespace {

using base::Result;
using base::Status;

bool HasControlCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

// LongNameOf maps a flag token ("--rpc-cors", "-d") to its long name without dashes.
Result<std::string> LongNameOf(std::string_view token) {
  if (token.starts_with("--")) {
    std::string_view name = token.substr(2);
    if (name.empty() || name.starts_with("-")) {
      return Status::InvalidArgument("malformed flag '" + std::string(token) + "'");
    }
    return std::string(name);
  }
  // Substrate's CLI defines only these two short forms for a node run.
  if (token == "-d") return std::string("base-path");
  if (token == "-l") return std::string("log");
  return Status::InvalidArgument("unknown short flag '" + std::string(token) + "'");
}

bool IsFlagToken(std::string_view token) { return token.size() > 1 && token[0] == '-'; }

}  // namespace

Result<std::vector<std::string>> StandardiseNodeFlags(const std::vector<std::string>& args,
                                                      const std::vector<std::string>& excluded) {
  std::vector<std::string> lines;
  size_t i = 0;
  while (i < args.size()) {
    const std::string& token = args[i];
    if (!IsFlagToken(token)) {
      return Status::InvalidArgument("expected a flag, found '" + token + "'");
    }
    if (HasControlCharacter(token)) {
      return Status::InvalidArgument("a flag holds a control character");
    }
    ++i;
    std::vector<std::string> values;
    std::string_view flag = token;
    if (const size_t equals = flag.find('='); equals != std::string_view::npos) {
      values.emplace_back(flag.substr(equals + 1));
      flag = flag.substr(0, equals);
    }
    SIGNER_ASSIGN_OR_RETURN(std::string name, LongNameOf(flag));
    // Values that follow without '=' belong to this flag until the next flag.
    while (i < args.size() && !IsFlagToken(args[i])) {
      if (HasControlCharacter(args[i])) {
        return Status::InvalidArgument("a value of --" + name + " holds a control character");
      }
      values.push_back(args[i]);
      ++i;
    }
    if (std::find(excluded.begin(), excluded.end(), name) != excluded.end()) continue;
    if (values.empty()) {
      lines.push_back("--" + name);
    }
    for (const std::string& value : values) {
      std::string line = "--";
      line.append(name).append("=").append(value);
      lines.push_back(std::move(line));
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::string SettingsHashOfLines(const std::vector<std::string>& standardised_lines) {
  std::string text;
  for (const std::string& line : standardised_lines) {
    text += line;
    text += '\n';
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  return base::HexEncode(base::Blake2b256(std::span<const uint8_t>(bytes, text.size())));
}

Result<std::string> SettingsHash(const std::vector<std::string>& args,
                                 const std::vector<std::string>& excluded) {
  SIGNER_ASSIGN_OR_RETURN(std::vector<std::string> lines, StandardiseNodeFlags(args, excluded));
  return SettingsHashOfLines(lines);
}

bool IsSettingsHash(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace rpc_pool
