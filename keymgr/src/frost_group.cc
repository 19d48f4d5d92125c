// FROST building blocks: the two groups over libsodium, RFC 9591's hash functions, and strict
// element/scalar codecs.
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "frost_internal.h"
#include "keymgr/frost.h"
#include "keymgr/merlin.h"
#include "keymgr/sr25519.h"

namespace keymgr::frost {

static_assert(crypto_core_ed25519_BYTES == kElementSize);
static_assert(crypto_core_ristretto255_BYTES == kElementSize);
static_assert(crypto_core_ed25519_SCALARBYTES == kScalarSize);
static_assert(crypto_core_ed25519_NONREDUCEDSCALARBYTES == 64);
static_assert(crypto_hash_sha512_BYTES == 64);

namespace internal {
namespace {

// RFC 9591 section 6.1 and 6.2 context strings; sr25519 mode uses the ristretto255 one.
constexpr std::string_view kEd25519Context = "FROST-ED25519-SHA512-v1";
constexpr std::string_view kRistrettoContext = "FROST-RISTRETTO255-SHA512-v1";

std::string_view ContextString(Suite suite) {
  return suite == Suite::kEd25519 ? kEd25519Context : kRistrettoContext;
}

Hash512 Sha512(std::initializer_list<std::span<const uint8_t>> parts) {
  crypto_hash_sha512_state state;
  crypto_hash_sha512_init(&state);
  for (std::span<const uint8_t> part : parts) {
    crypto_hash_sha512_update(&state, part.data(), part.size());
  }
  Hash512 out;
  crypto_hash_sha512_final(&state, out.data());
  base::Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&state), sizeof(state)));
  return out;
}

// The ed25519 identity element (0, 1) encodes as y = 1.
constexpr Element kEd25519Identity = {1};

}  // namespace

void EnsureSodium() {
  static const bool kInitialised = sodium_init() >= 0;
  if (!kInitialised) {
    std::fputs("keymgr: libsodium failed to initialise\n", stderr);
    std::abort();
  }
}

std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

bool IsCanonicalScalar(std::span<const uint8_t> bytes) {
  // l = 2^252 + 27742317777372353535851937790883648493, little-endian.
  static constexpr Scalar kOrder = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                    0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};
  if (bytes.size() != kScalarSize) {
    return false;
  }
  // Constant time: secret shares pass through here. The borrow out of bytes - l is 1 iff bytes < l.
  unsigned borrow = 0;
  for (size_t i = 0; i < kScalarSize; ++i) {
    const unsigned difference = static_cast<unsigned>(bytes[i]) - kOrder[i] - borrow;
    borrow = (difference >> 8) & 1;
  }
  return borrow == 1;
}

Scalar ScalarFromInt(uint32_t value) {
  Scalar out{};
  for (size_t i = 0; i < 4; ++i) {
    out[i] = static_cast<uint8_t>(value >> (8 * i));
  }
  return out;
}

Scalar ScalarAdd(const Scalar& a, const Scalar& b) {
  Scalar out;
  crypto_core_ed25519_scalar_add(out.data(), a.data(), b.data());
  return out;
}

Scalar ScalarSub(const Scalar& a, const Scalar& b) {
  Scalar out;
  crypto_core_ed25519_scalar_sub(out.data(), a.data(), b.data());
  return out;
}

Scalar ScalarMul(const Scalar& a, const Scalar& b) {
  Scalar out;
  crypto_core_ed25519_scalar_mul(out.data(), a.data(), b.data());
  return out;
}

Scalar ScalarReduce(const Hash512& wide) {
  Hash512 copy = wide;  // libsodium's reduce takes a mutable-looking pointer; keep the input intact
  Scalar out;
  crypto_core_ed25519_scalar_reduce(out.data(), copy.data());
  base::Wipe(copy);
  return out;
}

Scalar RandomScalar() {
  EnsureSodium();
  Scalar out;
  crypto_core_ed25519_scalar_random(out.data());
  return out;
}

Scalar CopyScalar(std::span<const uint8_t> bytes) {
  Scalar out{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), out.size()), out.begin());
  return out;
}

void WipeScalar(Scalar& scalar) { base::Wipe(scalar); }

Element Identity(Suite suite) { return suite == Suite::kEd25519 ? kEd25519Identity : Element{}; }

