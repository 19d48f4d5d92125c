// SURI parsing exactly as sp_core's AddressUri::parse and SecretUri, and the root secret it names.
#include "keymgr/suri.h"

#include <cstring>
#include <optional>

#include "keymgr/bip39.h"

namespace keymgr {
namespace {

constexpr size_t kSeedSize = 32;

// IsValidUtf8 rejects byte strings a Rust &str could not hold; upstream never sees them, so neither
// should we give them a meaning.
bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<uint8_t>(text[i]);
    size_t length = 0;
    uint32_t code_point = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xe0) == 0xc0) {
      length = 2;
      code_point = lead & 0x1fu;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3;
      code_point = lead & 0x0fu;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4;
      code_point = lead & 0x07u;
    } else {
      return false;
    }
    if (text.size() - i < length) {
      return false;
    }
    for (size_t k = 1; k < length; ++k) {
      const auto continuation = static_cast<uint8_t>(text[i + k]);
      if ((continuation & 0xc0) != 0x80) {
        return false;
      }
      code_point = (code_point << 6) | (continuation & 0x3fu);
    }
    const bool overlong = (length == 2 && code_point < 0x80) ||
                          (length == 3 && code_point < 0x800) ||
                          (length == 4 && code_point < 0x10000);
    const bool surrogate = code_point >= 0xd800 && code_point <= 0xdfff;
    if (overlong || surrogate || code_point > 0x10ffff) {
      return false;
    }
    i += length;
  }
  return true;
}

bool IsPhraseChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ' ';
}

// TakeWhile removes and returns the longest prefix of `input` whose bytes satisfy `allowed`.
// Working on bytes equals upstream's work on chars: no byte of a multi-byte UTF-8 sequence is
// ASCII.
template <typename Predicate>
std::string_view TakeWhile(std::string_view& input, Predicate allowed) {
  size_t length = 0;
  while (length < input.size() && allowed(input[length])) {
    ++length;
  }
  const std::string_view prefix = input.substr(0, length);
  input.remove_prefix(length);
  return prefix;
}

base::SecretBytes CopyText(std::string_view text) {
  return base::SecretBytes::CopyFrom(
      std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::optional<uint8_t> HexNibble(uint8_t c) {
  if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<uint8_t>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<uint8_t>(c - 'A' + 10);
  return std::nullopt;
}

}  // namespace

base::Result<ParsedSuri> ParseSuri(std::string_view suri) {
  if (!IsValidUtf8(suri)) {
    return base::Status::InvalidArgument("SURI is not valid UTF-8");
  }
  std::string_view input = suri;
  const std::string_view phrase = TakeWhile(input, IsPhraseChar);

  ParsedSuri parsed;
  std::optional<std::string_view> password;
  while (!input.empty()) {
    // Order matters: "///" starts the password, so it must be tried before "//" and "/".
    if (input.starts_with("///")) {
      input.remove_prefix(3);
      password = TakeWhile(input, [](char c) { return c != '\n'; });
    } else if (input.starts_with("//")) {
      input.remove_prefix(2);
      const std::string_view junction = TakeWhile(input, [](char c) { return c != '/'; });
      if (junction.empty()) {
        return base::Status::InvalidArgument("SURI has an empty hard junction");
      }
      parsed.path.push_back(DeriveJunction::FromText(junction, /*hard=*/true));
    } else if (input.starts_with("/")) {
      input.remove_prefix(1);
      const std::string_view junction = TakeWhile(input, [](char c) { return c != '/'; });
      if (junction.empty()) {
        return base::Status::InvalidArgument("SURI has an empty soft junction");
      }
      parsed.path.push_back(DeriveJunction::FromText(junction, /*hard=*/false));
    } else {
      return base::Status::InvalidArgument(password.has_value()
                                               ? "SURI has an invalid character in its password"
                                               : "SURI has an invalid character in its phrase");
    }
  }

  parsed.phrase = CopyText(phrase.empty() ? kDevPhrase : phrase);
  if (password.has_value()) {
    parsed.password = CopyText(*password);
    parsed.has_password = true;
  }
  return parsed;
}

base::Result<base::SecretBytes> RootSecretFromSuri(const ParsedSuri& suri) {
  const std::span<const uint8_t> phrase = suri.phrase.span();
  if (phrase.size() >= 2 && phrase[0] == '0' && phrase[1] == 'x') {
    // A raw seed: Substrate ignores the password here, and so do we.
    const std::span<const uint8_t> digits = phrase.subspan(2);
    if (digits.size() != 2 * kSeedSize) {
      return base::Status::InvalidArgument("0x seed must be exactly 32 bytes (64 hex digits)");
    }
    base::SecretBytes seed(kSeedSize);
    for (size_t i = 0; i < kSeedSize; ++i) {
      const std::optional<uint8_t> high = HexNibble(digits[2 * i]);
      const std::optional<uint8_t> low = HexNibble(digits[2 * i + 1]);
      if (!high.has_value() || !low.has_value()) {
        return base::Status::InvalidArgument("0x seed has a non-hex character");
      }
      seed.data()[i] = static_cast<uint8_t>((*high << 4) | *low);
    }
    return seed;
  }

  const std::string_view phrase_text(reinterpret_cast<const char*>(phrase.data()), phrase.size());
  base::Result<base::SecretBytes> entropy = MnemonicToEntropy(phrase_text);
  if (!entropy.ok()) {
    return entropy.status();
  }
  const std::string_view password(reinterpret_cast<const char*>(suri.password.data()),
                                  suri.password.size());
  return MiniSecretFromEntropy(entropy->span(), password);
}

}  // namespace keymgr
