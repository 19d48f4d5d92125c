// sr25519 (schnorrkel over ristretto255): keys, signatures, VRF and HDKD, byte-exact with sp_core.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "keymgr/junction.h"
#include "keymgr/merlin.h"

namespace keymgr {

inline constexpr size_t kSr25519MiniSecretSize = 32;
inline constexpr size_t kSr25519SecretSize = 64;  // canonical scalar (32, LE) || nonce (32)
inline constexpr size_t kSr25519PublicSize = 32;
inline constexpr size_t kSr25519SignatureSize = 64;
inline constexpr size_t kSr25519VrfPreOutputSize = 32;
inline constexpr size_t kSr25519VrfProofSize = 64;  // c || s
inline constexpr size_t kSr25519VrfSignatureSize = kSr25519VrfPreOutputSize + kSr25519VrfProofSize;
inline constexpr std::string_view kSubstrateSigningContext = "substrate";

using Sr25519Public = std::array<uint8_t, kSr25519PublicSize>;
using Sr25519Signature = std::array<uint8_t, kSr25519SignatureSize>;
using Sr25519VrfPreOutput = std::array<uint8_t, kSr25519VrfPreOutputSize>;

// VrfTranscriptData is a Merlin transcript described as data, the way it crosses the wire:
// a label and ordered (item label, item bytes) pairs. Labels are bytes, not necessarily UTF-8.
struct VrfTranscriptData {
  std::string label;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> items;

  // Build returns the Merlin transcript these items describe.
  MerlinTranscript Build() const;
};

// Sr25519VrfSignature is the 96-byte wire form pre_output || proof, where proof = c || s.
struct Sr25519VrfSignature {
  Sr25519VrfPreOutput pre_output{};
  std::array<uint8_t, kSr25519VrfProofSize> proof{};

  std::array<uint8_t, kSr25519VrfSignatureSize> Serialize() const;
  static base::Result<Sr25519VrfSignature> Parse(std::span<const uint8_t> bytes);
};

// Sr25519Keypair holds a canonical 64-byte secret in SecretBytes and its public key.
// Move-only. Signing and VRF calls are const and thread-safe (randomness comes from libsodium).
class Sr25519Keypair {
 public:
  // FromMiniSecret expands a 32-byte mini-secret in Ed25519 mode (as Substrate does).
  // Fails with kInvalidArgument on a wrong length.
  static base::Result<Sr25519Keypair> FromMiniSecret(std::span<const uint8_t> mini_secret);
  // FromSecret loads a canonical 64-byte secret (scalar || nonce). Fails with kInvalidArgument on a
  // wrong length or a non-canonical scalar.
  static base::Result<Sr25519Keypair> FromSecret(std::span<const uint8_t> secret);

  const Sr25519Public& public_key() const { return public_; }
  // secret returns the canonical 64-byte secret, for custody backends that wrap it. Never log it.
  std::span<const uint8_t> secret() const { return secret_.span(); }

  // Sign makes a randomised schnorrkel signature of `message` under signing `context`.
  Sr25519Signature Sign(std::span<const uint8_t> message,
                        std::string_view context = kSubstrateSigningContext) const;

  // DeriveHard returns the hard child for `chain_code` (schnorrkel HDKD, mini-secret form).
  Sr25519Keypair DeriveHard(const ChainCode& chain_code) const;
  // DeriveSoft returns the soft child for `chain_code`; its public key equals
  // Sr25519DeriveSoftPublic.
  Sr25519Keypair DeriveSoft(const ChainCode& chain_code) const;

  // VrfSign signs the VRF input transcript with the optional extra transcript (default
  // Merlin("VRF")).
  Sr25519VrfSignature VrfSign(const MerlinTranscript& input,
                              const std::optional<MerlinTranscript>& extra) const;
  // VrfPreOutput returns only the pre-output for `input` (no proof).
  Sr25519VrfPreOutput VrfPreOutput(const MerlinTranscript& input) const;

 private:
  Sr25519Keypair(base::SecretBytes secret, const Sr25519Public& public_key)
      : secret_(std::move(secret)), public_(public_key) {}

  base::SecretBytes secret_;
  Sr25519Public public_{};
};

// Sr25519Verify returns true only if `signature` is a valid schnorrkel signature of `message` by
// `public_key` under `context`, with the schnorrkel marker bit set and a canonical s. Thread-safe.
[[nodiscard]] bool Sr25519Verify(std::span<const uint8_t> public_key,
                                 std::span<const uint8_t> message,
                                 std::span<const uint8_t> signature,
                                 std::string_view context = kSubstrateSigningContext);

// Sr25519DeriveSoftPublic derives a soft child public key without the secret.
// Fails with kInvalidArgument if `public_key` is not a valid ristretto255 encoding.
base::Result<Sr25519Public> Sr25519DeriveSoftPublic(std::span<const uint8_t> public_key,
                                                    const ChainCode& chain_code);

// Sr25519VrfVerify returns true only if `signature` is a valid DLEQ proof that signature.pre_output
// is the VRF pre-output of `input` under `public_key`. Thread-safe.
[[nodiscard]] bool Sr25519VrfVerify(std::span<const uint8_t> public_key,
                                    const MerlinTranscript& input,
                                    const std::optional<MerlinTranscript>& extra,
                                    const Sr25519VrfSignature& signature);

// Sr25519VrfMakeBytes returns `out_len` VRF output bytes for `context` (schnorrkel make_bytes) from
// a pre-output for `input` under `public_key`. Fails with kInvalidArgument on an invalid point.
base::Result<std::vector<uint8_t>> Sr25519VrfMakeBytes(std::span<const uint8_t> public_key,
                                                       const MerlinTranscript& input,
                                                       const Sr25519VrfPreOutput& pre_output,
                                                       std::span<const uint8_t> context,
                                                       size_t out_len);

}  // namespace keymgr
