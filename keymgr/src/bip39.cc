// BIP-39 English phrases <-> entropy (hand-written bit packing) and Substrate's seed_from_entropy.
#include "keymgr/bip39.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "base/hash.h"

namespace keymgr {
namespace internal {

inline constexpr size_t kBip39WordCount = 2048;
// Defined in bip39_english.cc, copied from the BIP.
extern const std::array<std::string_view, kBip39WordCount> kBip39EnglishWords;

}  // namespace internal

namespace {

constexpr size_t kBitsPerWord = 11;
constexpr size_t kMaxWords = 24;
constexpr size_t kMaxWordLength = 8;  // the longest English word, e.g. "abstract"
constexpr size_t kMinEntropyBytes = 16;
constexpr size_t kMaxEntropyBytes = 32;
constexpr uint32_t kSubstrateBip39Iterations = 2048;
constexpr std::string_view kSaltPrefix = "mnemonic";

bool IsValidEntropySize(size_t size) {
  return size >= kMinEntropyBytes && size <= kMaxEntropyBytes && size % 4 == 0;
}

// PackWord turns a word of at most 8 letters into one integer, zero padded. Letters are never zero,
// so two different words never pack to the same value.
uint64_t PackWord(std::string_view word) {
  uint64_t packed = 0;
  for (size_t i = 0; i < word.size(); ++i) {
    packed |= uint64_t{static_cast<uint8_t>(word[i])} << (8 * i);
  }
  return packed;
}

const std::array<uint64_t, internal::kBip39WordCount>& PackedWordlist() {
  static const std::array<uint64_t, internal::kBip39WordCount> packed = [] {
    std::array<uint64_t, internal::kBip39WordCount> table{};
    for (size_t i = 0; i < table.size(); ++i) {
      table[i] = PackWord(internal::kBip39EnglishWords[i]);
    }
    return table;
  }();
  return packed;
}

// LookupWord scans the whole list without data-dependent branches, so the time taken does not say
// where in the list a secret word sits. Returns false if the word is not in the list.
bool LookupWord(std::string_view word, uint16_t& index_out) {
  uint64_t packed = PackWord(word);
  uint32_t found = 0;
  uint32_t index = 0;
  const auto& table = PackedWordlist();
  for (uint32_t i = 0; i < table.size(); ++i) {
    const uint64_t diff = table[i] ^ packed;
    // 1 if diff == 0, else 0, computed without a branch.
    const auto equal = static_cast<uint32_t>(((diff | (0 - diff)) >> 63) ^ 1);
    index |= i & (0 - equal);
    found |= equal;
  }
  index_out = static_cast<uint16_t>(index);
  base::Wipe(std::span(reinterpret_cast<uint8_t*>(&packed), sizeof(packed)));
  return found == 1;
}

// ReadBits returns the `count` bits starting at bit `position` of `bytes`, most significant first.
uint32_t ReadBits(std::span<const uint8_t> bytes, size_t position, size_t count) {
  uint32_t value = 0;
  for (size_t i = 0; i < count; ++i) {
    const size_t bit = position + i;
    value = (value << 1) | ((bytes[bit / 8] >> (7 - bit % 8)) & 1u);
  }
  return value;
}

void WriteBits(std::span<uint8_t> bytes, size_t position, size_t count, uint32_t value) {
  for (size_t i = 0; i < count; ++i) {
    const size_t bit = position + i;
    const auto bit_value = static_cast<uint8_t>((value >> (count - 1 - i)) & 1u);
    bytes[bit / 8] = static_cast<uint8_t>(bytes[bit / 8] | (bit_value << (7 - bit % 8)));
  }
}

uint8_t ChecksumByte(std::span<const uint8_t> entropy) {
  std::array<uint8_t, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), entropy.data(), entropy.size());
  const uint8_t first = digest[0];
  base::Wipe(digest);
  return first;
}

// WordIndices holds a phrase's word numbers, which are as secret as the phrase; wiped on every
// exit.
struct WordIndices {
  std::array<uint16_t, kMaxWords> values{};
  ~WordIndices() {
    base::Wipe(std::span(reinterpret_cast<uint8_t*>(values.data()), sizeof(values)));
  }
};

}  // namespace