bool IsIdentity(Suite suite, const Element& element) {
  const Element identity = Identity(suite);
  return sodium_memcmp(identity.data(), element.data(), identity.size()) == 0;
}

// libsodium's scalar multiplications return -1 when the result is the identity (or the scalar is
// zero) but still write the identity's encoding; FROST treats the identity as an ordinary value
// here and refuses it only where the RFC does (serialising it), so that status is ignored. Inputs
// were validated, so the "invalid input" failure cannot happen.
Element BaseMul(Suite suite, const Scalar& scalar) {
  Element out = Identity(suite);
  const int status = suite == Suite::kEd25519
                         ? crypto_scalarmult_ed25519_base_noclamp(out.data(), scalar.data())
                         : crypto_scalarmult_ristretto255_base(out.data(), scalar.data());
  (void)status;
  return out;
}

Element Mul(Suite suite, const Scalar& scalar, const Element& element) {
  Element out = Identity(suite);
  if (IsIdentity(suite, element)) {
    return out;
  }
  const int status =
      suite == Suite::kEd25519
          ? crypto_scalarmult_ed25519_noclamp(out.data(), scalar.data(), element.data())
          : crypto_scalarmult_ristretto255(out.data(), scalar.data(), element.data());
  (void)status;
  return out;
}

Element Add(Suite suite, const Element& a, const Element& b) {
  Element out = Identity(suite);
  const int status = suite == Suite::kEd25519
                         ? crypto_core_ed25519_add(out.data(), a.data(), b.data())
                         : crypto_core_ristretto255_add(out.data(), a.data(), b.data());
  (void)status;
  return out;
}

Element Sub(Suite suite, const Element& a, const Element& b) {
  Element out = Identity(suite);
  const int status = suite == Suite::kEd25519
                         ? crypto_core_ed25519_sub(out.data(), a.data(), b.data())
                         : crypto_core_ristretto255_sub(out.data(), a.data(), b.data());
  (void)status;
  return out;
}

Scalar H1(Suite suite, std::span<const uint8_t> message) {
  return ScalarReduce(Sha512({AsBytes(ContextString(suite)), AsBytes("rho"), message}));
}

Scalar H3(Suite suite, std::initializer_list<std::span<const uint8_t>> parts) {
  crypto_hash_sha512_state state;
  crypto_hash_sha512_init(&state);
  const std::string_view context = ContextString(suite);
  crypto_hash_sha512_update(&state, AsBytes(context).data(), context.size());
  crypto_hash_sha512_update(&state, AsBytes("nonce").data(), 5);
  for (std::span<const uint8_t> part : parts) {
    crypto_hash_sha512_update(&state, part.data(), part.size());
  }
  Hash512 wide;
  crypto_hash_sha512_final(&state, wide.data());
  base::Wipe(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&state), sizeof(state)));
  Scalar out = ScalarReduce(wide);
  base::Wipe(wide);
  return out;
}

Hash512 H4(Suite suite, std::span<const uint8_t> message) {
  return Sha512({AsBytes(ContextString(suite)), AsBytes("msg"), message});
}

Hash512 H5(Suite suite, std::span<const uint8_t> message) {
  return Sha512({AsBytes(ContextString(suite)), AsBytes("com"), message});
}

Scalar HDkg(Suite suite, std::initializer_list<std::span<const uint8_t>> parts) {
  crypto_hash_sha512_state state;
  crypto_hash_sha512_init(&state);
  const std::string_view context = ContextString(suite);
  crypto_hash_sha512_update(&state, AsBytes(context).data(), context.size());
  crypto_hash_sha512_update(&state, AsBytes("dkg").data(), 3);
  for (std::span<const uint8_t> part : parts) {
    crypto_hash_sha512_update(&state, part.data(), part.size());
  }
  Hash512 wide;
  crypto_hash_sha512_final(&state, wide.data());
  return ScalarReduce(wide);
}

