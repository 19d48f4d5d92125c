// Converts RemoteKeystore wire messages into the pipeline's typed requests.
#include "signerd/requests_from_proto.h"

#include <vector>

namespace signer {
namespace {

namespace pb = parity::polkadot::signer;

std::optional<std::span<const uint8_t>> Preimage(const std::string& preimage) {
  if (preimage.empty()) return std::nullopt;
  return AsBytes(preimage);
}

template <typename Request>
SignInput FromSignRequest(const Request& request, const std::string& public_key) {
  SignInput input;
  input.key_type = request.key_type();
  input.scheme = base::ParseSchemeOrCryptoId(request.crypto_type());
  input.public_key = AsBytes(public_key);
  input.message = AsBytes(request.message());
  input.preimage = Preimage(request.preimage());
  input.prehashed = request.prehashed();
  return input;
}

}  // namespace

std::span<const uint8_t> AsBytes(const std::string& bytes) {
  return {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
}

SignInput SignRequestOf(const pb::SignWithRequest& request) {
  return FromSignRequest(request, request.public_key());
}

SignInput SignRequestOf(const pb::SignWithAnyRequest& request, const std::string& public_key) {
  return FromSignRequest(request, public_key);
}

SignInput SignRequestOf(const pb::SignWithAllRequest& request, const std::string& public_key) {
  return FromSignRequest(request, public_key);
}

SignInput SignRequestOf(const pb::EcdsaSignPrehashedRequest& request) {
  SignInput input;
  input.key_type = request.key_type();
  input.scheme = base::Scheme::kEcdsa;
  input.public_key = AsBytes(request.public_key());
  input.message = AsBytes(request.message());
  input.preimage = Preimage(request.preimage());
  input.prehashed = true;
  return input;
}

std::optional<keymgr::VrfTranscriptData> VrfTranscriptOf(
    const pb::Sr25519VrfSignRequest::VrfTranscriptData& proto) {
  if (proto.values_size() != 0) return std::nullopt;
  keymgr::VrfTranscriptData data;
  data.label = proto.label();
  for (const auto& item : proto.items()) {
    data.items.emplace_back(item.label(),
                            std::vector<uint8_t>(item.value().begin(), item.value().end()));
  }
  return data;
}

}  // namespace signer