base::Result<base::SecretBytes> MnemonicToEntropy(std::string_view phrase) {
  // Split on single spaces only: BIP-39 phrases are normalised text, and accepting stray whitespace
  // or case variants would give one secret several spellings.
  WordIndices indices;
  size_t word_count = 0;
  size_t start = 0;
  while (true) {
    const size_t end = std::min(phrase.find(' ', start), phrase.size());
    const std::string_view word = phrase.substr(start, end - start);
    if (word.empty()) {
      return base::Status::InvalidArgument(
          "mnemonic has an empty word (leading, trailing or double space)");
    }
    if (word_count == kMaxWords) {
      return base::Status::InvalidArgument("mnemonic has more than 24 words");
    }
    bool letters_only = word.size() <= kMaxWordLength;
    for (char c : word) {
      letters_only = letters_only && c >= 'a' && c <= 'z';
    }
    if (!letters_only || !LookupWord(word, indices.values[word_count])) {
      return base::Status::InvalidArgument(
          "mnemonic has a word that is not in the BIP-39 English list");
    }
    ++word_count;
    if (end == phrase.size()) {
      break;
    }
    start = end + 1;
  }
  if (word_count < 12 || word_count % 3 != 0) {
    return base::Status::InvalidArgument("mnemonic must have 12, 15, 18, 21 or 24 words");
  }

  const size_t total_bits = word_count * kBitsPerWord;
  const size_t checksum_bits = total_bits / 33;
  const size_t entropy_bytes = (total_bits - checksum_bits) / 8;
  base::SecretBytes packed((total_bits + 7) / 8);
  for (size_t i = 0; i < word_count; ++i) {
    WriteBits(packed.span(), i * kBitsPerWord, kBitsPerWord, indices.values[i]);
  }

  const auto entropy = packed.span().first(entropy_bytes);
  const uint32_t expected = ChecksumByte(entropy) >> (8 - checksum_bits);
  const uint32_t actual = ReadBits(packed.span(), entropy_bytes * 8, checksum_bits);
  if (expected != actual) {
    return base::Status::InvalidArgument("mnemonic checksum does not match");
  }
  return base::SecretBytes::CopyFrom(entropy);
}

base::Result<base::SecretBytes> EntropyToMnemonic(std::span<const uint8_t> entropy) {
  if (!IsValidEntropySize(entropy.size())) {
    return base::Status::InvalidArgument("entropy must be 16, 20, 24, 28 or 32 bytes");
  }
  const size_t checksum_bits = entropy.size() / 4;
  const size_t word_count = (entropy.size() * 8 + checksum_bits) / kBitsPerWord;

  base::SecretBytes bits(entropy.size() + 1);
  std::memcpy(bits.data(), entropy.data(), entropy.size());
  bits.data()[entropy.size()] = ChecksumByte(entropy);

  size_t phrase_length = word_count - 1;  // the separating spaces
  for (size_t i = 0; i < word_count; ++i) {
    phrase_length +=
        internal::kBip39EnglishWords[ReadBits(bits.span(), i * kBitsPerWord, kBitsPerWord)].size();
  }
  base::SecretBytes phrase(phrase_length);
  size_t offset = 0;
  for (size_t i = 0; i < word_count; ++i) {
    if (i != 0) {
      phrase.data()[offset++] = ' ';
    }
    const std::string_view word =
        internal::kBip39EnglishWords[ReadBits(bits.span(), i * kBitsPerWord, kBitsPerWord)];
    std::memcpy(phrase.data() + offset, word.data(), word.size());
    offset += word.size();
  }
  return phrase;
}

base::Result<base::SecretBytes> MiniSecretFromEntropy(std::span<const uint8_t> entropy,
                                                      std::string_view password) {
  if (!IsValidEntropySize(entropy.size())) {
    return base::Status::InvalidArgument("entropy must be 16, 20, 24, 28 or 32 bytes");
  }
  // The password is secret, so the salt that contains it lives in guarded memory too.
  base::SecretBytes salt(kSaltPrefix.size() + password.size());
  std::memcpy(salt.data(), kSaltPrefix.data(), kSaltPrefix.size());
  if (!password.empty()) {
    std::memcpy(salt.data() + kSaltPrefix.size(), password.data(), password.size());
  }
  // PBKDF2's first output block is the first 64 bytes of the seed; asking for 32 bytes gives
  // exactly seed_from_entropy(...)[0..32].
  return base::Pbkdf2HmacSha512(entropy, salt.span(), kSubstrateBip39Iterations, 32);
}

}  // namespace keymgr
