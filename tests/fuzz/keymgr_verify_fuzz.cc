// Fuzzes every verifier on untrusted bytes: signatures, public keys, VRF proofs and transcripts.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "keymgr/ecdsa.h"
#include "keymgr/ed25519.h"
#include "keymgr/keypair.h"
#include "keymgr/sr25519.h"

namespace {

// Input layout: [selector][flags][public key][signature][message...]. Key and signature lengths are
// the scheme's, unless flag bit 0 asks for the next two bytes to give them, which exercises the
// wrong-length paths without making well-formed inputs rare.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : rest_(data, size) {}

  uint8_t Byte() {
    if (rest_.empty()) {
      return 0;
    }
    const uint8_t byte = rest_.front();
    rest_ = rest_.subspan(1);
    return byte;
  }
  std::span<const uint8_t> Take(size_t wanted) {
    const size_t count = std::min(wanted, rest_.size());
    std::span<const uint8_t> taken = rest_.first(count);
    rest_ = rest_.subspan(count);
    return taken;
  }
  std::span<const uint8_t> Rest() const { return rest_; }

 private:
  std::span<const uint8_t> rest_;
};

void FuzzVrf(Reader& reader, uint8_t flags) {
  const auto public_key = reader.Take(keymgr::kSr25519PublicSize);
  const auto signature_bytes = reader.Take(keymgr::kSr25519VrfSignatureSize);
  const auto item = reader.Rest();

  keymgr::VrfTranscriptData input;
  input.label = "BABE";
  input.items.emplace_back("slot number", std::vector<uint8_t>(item.begin(), item.end()));
  std::optional<keymgr::MerlinTranscript> extra;
  if ((flags & 2) != 0) {
    keymgr::VrfTranscriptData extra_data;
    extra_data.label = "VRF";
    extra_data.items.emplace_back("extra", std::vector<uint8_t>(item.begin(), item.end()));
    extra = extra_data.Build();
  }

  auto signature = keymgr::Sr25519VrfSignature::Parse(signature_bytes);
  if (signature.ok()) {
    const auto serialized = signature->Serialize();
    if (!std::equal(serialized.begin(), serialized.end(), signature_bytes.begin(),
                    signature_bytes.end())) {
      __builtin_trap();  // the wire form must survive a parse
    }
    (void)keymgr::Sr25519VrfVerify(public_key, input.Build(), extra, *signature);
    (void)keymgr::Sr25519VrfMakeBytes(public_key, input.Build(), signature->pre_output,
                                      {reinterpret_cast<const uint8_t*>("substrate-babe-vrf"), 18},
                                      16);
  }
  keymgr::ChainCode chain_code{};
  std::copy_n(signature_bytes.begin(), std::min(signature_bytes.size(), chain_code.size()),
              chain_code.begin());
  (void)keymgr::Sr25519DeriveSoftPublic(public_key, chain_code);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader reader(data, size);
  const uint8_t selector = reader.Byte();
  const uint8_t flags = reader.Byte();
  constexpr base::Scheme kSchemes[] = {base::Scheme::kSr25519, base::Scheme::kEd25519,
                                       base::Scheme::kEcdsa};
  const base::Scheme scheme = kSchemes[(flags >> 2) % 3];
  const bool custom_lengths = (flags & 1) != 0;

  auto take = [&](size_t natural) { return reader.Take(custom_lengths ? reader.Byte() : natural); };

  switch (selector % 6) {
    case 0: {
      const auto public_key = take(keymgr::kSr25519PublicSize);
      const auto signature = take(keymgr::kSr25519SignatureSize);
      (void)keymgr::Sr25519Verify(public_key, reader.Rest(), signature);
      break;
    }
    case 1: {
      const auto public_key = take(keymgr::kEd25519PublicSize);
      const auto signature = take(keymgr::kEd25519SignatureSize);
      (void)keymgr::Ed25519Verify(public_key, reader.Rest(), signature);
      break;
    }
    case 2: {
      const auto public_key = take(keymgr::kEcdsaPublicSize);
      const auto signature = take(keymgr::kEcdsaSignatureSize);
      (void)keymgr::EcdsaVerify(public_key, reader.Rest(), signature);
      break;
    }
    case 3: {
      const auto public_key = take(keymgr::kEcdsaPublicSize);
      const auto signature = take(keymgr::kEcdsaSignatureSize);
      (void)keymgr::EcdsaVerifyPrehashed(public_key, reader.Rest(), signature);
      break;
    }
    case 4: {
      const size_t public_size =
          scheme == base::Scheme::kEcdsa ? keymgr::kEcdsaPublicSize : keymgr::kSr25519PublicSize;
      const size_t signature_size = scheme == base::Scheme::kEcdsa ? keymgr::kEcdsaSignatureSize
                                                                   : keymgr::kSr25519SignatureSize;
      const auto public_key = take(public_size);
      const auto signature = take(signature_size);
      (void)keymgr::VerifySignature(scheme, public_key, reader.Rest(), signature, (flags & 2) != 0);
      break;
    }
    default:
      FuzzVrf(reader, flags);
      break;
  }
  return 0;
}
