// polkadot-js export decoder: scrypt and xsalsa20-poly1305 through libsodium, PKCS#8-like body.
#include "keymgr/keys_polkadot_js.h"

#include "base/json_depth.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/hash.h"
#include "base/hex.h"
#include "base/secret_bytes.h"
#include "keymgr/ecdsa.h"
#include "keymgr/ed25519.h"
#include "keymgr/sr25519.h"
#include "keymgr/ss58.h"

namespace keymgr {
namespace {

using base::Result;
using base::SecretBytes;
using base::Status;

// An export is a few hundred bytes of JSON; the limits keep a hostile file cheap to refuse.
constexpr size_t kMaxExportSize = 64 * 1024;
constexpr int kMaxJsonDepth = 8;

constexpr size_t kSaltSize = 32;
constexpr size_t kScryptParamsSize = 12;
constexpr size_t kNonceSize = crypto_secretbox_NONCEBYTES;
constexpr size_t kKeySize = crypto_secretbox_KEYBYTES;
constexpr size_t kMacSize = crypto_secretbox_MACBYTES;
constexpr size_t kScryptOutputSize = 64;  // polkadot-js derives 64 bytes and keys with the first 32
static_assert(kNonceSize == 24 && kKeySize == 32 && kMacSize == 16);

// The fixed body framing of generations 1-3 (@polkadot/keyring pair/defaults).
constexpr std::array<uint8_t, 16> kPairHeader = {48, 83, 2,   1,   1, 48, 5, 6,
                                                 3,  43, 101, 112, 4, 34, 4, 32};
constexpr std::array<uint8_t, 5> kPairDivider = {161, 35, 3, 33, 0};
constexpr size_t kGen3SecretSize = 64;
constexpr size_t kSeedSize = 32;

struct ScryptParams {
  uint32_t n, p, r;
};
// The presets polkadot-js accepts (util-crypto scrypt/defaults ALLOWED_PARAMS); others are refused
// there too, so a crafted file cannot ask for gigabytes.
constexpr ScryptParams kAllowedScrypt[] = {{1u << 13, 10, 8}, {1u << 14, 5, 8}, {1u << 15, 3, 8},
                                           {1u << 15, 1, 8},  {1u << 16, 2, 8}, {1u << 17, 1, 8}};

Status Invalid(const std::string& why) {
  return Status::InvalidArgument("polkadot-js export: " + why);
}

uint32_t ReadLe32(const uint8_t* bytes) {
  return static_cast<uint32_t>(bytes[0]) | static_cast<uint32_t>(bytes[1]) << 8 |
         static_cast<uint32_t>(bytes[2]) << 16 | static_cast<uint32_t>(bytes[3]) << 24;
}

// StringList accepts a string or an array of strings, as polkadot-js writes either.
std::optional<std::vector<std::string>> StringList(const nlohmann::json& value) {
  std::vector<std::string> out;
  if (value.is_string()) {
    out.push_back(value.get<std::string>());
    return out;
  }
  if (!value.is_array()) return std::nullopt;
  for (const nlohmann::json& item : value) {
    if (!item.is_string()) return std::nullopt;
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<std::vector<uint8_t>> DecodeEncoded(const std::string& encoded) {
  // Refused up front: an empty vector's data() is null, which libsodium's base64 decoder is
  // declared never to receive (UBSan stops on it), and an empty export holds nothing anyway.
  if (encoded.empty()) return Invalid("\"encoded\" is empty");
  if (encoded.starts_with("0x")) {
    auto bytes = base::HexDecode(encoded);
    if (!bytes.ok()) return Invalid("\"encoded\" is not valid hex");
    return bytes;
  }
  std::vector<uint8_t> bytes(encoded.size());
  size_t size = 0;
  if (sodium_base642bin(bytes.data(), bytes.size(), encoded.data(), encoded.size(), nullptr, &size,
                        nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return Invalid("\"encoded\" is not valid base64");
  }
  bytes.resize(size);
  return bytes;
}

// Sr25519FromPolkadotJs turns polkadot-js's stored secret, (8·a mod 2^256) || nonce as schnorrkel's
// to_ed25519_bytes writes it, into the canonical a || nonce. a < 2^253, so 8·a never wraps and
// dividing by 8 is a 3-bit right shift of the little-endian number.
Result<keymgr::Sr25519Keypair> Sr25519FromPolkadotJs(std::span<const uint8_t> stored) {
  if ((stored[0] & 0x07) != 0) return Invalid("sr25519 secret is not a multiple of the cofactor");
  SecretBytes canonical(keymgr::kSr25519SecretSize);
  for (size_t i = 0; i < 32; ++i) {
    const uint8_t next = i + 1 < 32 ? stored[i + 1] : 0;
    canonical.data()[i] = static_cast<uint8_t>((stored[i] >> 3) | (next << 5));
  }
  std::copy(stored.begin() + 32, stored.begin() + 64, canonical.data() + 32);
  auto pair = keymgr::Sr25519Keypair::FromSecret(canonical.span());
  if (!pair.ok()) return Invalid("sr25519 secret is not a valid key");
  return pair;
}

Result<keymgr::Keypair> KeypairFromBody(base::Scheme scheme, std::span<const uint8_t> secret) {
  switch (scheme) {
    case base::Scheme::kSr25519: {
      if (secret.size() == kSeedSize) {
        auto pair = keymgr::Sr25519Keypair::FromMiniSecret(secret);
        if (!pair.ok()) return Invalid("bad sr25519 seed");
        return keymgr::Keypair(std::move(*pair));
      }
      auto pair = Sr25519FromPolkadotJs(secret);
      if (!pair.ok()) return pair.status();
      return keymgr::Keypair(std::move(*pair));
    }
    case base::Scheme::kEd25519: {
      // A 64-byte ed25519 secret is seed || public key (the NaCl form).
      auto pair = keymgr::Ed25519Keypair::FromSeed(secret.first(kSeedSize));
      if (!pair.ok()) return Invalid("bad ed25519 seed");
      if (secret.size() == kGen3SecretSize &&
          !std::equal(pair->public_key().begin(), pair->public_key().end(),
                      secret.begin() + kSeedSize)) {
        return Invalid("ed25519 secret does not match its public half");
      }
      return keymgr::Keypair(std::move(*pair));
    }
    case base::Scheme::kEcdsa: {
      if (secret.size() != kSeedSize) return Invalid("ecdsa secret has the wrong size");
      auto pair = keymgr::EcdsaKeypair::FromSeed(secret);
      if (!pair.ok()) return Invalid("bad ecdsa secret");
      return keymgr::Keypair(std::move(*pair));
    }
  }
  return Invalid("unknown scheme");
}

}  // namespace

Result<keymgr::Keypair> DecodePolkadotJsExport(std::string_view json_text,
                                               std::span<const uint8_t> password) {
  if (sodium_init() < 0) return Status::Internal("libsodium cannot be initialised");
  if (json_text.size() > kMaxExportSize || !base::JsonNestingWithin(json_text, kMaxJsonDepth))
    return Invalid("too large");
  // A repeated member (two "encoded") would be read as its last copy, silently.
  if (!base::JsonMembersUnique(json_text))
    return Invalid("not valid JSON, or a member named twice");
  const nlohmann::json json = nlohmann::json::parse(json_text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return Invalid("not a JSON object");
  auto encoding = json.find("encoding");
  auto encoded_field = json.find("encoded");
  if (encoding == json.end() || !encoding->is_object() || encoded_field == json.end() ||
      !encoded_field->is_string()) {
    return Invalid("\"encoded\" and \"encoding\" are required");
  }
  auto content = encoding->contains("content") ? StringList((*encoding)["content"]) : std::nullopt;
  auto types = encoding->contains("type") ? StringList((*encoding)["type"]) : std::nullopt;
  if (!content || content->size() != 2 || (*content)[0] != "pkcs8") {
    return Invalid("encoding.content must be [\"pkcs8\", scheme]");
  }
  auto scheme = base::ParseScheme((*content)[1]);
  if (!scheme.ok()) return Invalid("only sr25519, ed25519 and ecdsa keys can be imported");
  if (!types || *types != std::vector<std::string>{"scrypt", "xsalsa20-poly1305"}) {
    return Invalid("only scrypt + xsalsa20-poly1305 encrypted exports are accepted");
  }
  if (password.empty()) return Invalid("a password is required");

  SIGNER_ASSIGN_OR_RETURN(auto encrypted, DecodeEncoded(encoded_field->get<std::string>()));
  const size_t prefix = kSaltSize + kScryptParamsSize + kNonceSize;
  if (encrypted.size() < prefix + kMacSize) return Invalid("\"encoded\" is too short");
  const uint8_t* salt = encrypted.data();
  const ScryptParams params{ReadLe32(salt + kSaltSize), ReadLe32(salt + kSaltSize + 4),
                            ReadLe32(salt + kSaltSize + 8)};
  const bool allowed = std::any_of(
      std::begin(kAllowedScrypt), std::end(kAllowedScrypt), [&](const ScryptParams& preset) {
        return preset.n == params.n && preset.p == params.p && preset.r == params.r;
      });
  if (!allowed) return Invalid("scrypt parameters are not ones polkadot-js allows");

  SecretBytes derived(kScryptOutputSize);
  if (crypto_pwhash_scryptsalsa208sha256_ll(password.data(), password.size(), salt, kSaltSize,
                                            params.n, params.r, params.p, derived.data(),
                                            derived.size()) != 0) {
    return Status::Internal("scrypt failed (out of memory?)");
  }
  const uint8_t* nonce = encrypted.data() + kSaltSize + kScryptParamsSize;
  const std::span<const uint8_t> box = std::span(encrypted).subspan(prefix);
  SecretBytes body(box.size() - kMacSize);
  if (crypto_secretbox_open_easy(body.data(), box.data(), box.size(), nonce, derived.data()) != 0) {
    return Invalid("cannot be decrypted: wrong password or modified data");
  }

  const std::span<const uint8_t> plain = body.span();
  if (plain.size() < kPairHeader.size() ||
      !std::equal(kPairHeader.begin(), kPairHeader.end(), plain.begin())) {
    return Invalid("decrypted body has no key header");
  }
  // Generation 3 stores a 64-byte secret; generations 1 and 2 a 32-byte seed. The divider's
  // position tells them apart, as @polkadot/keyring's decodePair does.
  const auto divider_at = [&](size_t offset) {
    return plain.size() >= offset + kPairDivider.size() &&
           std::equal(kPairDivider.begin(), kPairDivider.end(), plain.begin() + offset);
  };
  size_t secret_size = kGen3SecretSize;
  if (!divider_at(kPairHeader.size() + secret_size)) {
    secret_size = kSeedSize;
    if (!divider_at(kPairHeader.size() + secret_size)) return Invalid("body has no divider");
  }
  if (secret_size == kGen3SecretSize && *scheme == base::Scheme::kEcdsa) {
    return Invalid("ecdsa secret has the wrong size");
  }
  SIGNER_ASSIGN_OR_RETURN(auto pair,
                          KeypairFromBody(*scheme, plain.subspan(kPairHeader.size(), secret_size)));

  const std::vector<uint8_t> public_key = pair.public_key();
  const std::span<const uint8_t> stored_public =
      plain.subspan(kPairHeader.size() + secret_size + kPairDivider.size());
  if (!std::equal(public_key.begin(), public_key.end(), stored_public.begin(),
                  stored_public.end())) {
    return Invalid("the secret does not give the public key stored beside it");
  }
  // The address, when given, must name the same key. polkadot-js writes an ecdsa export's address
  // as the hex public key (an SS58 address of blake2_256(key) could not give the key back); other
  // exports carry the SS58 address, checked against the account (for ecdsa, the hash of the key).
  if (auto address = json.find("address"); address != json.end() && address->is_string()) {
    const std::string& text = address->get_ref<const std::string&>();
    if (text.starts_with("0x")) {
      auto hex_key = base::HexDecode(text);
      if (*scheme != base::Scheme::kEcdsa || !hex_key.ok() || *hex_key != public_key) {
        return Invalid("the key does not match the export's address");
      }
      return pair;
    }
    auto decoded = keymgr::Ss58Decode(text);
    std::vector<uint8_t> account = public_key;
    if (*scheme == base::Scheme::kEcdsa) {
      const base::Hash256 hashed = base::Blake2b256(public_key);
      account.assign(hashed.begin(), hashed.end());
    }
    if (!decoded.ok() || decoded->public_key != account) {
      return Invalid("the key does not match the export's address");
    }
  }
  return pair;
}

}  // namespace keymgr
