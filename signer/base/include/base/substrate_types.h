// The Substrate vocabulary every module shares: key type ids, hashes, signature schemes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace base {

using Hash256 = std::array<uint8_t, 32>;
using Hash512 = std::array<uint8_t, 64>;

// KeyTypeId is Substrate's KeyTypeId: four ASCII bytes such as "babe" or "gran".
inline constexpr size_t kKeyTypeIdSize = 4;
using KeyTypeId = std::array<uint8_t, kKeyTypeIdSize>;

// KeyTypeIdFromLiteral turns a four-character literal such as "gran" into a KeyTypeId at compile
// time; use MakeKeyTypeId for text that comes from outside.
constexpr KeyTypeId KeyTypeIdFromLiteral(const char (&id)[5]) {
  return {static_cast<uint8_t>(id[0]), static_cast<uint8_t>(id[1]), static_cast<uint8_t>(id[2]),
          static_cast<uint8_t>(id[3])};
}
inline constexpr KeyTypeId kKeyTypeBabe = KeyTypeIdFromLiteral("babe");
inline constexpr KeyTypeId kKeyTypeGrandpa = KeyTypeIdFromLiteral("gran");
inline constexpr KeyTypeId kKeyTypeBeefy = KeyTypeIdFromLiteral("beef");
inline constexpr KeyTypeId kKeyTypePara = KeyTypeIdFromLiteral("para");

// MakeKeyTypeId checks untrusted text. Fails with kInvalidArgument unless `name` is exactly 4
// printable ASCII characters other than ':' (token labels use ':' as separator).
Result<KeyTypeId> MakeKeyTypeId(std::string_view name);
// KeyTypeName returns the 4 characters of `key_type` as a string.
std::string KeyTypeName(const KeyTypeId& key_type);

// Scheme is a signature scheme Substrate keys use.
enum class Scheme { kSr25519, kEd25519, kEcdsa };
inline constexpr Scheme kAllSchemes[] = {Scheme::kSr25519, Scheme::kEd25519, Scheme::kEcdsa};

// ParseScheme accepts "sr25519", "ed25519" and "ecdsa". Fails with kInvalidArgument otherwise.
Result<Scheme> ParseScheme(std::string_view name);
// ParseSchemeOrCryptoId accepts the names ParseScheme accepts and Substrate's 4-byte crypto ids
// ("sr25", "ed25", "ecds"), as the keystore API's crypto_type field may carry either.
std::optional<Scheme> ParseSchemeOrCryptoId(std::string_view text);
// SchemeName returns the lower-case name ParseScheme accepts.
std::string_view SchemeName(Scheme scheme);
// SchemeCryptoId returns Substrate's 4-byte crypto id: "sr25", "ed25" or "ecds".
std::string_view SchemeCryptoId(Scheme scheme);
// PublicKeySize is 32 bytes for sr25519 and ed25519, 33 (compressed) for ecdsa.
size_t PublicKeySize(Scheme scheme);

// RequiredSchemeForKeyType returns the scheme Substrate's runtime uses for a known key type (`gran`
// ed25519, `beef` ecdsa, `babe`/`para`/`asgn`/`audi`/`imon` sr25519), or nullopt for types that
// accept any scheme (such as `acco`).
std::optional<Scheme> RequiredSchemeForKeyType(const KeyTypeId& key_type);

}  // namespace base
