// libFuzzer target: arbitrary bytes as a peer certificate (PEM or DER) through the identity rule.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tls/certificate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  auto info = tls::InspectCertificate(bytes);
  auto identity = tls::IdentityFromCertificate(bytes);
  // Whatever is accepted as an identity must obey the documented limits.
  if (identity.ok()) {
    const std::string& text = identity.value();
    if (text.empty() || text.size() > tls::kMaxIdentityLength) {
      __builtin_trap();
    }
    for (char c : text) {
      if (c < 0x20 || c > 0x7e) {
        __builtin_trap();
      }
    }
  }
  // The property-based path sees the same bytes split as gRPC's AuthContext would list names.
  std::vector<std::string> common_names;
  std::vector<std::string> alternative_names;
  std::string current;
  bool in_common_names = true;
  for (uint8_t byte : bytes) {
    if (byte == 0) {
      (in_common_names ? common_names : alternative_names).push_back(current);
      current.clear();
    } else if (byte == 1) {
      in_common_names = false;
    } else {
      current.push_back(static_cast<char>(byte));
    }
  }
  auto from_names = tls::IdentityFromNames(common_names, alternative_names);
  (void)info;
  (void)from_names;
  return 0;
}
