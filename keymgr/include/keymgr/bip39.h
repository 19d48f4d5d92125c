// BIP-39 English mnemonics and Substrate's entropy-based mini-secret derivation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace keymgr {

// MnemonicToEntropy checks a 12/15/18/21/24-word English phrase (single spaces, lower case, known
// words, valid checksum) and returns its entropy. Fails with kInvalidArgument otherwise; the
// message never repeats the phrase.
base::Result<base::SecretBytes> MnemonicToEntropy(std::string_view phrase);

// EntropyToMnemonic encodes 16/20/24/28/32 bytes of entropy as a phrase, held in SecretBytes
// (ASCII).
base::Result<base::SecretBytes> EntropyToMnemonic(std::span<const uint8_t> entropy);

// MiniSecretFromEntropy is Substrate's seed_from_entropy truncated to 32 bytes:
// PBKDF2-HMAC-SHA512(entropy, "mnemonic" ++ password, 2048)[0..32] (not the BIP-39 phrase-string
// seed).
base::Result<base::SecretBytes> MiniSecretFromEntropy(std::span<const uint8_t> entropy,
                                                      std::string_view password);

}  // namespace keymgr
