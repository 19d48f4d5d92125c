// InMemoryCustody: keys copied into process memory, with per-operation faults and call counts.
#include "support/in_memory_custody.h"

#include <sodium.h>

#include <chrono>
#include <thread>
#include <utility>

namespace keymgr {
namespace {

int64_t SystemClock() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// CopyKeypair rebuilds `pair` from its secret so the store owns an independent SecretBytes copy.
base::Result<Keypair> CopyKeypair(const Keypair& pair) {
  if (const Sr25519Keypair* sr = pair.sr25519()) {
    base::Result<Sr25519Keypair> copy = Sr25519Keypair::FromSecret(sr->secret());
    if (!copy.ok()) return copy.status();
    return Keypair(std::move(copy).value());
  }
  if (const Ed25519Keypair* ed = pair.ed25519()) {
    base::Result<Ed25519Keypair> copy = Ed25519Keypair::FromSeed(ed->seed());
    if (!copy.ok()) return copy.status();
    return Keypair(std::move(copy).value());
  }
  base::Result<EcdsaKeypair> copy = EcdsaKeypair::FromSeed(pair.ecdsa()->seed());
  if (!copy.ok()) return copy.status();
  return Keypair(std::move(copy).value());
}

// RandomKeypair draws a fresh seed from libsodium's CSPRNG; ecdsa retries the (negligible) invalid
// scalars.
base::Result<Keypair> RandomKeypair(base::Scheme scheme) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    base::SecretBytes seed(32);
    randombytes_buf(seed.data(), seed.size());
    switch (scheme) {
      case base::Scheme::kSr25519: {
        base::Result<Sr25519Keypair> pair = Sr25519Keypair::FromMiniSecret(seed.span());
        if (!pair.ok()) return pair.status();
        return Keypair(std::move(pair).value());
      }
      case base::Scheme::kEd25519: {
        base::Result<Ed25519Keypair> pair = Ed25519Keypair::FromSeed(seed.span());
        if (!pair.ok()) return pair.status();
        return Keypair(std::move(pair).value());
      }
      case base::Scheme::kEcdsa: {
        base::Result<EcdsaKeypair> pair = EcdsaKeypair::FromSeed(seed.span());
        if (pair.ok()) return Keypair(std::move(pair).value());
        break;
      }
    }
  }
  return base::Status::Internal("could not draw a valid secret key");
}

}  // namespace

struct InMemoryCustody::Entry {
  Keypair pair;
  KeyInfo info;
};

InMemoryCustody::InMemoryCustody(int64_t (*clock)())
    : clock_(clock != nullptr ? clock : &SystemClock) {}

InMemoryCustody::~InMemoryCustody() = default;

base::Status InMemoryCustody::TakeFault(CustodyOp op) {
  ++calls_[op];
  if (unavailable_) {
    return base::Status::Unavailable("in-memory custody marked unavailable");
  }
  auto it = faults_.find(op);
  if (it == faults_.end()) return base::Status::Ok();
  base::Status status = it->second.status;
  if (--it->second.remaining <= 0) faults_.erase(it);
  return status;
}

void InMemoryCustody::FailNext(CustodyOp op, base::Status status, int count) {
  std::lock_guard lock(mutex_);
  faults_[op] = Fault{std::move(status), count};
}

void InMemoryCustody::SetUnavailable(bool unavailable) {
  std::lock_guard lock(mutex_);
  unavailable_ = unavailable;
}

