// SS58 addresses: hand-written base58 around prefix ++ key ++ blake2b-512 checksum.
#include "keymgr/ss58.h"

#include <sodium.h>

#include <array>
#include <cstring>

namespace keymgr {
namespace {

constexpr std::string_view kBase58Alphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr size_t kChecksumSize = 2;
constexpr uint16_t kMaxPrefix = 16383;  // 14 bits: the two-byte form has no room for more
constexpr uint16_t kLastOneBytePrefix = 63;
// The longest valid address is 2 prefix + 33 key + 2 checksum = 37 bytes, about 51 base58 digits.
// Refusing longer text early keeps the quadratic decoder cheap on hostile input.
constexpr size_t kMaxAddressChars = 64;
constexpr std::string_view kChecksumPreimagePrefix = "SS58PRE";

bool IsReservedPrefix(uint16_t prefix) { return prefix == 46 || prefix == 47; }

bool IsSupportedKeySize(size_t size) { return size == 32 || size == 33; }

std::array<uint8_t, kChecksumSize> Checksum(std::span<const uint8_t> prefix_and_key) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 64);
  crypto_generichash_update(&state,
                            reinterpret_cast<const uint8_t*>(kChecksumPreimagePrefix.data()),
                            kChecksumPreimagePrefix.size());
  crypto_generichash_update(&state, prefix_and_key.data(), prefix_and_key.size());
  std::array<uint8_t, 64> digest{};
  crypto_generichash_final(&state, digest.data(), digest.size());
  return {digest[0], digest[1]};
}

std::string Base58Encode(std::span<const uint8_t> bytes) {
  size_t leading_zeros = 0;
  while (leading_zeros < bytes.size() && bytes[leading_zeros] == 0) {
    ++leading_zeros;
  }
  // Base-58 digits, least significant first; log(256)/log(58) < 1.37 bounds their number.
  std::vector<uint8_t> digits;
  digits.reserve(bytes.size() * 137 / 100 + 1);
  for (size_t i = leading_zeros; i < bytes.size(); ++i) {
    uint32_t carry = bytes[i];
    for (uint8_t& digit : digits) {
      carry += uint32_t{digit} << 8;
      digit = static_cast<uint8_t>(carry % 58);
      carry /= 58;
    }
    while (carry != 0) {
      digits.push_back(static_cast<uint8_t>(carry % 58));
      carry /= 58;
    }
  }
  std::string out(leading_zeros, kBase58Alphabet[0]);
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    out.push_back(kBase58Alphabet[*it]);
  }
  return out;
}

base::Result<std::vector<uint8_t>> Base58Decode(std::string_view text) {
  size_t leading_ones = 0;
  while (leading_ones < text.size() && text[leading_ones] == kBase58Alphabet[0]) {
    ++leading_ones;
  }
  // Bytes, least significant first.
  std::vector<uint8_t> bytes;
  for (size_t i = leading_ones; i < text.size(); ++i) {
    const size_t value = kBase58Alphabet.find(text[i]);
    if (value == std::string_view::npos) {
      return base::Status::InvalidArgument("address has a character outside the base58 alphabet");
    }
    uint32_t carry = static_cast<uint32_t>(value);
    for (uint8_t& byte : bytes) {
      carry += uint32_t{byte} * 58;
      byte = static_cast<uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry != 0) {
      bytes.push_back(static_cast<uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  std::vector<uint8_t> out(leading_ones, 0);
  out.insert(out.end(), bytes.rbegin(), bytes.rend());
  return out;
}

}  // namespace

base::Result<std::string> Ss58Encode(std::span<const uint8_t> public_key, uint16_t prefix) {
  if (!IsSupportedKeySize(public_key.size())) {
    return base::Status::InvalidArgument("SS58 public key must be 32 or 33 bytes");
  }
  if (prefix > kMaxPrefix) {
    return base::Status::InvalidArgument("SS58 prefix is above 16383");
  }
  if (IsReservedPrefix(prefix)) {
    return base::Status::InvalidArgument("SS58 prefixes 46 and 47 are reserved");
  }
  std::vector<uint8_t> data;
  if (prefix <= kLastOneBytePrefix) {
    data.push_back(static_cast<uint8_t>(prefix));
  } else {
    // Two bytes 01aaaaaa bbcccccc carry the little-endian value aaaaaabb 00cccccc (sp_core's
    // layout).
    data.push_back(static_cast<uint8_t>(((prefix & 0b1111'1100) >> 2) | 0b0100'0000));
    data.push_back(static_cast<uint8_t>((prefix >> 8) | ((prefix & 0b11) << 6)));
  }
  data.insert(data.end(), public_key.begin(), public_key.end());
  const auto checksum = Checksum(data);
  data.insert(data.end(), checksum.begin(), checksum.end());
  return Base58Encode(data);
}

base::Result<Ss58Address> Ss58Decode(std::string_view address) {
  if (address.empty() || address.size() > kMaxAddressChars) {
    return base::Status::InvalidArgument("SS58 address has an impossible length");
  }
  base::Result<std::vector<uint8_t>> decoded = Base58Decode(address);
  if (!decoded.ok()) {
    return decoded.status();
  }
  const std::vector<uint8_t>& data = *decoded;
  if (data.size() < 2) {
    return base::Status::InvalidArgument("SS58 address is too short");
  }

  size_t prefix_size = 0;
  uint16_t prefix = 0;
  if (data[0] <= kLastOneBytePrefix) {
    prefix_size = 1;
    prefix = data[0];
  } else if (data[0] <= 127) {
    prefix_size = 2;
    const auto lower = static_cast<uint8_t>((data[0] << 2) | (data[1] >> 6));
    const auto upper = static_cast<uint8_t>(data[1] & 0b0011'1111);
    prefix = static_cast<uint16_t>(lower | (upper << 8));
    // sp_core would accept a two-byte spelling of a one-byte prefix; Ss58Encode never writes one,
    // and giving an address two spellings helps no one, so refuse it.
    if (prefix <= kLastOneBytePrefix) {
      return base::Status::InvalidArgument("SS58 address has a non-canonical two-byte prefix");
    }
  } else {
    return base::Status::InvalidArgument("SS58 address has an invalid prefix byte");
  }
  if (data.size() < prefix_size + kChecksumSize ||
      !IsSupportedKeySize(data.size() - prefix_size - kChecksumSize)) {
    return base::Status::InvalidArgument("SS58 address has an unsupported length");
  }
  if (IsReservedPrefix(prefix)) {
    return base::Status::InvalidArgument("SS58 address uses a reserved prefix");
  }
  const size_t body_size = data.size() - kChecksumSize;
  const auto expected = Checksum(std::span(data).first(body_size));
  if (std::memcmp(expected.data(), data.data() + body_size, kChecksumSize) != 0) {
    return base::Status::InvalidArgument("SS58 address checksum does not match");
  }
  Ss58Address out;
  out.prefix = prefix;
  out.public_key.assign(data.begin() + static_cast<std::ptrdiff_t>(prefix_size),
                        data.begin() + static_cast<std::ptrdiff_t>(body_size));
  return out;
}

}  // namespace keymgr
