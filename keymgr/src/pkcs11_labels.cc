// How the PKCS#11 custody names its token objects: building and parsing identities and labels.
#include "pkcs11_labels.h"

#include <charconv>
#include <system_error>
#include <utility>

#include "base/hex.h"
#include "base/substrate_types.h"

namespace keymgr::pkcs11 {

std::vector<uint8_t> IdBytes(const KeyId& id) {
  std::vector<uint8_t> bytes(id.key_type.begin(), id.key_type.end());
  bytes.insert(bytes.end(), id.public_key.begin(), id.public_key.end());
  return bytes;
}

std::string MakeLabel(const KeyId& id, int64_t created_at, std::string_view origin) {
  return base::KeyTypeName(id.key_type) + ":" + base::HexEncode(id.public_key) + ":" +
         std::to_string(created_at) + ":" + std::string(origin);
}

std::optional<ParsedLabel> ParseLabel(std::span<const uint8_t> bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::vector<std::string_view> parts;
  while (true) {
    size_t colon = text.find(':');
    parts.push_back(text.substr(0, colon));
    if (colon == std::string_view::npos) break;
    text.remove_prefix(colon + 1);
  }
  if (parts.size() != 4) return std::nullopt;
  base::Result<base::KeyTypeId> key_type = base::MakeKeyTypeId(parts[0]);
  base::Result<std::vector<uint8_t>> public_key = base::HexDecode(parts[1]);
  if (!key_type.ok() || !public_key.ok()) return std::nullopt;
  ParsedLabel parsed;
  parsed.id = KeyId{*key_type, std::move(public_key).value()};
  auto [end, error] =
      std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), parsed.created_at);
  if (error != std::errc() || end != parts[2].data() + parts[2].size()) return std::nullopt;
  if (parts[3] == kOriginGenerated) {
    parsed.generated = true;
  } else if (parts[3] != kOriginImported) {
    return std::nullopt;
  }
  return parsed;
}

std::string DisabledLabel(const KeyId& id) {
  return base::KeyTypeName(id.key_type) + ":" + base::HexEncode(id.public_key);
}

std::optional<KeyId> ParseDisabledLabel(std::span<const uint8_t> bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  base::Result<base::KeyTypeId> key_type = base::MakeKeyTypeId(text.substr(0, colon));
  base::Result<std::vector<uint8_t>> public_key = base::HexDecode(text.substr(colon + 1));
  if (!key_type.ok() || !public_key.ok() || public_key->empty()) return std::nullopt;
  return KeyId{*key_type, std::move(public_key).value()};
}

}  // namespace keymgr::pkcs11
