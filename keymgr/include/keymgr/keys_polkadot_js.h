// Decoding an encrypted polkadot-js key export (the JSON `pair.toJson(password)` writes) for
// import.
//
// Format (@polkadot/util-crypto json/decrypt and @polkadot/keyring pair/decode, read as facts): the
// base64 "encoded" field is salt(32) || scrypt N, p, r (LE u32 each) || nonce(24) || secretbox; the
// secretbox key is the first 32 bytes of scrypt(password, salt, N, r, p, 64); the plaintext is a
// fixed PKCS#8-like header, the secret, a fixed divider and the public key. Thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "base/status.h"
#include "keymgr/keypair.h"

namespace keymgr {

// DecodePolkadotJsExport decrypts `json_text` with `password` and returns the keypair it holds,
// after checking that the keypair's public key is the one stored in the export (and its address,
// when present). Accepts the sr25519, ed25519 and ecdsa exports of generations 1-3 with scrypt +
// xsalsa20-poly1305 and only the scrypt parameters polkadot-js itself allows (N up to 2^17).
// Fails with kInvalidArgument on anything else (unencrypted or ethereum exports, malformed JSON, a
// wrong password or modified data — not told apart — or a key that does not match); messages never
// contain the password or secret bytes.
base::Result<keymgr::Keypair> DecodePolkadotJsExport(std::string_view json_text,
                                                     std::span<const uint8_t> password);

}  // namespace keymgr
