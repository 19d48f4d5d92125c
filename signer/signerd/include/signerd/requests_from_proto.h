// The one conversion from wire messages to typed pipeline requests (service and fuzzer share it).
#pragma once

#include <optional>
#include <span>
#include <string>

#include "keymgr/sr25519.h"
#include "remote_keystore.pb.h"
#include "signerd/pipeline_core.h"

namespace signer {

// AsBytes views a proto bytes field as bytes; the view lives as long as the message.
std::span<const uint8_t> AsBytes(const std::string& bytes);

// SignRequestOf turns a SignWith request into the pipeline's SignInput. The crypto_type text is
// parsed here, once (scheme stays empty when it names no scheme, and the pipeline refuses it); an
// empty preimage means none was sent, as the proto has no "absent" for bytes. The result views
// `request`'s fields, so it must not outlive it.
SignInput SignRequestOf(const parity::polkadot::signer::SignWithRequest& request);
// SignRequestOf for one of the public keys of a SignWithAny or SignWithAll request.
SignInput SignRequestOf(const parity::polkadot::signer::SignWithAnyRequest& request,
                        const std::string& public_key);
SignInput SignRequestOf(const parity::polkadot::signer::SignWithAllRequest& request,
                        const std::string& public_key);
// SignRequestOf for an ecdsa signature of a 32-byte digest (BEEFY).
SignInput SignRequestOf(const parity::polkadot::signer::EcdsaSignPrehashedRequest& request);

// VrfTranscriptOf turns a wire transcript into keymgr's, or nullopt when it uses the seed's
// unlabelled `values`, which cannot describe a Merlin transcript and are refused, not guessed at.
std::optional<keymgr::VrfTranscriptData> VrfTranscriptOf(
    const parity::polkadot::signer::Sr25519VrfSignRequest::VrfTranscriptData& proto);

}  // namespace signer
