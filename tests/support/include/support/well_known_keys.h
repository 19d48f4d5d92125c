// //Alice's public keys per signature scheme: the signing spec's known answers, spelt as tests use
// them.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace support {

// WellKnownKey is one public key: hex as signerctl prints it ("0x…") and the generic-format
// (prefix 42) SS58 address.
struct WellKnownKey {
  std::string_view hex_0x;
  std::string_view ss58;

  // hex is the key without the 0x prefix, as gRPC tests, policy files and vector tables spell it.
  constexpr std::string_view hex() const { return hex_0x.substr(2); }
  // Bytes is the raw public key.
  std::vector<uint8_t> Bytes() const;
};

// Public keys: section 6 of the signing spec (sp_core's known answers). Addresses:
// `new Keyring({type, ss58Format: 42}).addFromUri('//Alice').address` (@polkadot/keyring 14.0.3),
// which for ecdsa is the address of blake2_256(public key).
inline constexpr WellKnownKey kAliceSr25519{
    "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d",
    "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"};
inline constexpr WellKnownKey kAliceEd25519{
    "0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee",
    "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu"};
inline constexpr WellKnownKey kAliceEcdsa{
    "0x020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1",
    "5C7C2Z5sWbytvHpuLTvzKunnnRwQxft1jiqrLD5rhucQ5S9X"};

}  // namespace support
