// Key type ids and signature schemes: parsing untrusted text and the names Substrate uses.
#include "base/substrate_types.h"

namespace base {

Result<KeyTypeId> MakeKeyTypeId(std::string_view name) {
  if (name.size() != kKeyTypeIdSize) {
    return Status::InvalidArgument("key type must be exactly 4 characters");
  }
  KeyTypeId id{};
  for (size_t i = 0; i < kKeyTypeIdSize; ++i) {
    const auto c = static_cast<uint8_t>(name[i]);
    if (c < 0x21 || c > 0x7e || c == ':') {
      return Status::InvalidArgument("key type must be printable ASCII without ':'");
    }
    id[i] = c;
  }
  return id;
}

std::string KeyTypeName(const KeyTypeId& key_type) {
  return std::string(key_type.begin(), key_type.end());
}

Result<Scheme> ParseScheme(std::string_view name) {
  for (Scheme scheme : kAllSchemes) {
    if (name == SchemeName(scheme)) return scheme;
  }
  return Status::InvalidArgument("unknown signature scheme (expected sr25519, ed25519 or ecdsa)");
}

std::optional<Scheme> ParseSchemeOrCryptoId(std::string_view text) {
  for (Scheme scheme : kAllSchemes) {
    if (text == SchemeName(scheme) || text == SchemeCryptoId(scheme)) return scheme;
  }
  return std::nullopt;
}

std::string_view SchemeName(Scheme scheme) {
  switch (scheme) {
    case Scheme::kSr25519:
      return "sr25519";
    case Scheme::kEd25519:
      return "ed25519";
    case Scheme::kEcdsa:
      return "ecdsa";
  }
  return "unknown";
}

std::string_view SchemeCryptoId(Scheme scheme) {
  switch (scheme) {
    case Scheme::kSr25519:
      return "sr25";
    case Scheme::kEd25519:
      return "ed25";
    case Scheme::kEcdsa:
      return "ecds";
  }
  return "????";
}

size_t PublicKeySize(Scheme scheme) { return scheme == Scheme::kEcdsa ? 33 : 32; }

std::optional<Scheme> RequiredSchemeForKeyType(const KeyTypeId& key_type) {
  const std::string name = KeyTypeName(key_type);
  if (name == "gran") return Scheme::kEd25519;
  if (name == "beef") return Scheme::kEcdsa;
  if (name == "babe" || name == "para" || name == "asgn" || name == "audi" || name == "imon") {
    return Scheme::kSr25519;
  }
  return std::nullopt;
}

}  // namespace base
