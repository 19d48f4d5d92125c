// sr25519 as schnorrkel defines it: Merlin transcripts over libsodium's ristretto255 group.
#include "keymgr/sr25519.h"

#include <sodium.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "keymgr/merlin.h"
#include "sr25519_internal.h"

namespace keymgr {
namespace {

static_assert(crypto_core_ristretto255_BYTES == kSr25519PublicSize);
static_assert(crypto_core_ristretto255_SCALARBYTES == 32);
static_assert(crypto_core_ristretto255_HASHBYTES == 64);
static_assert(crypto_core_ristretto255_NONREDUCEDSCALARBYTES == 64);
static_assert(crypto_hash_sha512_BYTES == 64);

using Scalar = std::array<uint8_t, crypto_core_ristretto255_SCALARBYTES>;
using WideScalar = std::array<uint8_t, crypto_core_ristretto255_NONREDUCEDSCALARBYTES>;
using Point = std::array<uint8_t, crypto_core_ristretto255_BYTES>;

constexpr size_t kScalarOffset = 0;
constexpr size_t kNonceOffset = 32;
constexpr size_t kNonceSize = 32;

// schnorrkel's VRF witness label is b"proving\x000" in Rust: "proving", a NUL, then the digit '0'.
constexpr std::array<uint8_t, 9> kVrfWitnessLabel = {'p', 'r', 'o', 'v', 'i', 'n', 'g', 0, '0'};

// VRF outputs feed slot claims (16 bytes) and similar; a cap keeps a hostile request from
// allocating gigabytes.
constexpr size_t kMaxVrfOutputBytes = 1024;

// The group order l = 2^252 + 27742317777372353535851937790883648493, little-endian.
constexpr Scalar kGroupOrder = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

void EnsureSodium() {
  static const bool kInitialised = sodium_init() >= 0;
  if (!kInitialised) {
    std::fputs("keymgr: libsodium failed to initialise\n", stderr);
    std::abort();
  }
}

template <size_t N>
void WipeArray(std::array<uint8_t, N>& bytes) {
  base::Wipe(std::span<uint8_t>(bytes));
}

// IsCanonicalScalar reports whether `bytes` < l. Constant time, since secret scalars pass through.
bool IsCanonicalScalar(std::span<const uint8_t> bytes) {
  if (bytes.size() != kGroupOrder.size()) {
    return false;
  }
  // Borrow out of bytes - l is 1 exactly when bytes < l.
  unsigned borrow = 0;
  for (size_t i = 0; i < kGroupOrder.size(); ++i) {
    const unsigned difference = static_cast<unsigned>(bytes[i]) - kGroupOrder[i] - borrow;
    borrow = (difference >> 8) & 1;
  }
  return borrow == 1;
}

bool IsZero(std::span<const uint8_t> bytes) {
  return sodium_is_zero(bytes.data(), bytes.size()) == 1;
}

// The identity point's canonical ristretto encoding is all zeros.
bool IsIdentityEncoding(std::span<const uint8_t> point) { return IsZero(point); }

bool IsValidPoint(std::span<const uint8_t> point) {
  return point.size() == crypto_core_ristretto255_BYTES &&
         crypto_core_ristretto255_is_valid_point(point.data()) == 1;
}

// BaseMul returns scalar * B. libsodium reports an identity result as failure but still writes its
// encoding (zeros); schnorrkel treats the identity as an ordinary point, so the status is ignored.
Point BaseMul(const Scalar& scalar) {
  Point out;
  const int status = crypto_scalarmult_ristretto255_base(out.data(), scalar.data());
  (void)status;
  return out;
}

// PointMul returns scalar * point for a point already checked with IsValidPoint, with the same
// identity handling as BaseMul.
Point PointMul(const Scalar& scalar, std::span<const uint8_t> valid_point) {
  Point out;
  const int status = crypto_scalarmult_ristretto255(out.data(), scalar.data(), valid_point.data());
  (void)status;
  return out;
}

// PointAdd adds two valid encodings; both were validated or produced by libsodium, so it cannot
// fail.
Point PointAdd(const Point& left, const Point& right) {
  Point out;
  const int status = crypto_core_ristretto255_add(out.data(), left.data(), right.data());
  (void)status;
  return out;
}

Scalar ReduceWide(WideScalar& wide) {
  Scalar out;
  crypto_core_ristretto255_scalar_reduce(out.data(), wide.data());
  return out;
}

// ChallengeScalar is schnorrkel's challenge_scalar: 64 challenge bytes reduced mod l.
Scalar ChallengeScalar(MerlinTranscript& transcript, std::string_view label) {
  WideScalar wide;
  transcript.ChallengeBytes(label, wide);
  return ReduceWide(wide);
}

// WitnessBytes is merlin's TranscriptRng as schnorrkel's witness_bytes uses it: the transcript's
// STROBE state rekeyed with each secret seed, then with `random`, then squeezed into `out`.
void WitnessBytes(const MerlinTranscript& transcript, std::span<const uint8_t> label,
                  std::initializer_list<std::span<const uint8_t>> nonce_seeds,
                  const internal::Sr25519WitnessRandom& random, std::span<uint8_t> out) {
  Strobe128 rng = transcript.strobe();
  for (std::span<const uint8_t> seed : nonce_seeds) {
    const uint32_t seed_size = static_cast<uint32_t>(seed.size());
    const std::array<uint8_t, 4> seed_length = {
        static_cast<uint8_t>(seed_size), static_cast<uint8_t>(seed_size >> 8),
        static_cast<uint8_t>(seed_size >> 16), static_cast<uint8_t>(seed_size >> 24)};
    rng.MetaAd(label, false);
    rng.MetaAd(seed_length, true);
    rng.Key(seed, false);
  }
  rng.MetaAd(AsBytes("rng"), false);
  rng.Key(random, false);
  const uint32_t out_size = static_cast<uint32_t>(out.size());
  const std::array<uint8_t, 4> out_length = {
      static_cast<uint8_t>(out_size), static_cast<uint8_t>(out_size >> 8),
      static_cast<uint8_t>(out_size >> 16), static_cast<uint8_t>(out_size >> 24)};
  rng.MetaAd(out_length, false);
  rng.Prf(out, false);
}

Scalar WitnessScalar(const MerlinTranscript& transcript, std::span<const uint8_t> label,
                     std::initializer_list<std::span<const uint8_t>> nonce_seeds,
                     const internal::Sr25519WitnessRandom& random) {
  WideScalar wide;
  WitnessBytes(transcript, label, nonce_seeds, random, wide);
  Scalar scalar = ReduceWide(wide);
  WipeArray(wide);
  return scalar;
}

MerlinTranscript MakeSigningContext(std::string_view context) {
  MerlinTranscript transcript("SigningContext");
  transcript.AppendMessage("", context);
  return transcript;
}

// SigningTranscript is schnorrkel's signing_context(context).bytes(message). The Substrate context
// is built once: it costs a permutation and every signature starts from it.
MerlinTranscript SigningTranscript(std::string_view context, std::span<const uint8_t> message) {
  static const MerlinTranscript kSubstrateContext = MakeSigningContext(kSubstrateSigningContext);
  MerlinTranscript transcript =
      context == kSubstrateSigningContext ? kSubstrateContext : MakeSigningContext(context);
  transcript.AppendMessage("sign-bytes", message);
  return transcript;
}

// HdkdTranscript is schnorrkel's derived_key_simple / hard_derive_mini_secret_key prefix with the
// empty index Substrate passes and the junction's chain code.
MerlinTranscript HdkdTranscript(const ChainCode& chain_code) {
  MerlinTranscript transcript("SchnorrRistrettoHDKD");
  transcript.AppendMessage("sign-bytes", std::span<const uint8_t>());
  transcript.AppendMessage("chain-code", chain_code);
  return transcript;
}

// SoftDerivationScalar runs derive_scalar_and_chaincode on `transcript` and returns the scalar. The
// chain-code challenge is discarded but must still run: the child nonce is witnessed after it.
Scalar SoftDerivationScalar(MerlinTranscript& transcript, std::span<const uint8_t> public_key) {
  transcript.AppendMessage("public-key", public_key);
  Scalar scalar = ChallengeScalar(transcript, "HDKD-scalar");
  ChainCode unused_child_chain_code;
  transcript.ChallengeBytes("HDKD-chaincode", unused_child_chain_code);
  return scalar;
}

// VrfInputPoint is schnorrkel's vrf_hash in non-malleable mode: H = from_uniform_bytes(
// T.append("vrf-nm-pk", A).challenge("VRFHash", 64)).
Point VrfInputPoint(MerlinTranscript input, std::span<const uint8_t> public_key) {
  input.AppendMessage("vrf-nm-pk", public_key);
  std::array<uint8_t, crypto_core_ristretto255_HASHBYTES> uniform;
  input.ChallengeBytes("VRFHash", uniform);
  Point point;
  const int status = crypto_core_ristretto255_from_hash(point.data(), uniform.data());
  (void)status;  // always succeeds: every 64-byte string maps to a point
  return point;
}

// RequireSecret returns the keypair's secret, stopping on a moved-from keypair instead of reading
// null.
std::span<const uint8_t> RequireSecret(const Sr25519Keypair& keypair) {
  std::span<const uint8_t> secret = keypair.secret();
  if (secret.size() != kSr25519SecretSize) {
    std::fputs("keymgr: sr25519 keypair used after move\n", stderr);
    std::abort();
  }
  return secret;
}

Scalar CopyScalar(std::span<const uint8_t> bytes) {
  Scalar scalar;
  std::memcpy(scalar.data(), bytes.data(), scalar.size());
  return scalar;
}

}  // namespace

MerlinTranscript VrfTranscriptData::Build() const {
  MerlinTranscript transcript(AsBytes(label));
  for (const auto& [item_label, item_bytes] : items) {
    transcript.AppendMessage(AsBytes(item_label), item_bytes);
  }
  return transcript;
}

std::array<uint8_t, kSr25519VrfSignatureSize> Sr25519VrfSignature::Serialize() const {
  std::array<uint8_t, kSr25519VrfSignatureSize> out;
  std::memcpy(out.data(), pre_output.data(), pre_output.size());
  std::memcpy(out.data() + pre_output.size(), proof.data(), proof.size());
  return out;
}

base::Result<Sr25519VrfSignature> Sr25519VrfSignature::Parse(std::span<const uint8_t> bytes) {
  if (bytes.size() != kSr25519VrfSignatureSize) {
    return base::Status::InvalidArgument("sr25519 VRF signature must be 96 bytes");
  }
  Sr25519VrfSignature signature;
  std::memcpy(signature.pre_output.data(), bytes.data(), kSr25519VrfPreOutputSize);
  std::memcpy(signature.proof.data(), bytes.data() + kSr25519VrfPreOutputSize,
              kSr25519VrfProofSize);
  // Same rule as schnorrkel's VRFProof::from_bytes, which Substrate's decoder applies.
  const std::span<const uint8_t> proof(signature.proof);
  if (!IsCanonicalScalar(proof.first(32)) || !IsCanonicalScalar(proof.last(32))) {
    return base::Status::InvalidArgument("sr25519 VRF proof scalar is not canonical");
  }
  return signature;
}

base::Result<Sr25519Keypair> Sr25519Keypair::FromMiniSecret(std::span<const uint8_t> mini_secret) {
  if (mini_secret.size() != kSr25519MiniSecretSize) {
    return base::Status::InvalidArgument("sr25519 mini-secret must be 32 bytes");
  }
  EnsureSodium();
  // Ed25519-mode expansion: clamp as Ed25519 does, then divide by the cofactor so the scalar is a
  // clean value mod l (schnorrkel's expand_ed25519).
  std::array<uint8_t, crypto_hash_sha512_BYTES> expanded;
  crypto_hash_sha512(expanded.data(), mini_secret.data(), mini_secret.size());
  expanded[0] &= 248;
  expanded[31] &= 63;
  expanded[31] |= 64;
  uint8_t carry = 0;
  for (size_t i = 32; i-- > 0;) {
    const uint8_t low_bits = expanded[i] & 7;
    expanded[i] = static_cast<uint8_t>((expanded[i] >> 3) | carry);
    carry = static_cast<uint8_t>(low_bits << 5);
  }
  // expanded now holds scalar (< 2^252 < l) || nonce, the canonical secret layout.
  base::Result<Sr25519Keypair> keypair = FromSecret(expanded);
  WipeArray(expanded);
  return keypair;
}

base::Result<Sr25519Keypair> Sr25519Keypair::FromSecret(std::span<const uint8_t> secret) {
  if (secret.size() != kSr25519SecretSize) {
    return base::Status::InvalidArgument("sr25519 secret must be 64 bytes");
  }
  const std::span<const uint8_t> scalar_bytes = secret.subspan(kScalarOffset, 32);
  if (!IsCanonicalScalar(scalar_bytes)) {
    return base::Status::InvalidArgument("sr25519 secret scalar is not canonical");
  }
  // schnorrkel would accept zero, but its public key is the identity and anyone can sign for it.
  if (IsZero(scalar_bytes)) {
    return base::Status::InvalidArgument("sr25519 secret scalar is zero");
  }
  EnsureSodium();
  base::SecretBytes guarded = base::SecretBytes::CopyFrom(secret);
  Scalar scalar = CopyScalar(guarded.span().subspan(kScalarOffset, 32));
  const Sr25519Public public_key = BaseMul(scalar);
  WipeArray(scalar);
  return Sr25519Keypair(std::move(guarded), public_key);
}

Sr25519Signature Sr25519Keypair::Sign(std::span<const uint8_t> message,
                                      std::string_view context) const {
  EnsureSodium();
  internal::Sr25519WitnessRandom random;
  randombytes_buf(random.data(), random.size());
  const Sr25519Signature signature =
      internal::Sr25519SignWithRandom(*this, message, context, random);
  WipeArray(random);
  return signature;
}

Sr25519Keypair Sr25519Keypair::DeriveHard(const ChainCode& chain_code) const {
  const std::span<const uint8_t> secret = RequireSecret(*this);
  MerlinTranscript transcript = HdkdTranscript(chain_code);
  transcript.AppendMessage("secret-key", secret.subspan(kScalarOffset, 32));
  std::array<uint8_t, kSr25519MiniSecretSize> mini_secret;
  transcript.ChallengeBytes("HDKD-hard", mini_secret);
  base::Result<Sr25519Keypair> child = FromMiniSecret(mini_secret);
  WipeArray(mini_secret);
  // A 32-byte mini-secret always expands: the only failure is a wrong length.
  return std::move(child).value();
}

Sr25519Keypair Sr25519Keypair::DeriveSoft(const ChainCode& chain_code) const {
  EnsureSodium();
  internal::Sr25519WitnessRandom random;
  randombytes_buf(random.data(), random.size());
  Sr25519Keypair child = internal::Sr25519DeriveSoftWithRandom(*this, chain_code, random);
  WipeArray(random);
  return child;
}

Sr25519VrfSignature Sr25519Keypair::VrfSign(const MerlinTranscript& input,
                                            const std::optional<MerlinTranscript>& extra) const {
  EnsureSodium();
  internal::Sr25519WitnessRandom random;
  randombytes_buf(random.data(), random.size());
  Sr25519VrfSignature signature = internal::Sr25519VrfSignWithRandom(*this, input, extra, random);
  WipeArray(random);
  return signature;
}

Sr25519VrfPreOutput Sr25519Keypair::VrfPreOutput(const MerlinTranscript& input) const {
  const std::span<const uint8_t> secret = RequireSecret(*this);
  const Point input_point = VrfInputPoint(input, public_);
  Scalar scalar = CopyScalar(secret.subspan(kScalarOffset, 32));
  const Sr25519VrfPreOutput pre_output = PointMul(scalar, input_point);
  WipeArray(scalar);
  return pre_output;
}

bool Sr25519Verify(std::span<const uint8_t> public_key, std::span<const uint8_t> message,
                   std::span<const uint8_t> signature, std::string_view context) {
  if (public_key.size() != kSr25519PublicSize || signature.size() != kSr25519SignatureSize) {
    return false;
  }
  // Without the marker bit this may be an Ed25519 or pre-0.8 schnorrkel signature.
  if ((signature[63] & 0x80) == 0) {
    return false;
  }
  Scalar s = CopyScalar(signature.subspan(32, 32));
  s[31] &= 0x7f;
  if (!IsCanonicalScalar(s)) {
    return false;
  }
  // schnorrkel accepts the identity key, for which R = sB forges any message; a signer never
  // holds that key, so refusing it only closes a trap.
  if (!IsValidPoint(public_key) || IsIdentityEncoding(public_key)) {
    return false;
  }
  const std::span<const uint8_t> claimed_r = signature.first(32);

  MerlinTranscript transcript = SigningTranscript(context, message);
  transcript.AppendMessage("proto-name", "Schnorr-sig");
  transcript.AppendMessage("sign:pk", public_key);
  transcript.AppendMessage("sign:R", claimed_r);
  const Scalar k = ChallengeScalar(transcript, "sign:c");

  // R must equal sB - kA; R is compared as bytes, as schnorrkel does, so a bad R encoding fails
  // here.
  const Point s_times_base = BaseMul(s);
  const Point k_times_public = PointMul(k, public_key);
  Point recomputed_r;
  if (crypto_core_ristretto255_sub(recomputed_r.data(), s_times_base.data(),
                                   k_times_public.data()) != 0) {
    return false;
  }
  return sodium_memcmp(recomputed_r.data(), claimed_r.data(), recomputed_r.size()) == 0;
}

base::Result<Sr25519Public> Sr25519DeriveSoftPublic(std::span<const uint8_t> public_key,
                                                    const ChainCode& chain_code) {
  if (!IsValidPoint(public_key)) {
    return base::Status::InvalidArgument("sr25519 public key is not a valid ristretto255 point");
  }
  MerlinTranscript transcript = HdkdTranscript(chain_code);
  const Scalar scalar = SoftDerivationScalar(transcript, public_key);
  Point parent;
  std::memcpy(parent.data(), public_key.data(), parent.size());
  return PointAdd(parent, BaseMul(scalar));
}

bool Sr25519VrfVerify(std::span<const uint8_t> public_key, const MerlinTranscript& input,
                      const std::optional<MerlinTranscript>& extra,
                      const Sr25519VrfSignature& signature) {
  if (!IsValidPoint(public_key) || IsIdentityEncoding(public_key)) {
    return false;
  }
  // schnorrkel's attach_input_hash refuses an undecodable or identity pre-output.
  if (!IsValidPoint(signature.pre_output) || IsIdentityEncoding(signature.pre_output)) {
    return false;
  }
  const std::span<const uint8_t> proof(signature.proof);
  if (!IsCanonicalScalar(proof.first(32)) || !IsCanonicalScalar(proof.last(32))) {
    return false;
  }
  const Scalar c = CopyScalar(proof.first(32));
  const Scalar s = CopyScalar(proof.last(32));
  const Point input_point = VrfInputPoint(input, public_key);

  // Recompute the prover's commitments: R = cA + sB and Hr = cO + sH.
  const Point r_commitment = PointAdd(PointMul(c, public_key), BaseMul(s));
  const Point hr_commitment = PointAdd(PointMul(c, signature.pre_output), PointMul(s, input_point));

  MerlinTranscript proof_transcript = extra.has_value() ? *extra : MerlinTranscript("VRF");
  proof_transcript.AppendMessage("proto-name", "DLEQProof");
  proof_transcript.AppendMessage("vrf:h", input_point);
  proof_transcript.AppendMessage("vrf:R=g^r", r_commitment);
  proof_transcript.AppendMessage("vrf:h^r", hr_commitment);
  proof_transcript.AppendMessage("vrf:pk", public_key);
  proof_transcript.AppendMessage("vrf:h^sk", signature.pre_output);
  const Scalar expected_c = ChallengeScalar(proof_transcript, "prove");
  return sodium_memcmp(expected_c.data(), c.data(), c.size()) == 0;
}

base::Result<std::vector<uint8_t>> Sr25519VrfMakeBytes(std::span<const uint8_t> public_key,
                                                       const MerlinTranscript& input,
                                                       const Sr25519VrfPreOutput& pre_output,
                                                       std::span<const uint8_t> context,
                                                       size_t out_len) {
  if (!IsValidPoint(public_key)) {
    return base::Status::InvalidArgument("sr25519 public key is not a valid ristretto255 point");
  }
  if (!IsValidPoint(pre_output) || IsIdentityEncoding(pre_output)) {
    return base::Status::InvalidArgument(
        "sr25519 VRF pre-output is not a valid non-identity point");
  }
  if (out_len > kMaxVrfOutputBytes) {
    return base::Status::InvalidArgument("sr25519 VRF output length too large");
  }
  const Point input_point = VrfInputPoint(input, public_key);
  MerlinTranscript result("VRFResult");
  result.AppendMessage(std::span<const uint8_t>(), context);
  result.AppendMessage("vrf-in", input_point);
  result.AppendMessage("vrf-out", pre_output);
  std::vector<uint8_t> out(out_len);
  result.ChallengeBytes(std::span<const uint8_t>(), out);
  return out;
}

namespace internal {

Sr25519Signature Sr25519SignWithRandom(const Sr25519Keypair& keypair,
                                       std::span<const uint8_t> message, std::string_view context,
                                       const Sr25519WitnessRandom& random) {
  const std::span<const uint8_t> secret = RequireSecret(keypair);
  MerlinTranscript transcript = SigningTranscript(context, message);
  transcript.AppendMessage("proto-name", "Schnorr-sig");
  transcript.AppendMessage("sign:pk", keypair.public_key());

  Scalar r = WitnessScalar(transcript, AsBytes("signing"),
                           {secret.subspan(kNonceOffset, kNonceSize)}, random);
  const Point r_commitment = BaseMul(r);
  transcript.AppendMessage("sign:R", r_commitment);
  const Scalar k = ChallengeScalar(transcript, "sign:c");

  Scalar s;
  crypto_core_ristretto255_scalar_mul(s.data(), k.data(), secret.data() + kScalarOffset);
  crypto_core_ristretto255_scalar_add(s.data(), s.data(), r.data());
  WipeArray(r);

  Sr25519Signature signature;
  std::memcpy(signature.data(), r_commitment.data(), r_commitment.size());
  std::memcpy(signature.data() + 32, s.data(), s.size());
  signature[63] |= 0x80;
  return signature;
}

Sr25519VrfSignature Sr25519VrfSignWithRandom(const Sr25519Keypair& keypair,
                                             const MerlinTranscript& input,
                                             const std::optional<MerlinTranscript>& extra,
                                             const Sr25519WitnessRandom& random) {
  const std::span<const uint8_t> secret = RequireSecret(keypair);
  Scalar key = CopyScalar(secret.subspan(kScalarOffset, 32));
  const Point input_point = VrfInputPoint(input, keypair.public_key());
  Sr25519VrfSignature signature;
  signature.pre_output = PointMul(key, input_point);

  // Kusama-mode DLEQ proof (schnorrkel dleq_proove with kusama = true): vrf:pk after vrf:h^r.
  MerlinTranscript transcript = extra.has_value() ? *extra : MerlinTranscript("VRF");
  transcript.AppendMessage("proto-name", "DLEQProof");
  transcript.AppendMessage("vrf:h", input_point);
  Scalar r = WitnessScalar(transcript, kVrfWitnessLabel, {secret.subspan(kNonceOffset, kNonceSize)},
                           random);
  transcript.AppendMessage("vrf:R=g^r", BaseMul(r));
  transcript.AppendMessage("vrf:h^r", PointMul(r, input_point));
  transcript.AppendMessage("vrf:pk", keypair.public_key());
  transcript.AppendMessage("vrf:h^sk", signature.pre_output);
  const Scalar c = ChallengeScalar(transcript, "prove");

  Scalar c_times_key;
  crypto_core_ristretto255_scalar_mul(c_times_key.data(), c.data(), key.data());
  Scalar s;
  crypto_core_ristretto255_scalar_sub(s.data(), r.data(), c_times_key.data());
  WipeArray(c_times_key);
  WipeArray(r);
  WipeArray(key);

  std::memcpy(signature.proof.data(), c.data(), c.size());
  std::memcpy(signature.proof.data() + c.size(), s.data(), s.size());
  return signature;
}

Sr25519Keypair Sr25519DeriveSoftWithRandom(const Sr25519Keypair& keypair,
                                           const ChainCode& chain_code,
                                           const Sr25519WitnessRandom& random) {
  const std::span<const uint8_t> secret = RequireSecret(keypair);
  MerlinTranscript transcript = HdkdTranscript(chain_code);
  const Scalar scalar = SoftDerivationScalar(transcript, keypair.public_key());

  // schnorrkel draws the child nonce from the witness RNG seeded by the parent nonce and the whole
  // parent secret; with fresh randomness the child's nonce (never its public key) differs per call.
  std::array<uint8_t, kSr25519SecretSize> child_secret;
  WitnessBytes(transcript, AsBytes("HDKD-nonce"),
               {secret.subspan(kNonceOffset, kNonceSize), secret}, random,
               std::span<uint8_t>(child_secret).subspan(kNonceOffset, kNonceSize));
  crypto_core_ristretto255_scalar_add(child_secret.data() + kScalarOffset,
                                      secret.data() + kScalarOffset, scalar.data());
  base::Result<Sr25519Keypair> child = Sr25519Keypair::FromSecret(child_secret);
  WipeArray(child_secret);
  if (!child.ok()) {
    // Only a child scalar of exactly zero fails, which takes a 2^-252 accident.
    std::fputs("keymgr: sr25519 soft derivation produced a zero scalar\n", stderr);
    std::abort();
  }
  return std::move(child).value();
}

}  // namespace internal
}  // namespace keymgr