Scalar SigningChallenge(Suite suite, const Element& group_commitment,
                        const Element& group_public_key, std::span<const uint8_t> message) {
  switch (suite) {
    case Suite::kEd25519:
      // H2 carries no context string, so the aggregate is a plain RFC 8032 signature.
      return ScalarReduce(Sha512({group_commitment, group_public_key, message}));
    case Suite::kRistretto255:
      return ScalarReduce(Sha512({AsBytes(kRistrettoContext), AsBytes("chal"), group_commitment,
                                  group_public_key, message}));
    case Suite::kSr25519: {
      // schnorrkel's signing transcript (the project spec, section 3) with the group key as sign:pk
      // and the group commitment as sign:R.
      MerlinTranscript transcript("SigningContext");
      transcript.AppendMessage("", kSubstrateSigningContext);
      transcript.AppendMessage("sign-bytes", message);
      transcript.AppendMessage("proto-name", "Schnorr-sig");
      transcript.AppendMessage("sign:pk", group_public_key);
      transcript.AppendMessage("sign:R", group_commitment);
      Hash512 wide;
      transcript.ChallengeBytes("sign:c", wide);
      return ScalarReduce(wide);
    }
  }
  return Scalar{};
}

Scalar NonceGenerate(Suite suite, std::span<const uint8_t> random_bytes,
                     std::span<const uint8_t> secret) {
  return H3(suite, {random_bytes, secret});
}

std::vector<std::vector<uint8_t>> BindingFactorInputs(
    Suite suite, const Element& group_public_key,
    std::span<const SigningCommitments> commitment_list, std::span<const uint8_t> message) {
  const Hash512 message_hash = H4(suite, message);
  const Hash512 commitments_hash = H5(suite, EncodeCommitmentList(commitment_list));
  std::vector<uint8_t> prefix(group_public_key.begin(), group_public_key.end());
  prefix.insert(prefix.end(), message_hash.begin(), message_hash.end());
  prefix.insert(prefix.end(), commitments_hash.begin(), commitments_hash.end());
  std::vector<std::vector<uint8_t>> inputs;
  inputs.reserve(commitment_list.size());
  for (const SigningCommitments& entry : commitment_list) {
    std::vector<uint8_t> input = prefix;
    const auto identifier = entry.identifier.Encode();
    input.insert(input.end(), identifier.begin(), identifier.end());
    inputs.push_back(std::move(input));
  }
  return inputs;
}

std::vector<Scalar> BindingFactors(Suite suite, const Element& group_public_key,
                                   std::span<const SigningCommitments> commitment_list,
                                   std::span<const uint8_t> message) {
  std::vector<Scalar> factors;
  for (const std::vector<uint8_t>& input :
       BindingFactorInputs(suite, group_public_key, commitment_list, message)) {
    factors.push_back(H1(suite, input));
  }
  return factors;
}

base::Result<Element> GroupCommitment(Suite suite,
                                      std::span<const SigningCommitments> commitment_list,
                                      std::span<const Scalar> binding_factors) {
  Element sum = Identity(suite);
  for (size_t i = 0; i < commitment_list.size(); ++i) {
    const Element bound = Mul(suite, binding_factors[i], commitment_list[i].binding);
    sum = Add(suite, sum, Add(suite, commitment_list[i].hiding, bound));
  }
  if (IsIdentity(suite, sum)) {
    return base::Status::InvalidArgument("FROST group commitment is the identity");
  }
  return sum;
}

Scalar LagrangeCoefficient(std::span<const Identifier> identifiers, Identifier identifier) {
  const Scalar x_i = ScalarFromInt(identifier.value());
  Scalar numerator = ScalarFromInt(1);
  Scalar denominator = ScalarFromInt(1);
  for (Identifier other : identifiers) {
    if (other == identifier) {
      continue;
    }
    const Scalar x_j = ScalarFromInt(other.value());
    numerator = ScalarMul(numerator, x_j);
    denominator = ScalarMul(denominator, ScalarSub(x_j, x_i));
  }
  // Distinct identifiers make the denominator non-zero, so the inversion cannot fail.
  Scalar inverse{};
  const int status = crypto_core_ed25519_scalar_invert(inverse.data(), denominator.data());
  (void)status;
  return ScalarMul(numerator, inverse);
}

Scalar PolynomialEvaluate(std::span<const uint8_t> coefficients, Identifier x) {
  // Horner's rule from the highest coefficient down.
  const Scalar point = ScalarFromInt(x.value());
  Scalar value{};
  for (size_t j = coefficients.size() / kScalarSize; j-- > 0;) {
    Scalar coefficient = CopyScalar(coefficients.subspan(j * kScalarSize, kScalarSize));
    Scalar scaled = ScalarMul(value, point);
    WipeScalar(value);
    value = ScalarAdd(scaled, coefficient);
    WipeScalar(scaled);
    WipeScalar(coefficient);
  }
  return value;
}