size_t InMemoryCustody::CallCount(CustodyOp op) const {
  std::lock_guard lock(mutex_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

void InMemoryCustody::SetListingDelay(std::chrono::milliseconds delay) {
  listing_delay_ms_.store(delay.count());
}

base::Result<std::vector<KeyInfo>> InMemoryCustody::List() {
  std::this_thread::sleep_for(std::chrono::milliseconds(listing_delay_ms_.load()));
  std::lock_guard lock(mutex_);
  SIGNER_RETURN_IF_ERROR(TakeFault(CustodyOp::kList));
  std::vector<KeyInfo> infos;
  infos.reserve(keys_.size());
  for (const auto& [id, entry] : keys_) infos.push_back(entry->info);
  return infos;
}

base::Result<KeyInfo> InMemoryCustody::Store(const base::KeyTypeId& key_type, Keypair pair,
                                             bool generated) {
  const std::optional<base::Scheme> required = base::RequiredSchemeForKeyType(key_type);
  if (required.has_value() && *required != pair.scheme()) {
    return base::Status::InvalidArgument("scheme not allowed for key type " +
                                         base::KeyTypeName(key_type));
  }
  KeyInfo info;
  info.id = KeyId{key_type, pair.public_key()};
  info.scheme = pair.scheme();
  info.protection = KeyProtection::kSoftwareMemory;
  info.generated_in_custody = generated;
  info.created_at_unix = clock_();
  if (keys_.contains(info.id)) {
    return base::Status::InvalidArgument("key already stored");
  }
  keys_.emplace(info.id, std::make_unique<Entry>(Entry{std::move(pair), info}));
  return info;
}

base::Result<KeyInfo> InMemoryCustody::Generate(const base::KeyTypeId& key_type,
                                                base::Scheme scheme) {
  std::lock_guard lock(mutex_);
  SIGNER_RETURN_IF_ERROR(TakeFault(CustodyOp::kGenerate));
  base::Result<Keypair> pair = RandomKeypair(scheme);
  if (!pair.ok()) return pair.status();
  return Store(key_type, std::move(pair).value(), /*generated=*/true);
}

base::Result<KeyInfo> InMemoryCustody::Import(const base::KeyTypeId& key_type,
                                              const Keypair& pair) {
  std::lock_guard lock(mutex_);
  SIGNER_RETURN_IF_ERROR(TakeFault(CustodyOp::kImport));
  base::Result<Keypair> copy = CopyKeypair(pair);
  if (!copy.ok()) return copy.status();
  return Store(key_type, std::move(copy).value(), /*generated=*/false);
}

base::Status InMemoryCustody::Delete(const KeyId& id) {
  std::lock_guard lock(mutex_);
  SIGNER_RETURN_IF_ERROR(TakeFault(CustodyOp::kDelete));
  if (keys_.erase(id) == 0) return base::Status::NotFound("key not held");
  return base::Status::Ok();
}

base::Result<bool> InMemoryCustody::Holds(const KeyId& id) {
  std::lock_guard lock(mutex_);
  SIGNER_RETURN_IF_ERROR(TakeFault(CustodyOp::kHolds));
  return keys_.contains(id);
}

base::Result<std::vector<uint8_t>> InMemoryCustody::Sign(const KeyId& id, base::Scheme scheme,
                                                         std::span<const uint8_t> message) {
  std::lock_guard lock(mutex_);
  SIGNER_RETURN_IF_ERROR(TakeFault(CustodyOp::kSign));
  auto it = keys_.find(id);
  if (it == keys_.end() || it->second->info.scheme != scheme)
    return base::Status::NotFound("key not held");
  return it->second->pair.Sign(message);
}

base::Result<EcdsaSignature> InMemoryCustody::EcdsaSignPrehashed(const KeyId& id,
                                                                 std::span<const uint8_t> digest) {
  std::lock_guard lock(mutex_);
  SIGNER_RETURN_IF_ERROR(TakeFault(CustodyOp::kEcdsaSignPrehashed));
  if (digest.size() != kEcdsaPrehashSize)
    return base::Status::InvalidArgument("ecdsa prehash must be 32 bytes");
  auto it = keys_.find(id);
  if (it == keys_.end() || it->second->pair.ecdsa() == nullptr)
    return base::Status::NotFound("key not held");
  return it->second->pair.ecdsa()->SignPrehashed(digest.first<kEcdsaPrehashSize>());
}

base::Result<Sr25519VrfSignature> InMemoryCustody::VrfSign(
    const KeyId& id, const VrfTranscriptData& input,
    const std::optional<VrfTranscriptData>& extra) {
  std::lock_guard lock(mutex_);
  SIGNER_RETURN_IF_ERROR(TakeFault(CustodyOp::kVrfSign));
  auto it = keys_.find(id);
  if (it == keys_.end() || it->second->pair.sr25519() == nullptr)
    return base::Status::NotFound("key not held");
  std::optional<MerlinTranscript> extra_transcript;
  if (extra.has_value()) extra_transcript.emplace(extra->Build());
  return it->second->pair.sr25519()->VrfSign(input.Build(), extra_transcript);
}

base::Result<Sr25519VrfPreOutput> InMemoryCustody::VrfPreOutput(const KeyId& id,
                                                                const VrfTranscriptData& input) {
  std::lock_guard lock(mutex_);
  SIGNER_RETURN_IF_ERROR(TakeFault(CustodyOp::kVrfPreOutput));
  auto it = keys_.find(id);
  if (it == keys_.end() || it->second->pair.sr25519() == nullptr)
    return base::Status::NotFound("key not held");
  return it->second->pair.sr25519()->VrfPreOutput(input.Build());
}

}  // namespace keymgr
