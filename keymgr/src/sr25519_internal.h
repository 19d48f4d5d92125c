// sr25519 operations with caller-supplied witness randomness, so tests can match oracles exactly.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "keymgr/junction.h"
#include "keymgr/merlin.h"
#include "keymgr/sr25519.h"

namespace keymgr::internal {

// The bytes schnorrkel's TranscriptRngBuilder::finalize draws from the system RNG. The public API
// fills them from libsodium; only tests pass fixed values. Treat them as secret.
inline constexpr size_t kSr25519WitnessRandomSize = 32;
using Sr25519WitnessRandom = std::array<uint8_t, kSr25519WitnessRandomSize>;

// Sr25519SignWithRandom is Sr25519Keypair::Sign with the witness randomness given.
Sr25519Signature Sr25519SignWithRandom(const Sr25519Keypair& keypair,
                                       std::span<const uint8_t> message, std::string_view context,
                                       const Sr25519WitnessRandom& random);

// Sr25519VrfSignWithRandom is Sr25519Keypair::VrfSign with the witness randomness given.
Sr25519VrfSignature Sr25519VrfSignWithRandom(const Sr25519Keypair& keypair,
                                             const MerlinTranscript& input,
                                             const std::optional<MerlinTranscript>& extra,
                                             const Sr25519WitnessRandom& random);

// Sr25519DeriveSoftWithRandom is Sr25519Keypair::DeriveSoft with the randomness for the child nonce
// given (schnorrkel draws the child nonce from its witness RNG, so it is not reproducible
// upstream).
Sr25519Keypair Sr25519DeriveSoftWithRandom(const Sr25519Keypair& keypair,
                                           const ChainCode& chain_code,
                                           const Sr25519WitnessRandom& random);

}  // namespace keymgr::internal