VssCommitment VssCommit(Suite suite, std::span<const uint8_t> coefficients) {
  VssCommitment commitment;
  for (size_t j = 0; j < coefficients.size() / kScalarSize; ++j) {
    Scalar coefficient = CopyScalar(coefficients.subspan(j * kScalarSize, kScalarSize));
    commitment.push_back(BaseMul(suite, coefficient));
    WipeScalar(coefficient);
  }
  return commitment;
}

}  // namespace internal

std::string_view SuiteName(Suite suite) {
  switch (suite) {
    case Suite::kEd25519:
      return "ed25519";
    case Suite::kRistretto255:
      return "ristretto255";
    case Suite::kSr25519:
      return "sr25519";
  }
  return "unknown";
}

base::Result<Suite> ParseSuite(std::string_view name) {
  for (Suite suite : {Suite::kEd25519, Suite::kRistretto255, Suite::kSr25519}) {
    if (name == SuiteName(suite)) {
      return suite;
    }
  }
  return base::Status::InvalidArgument(
      "unknown FROST suite (want ed25519, ristretto255 or sr25519)");
}

base::Result<Identifier> Identifier::Create(uint32_t value) {
  if (value < 1 || value > kMaxParticipants) {
    return base::Status::InvalidArgument("FROST identifier " + std::to_string(value) +
                                         " is outside 1.." + std::to_string(kMaxParticipants));
  }
  return Identifier(static_cast<uint16_t>(value));
}

base::Result<Identifier> Identifier::Decode(std::span<const uint8_t> bytes) {
  if (bytes.size() != kIdentifierSize) {
    return base::Status::InvalidArgument("FROST identifier must be 32 bytes");
  }
  for (size_t i = 4; i < kIdentifierSize; ++i) {
    if (bytes[i] != 0) {
      return base::Status::InvalidArgument("FROST identifier is outside 1.." +
                                           std::to_string(kMaxParticipants));
    }
  }
  const uint32_t value = static_cast<uint32_t>(bytes[0]) | static_cast<uint32_t>(bytes[1]) << 8 |
                         static_cast<uint32_t>(bytes[2]) << 16 |
                         static_cast<uint32_t>(bytes[3]) << 24;
  return Create(value);
}

std::array<uint8_t, kIdentifierSize> Identifier::Encode() const {
  return internal::ScalarFromInt(value_);
}

base::Result<Scalar> DecodeScalar(std::span<const uint8_t> bytes) {
  if (bytes.size() != kScalarSize) {
    return base::Status::InvalidArgument("FROST scalar must be 32 bytes");
  }
  if (!internal::IsCanonicalScalar(bytes)) {
    return base::Status::InvalidArgument("FROST scalar is not canonical (>= group order)");
  }
  return internal::CopyScalar(bytes);
}

base::Result<Element> DecodeElement(Suite suite, std::span<const uint8_t> bytes) {
  internal::EnsureSodium();
  if (bytes.size() != kElementSize) {
    return base::Status::InvalidArgument("FROST group element must be 32 bytes");
  }
  Element element;
  std::copy(bytes.begin(), bytes.end(), element.begin());
  if (suite == Suite::kEd25519) {
    // libsodium's check: canonical y, on the curve, not of small order (so not the identity), and
    // in the prime-order subgroup (no torsion component).
    if (crypto_core_ed25519_is_valid_point(element.data()) != 1) {
      return base::Status::InvalidArgument(
          "FROST ed25519 element is not a canonical prime-order point (or is of small order)");
    }
    return element;
  }
  // A ristretto255 encoding that decodes is canonical and in the prime-order group by construction.
  if (crypto_core_ristretto255_is_valid_point(element.data()) != 1) {
    return base::Status::InvalidArgument("FROST ristretto255 element is not a canonical encoding");
  }
  if (internal::IsIdentity(suite, element)) {
    return base::Status::InvalidArgument("FROST group element is the identity");
  }
  return element;
}

}  // namespace keymgr::frost
