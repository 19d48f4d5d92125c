// WellKnownKey's byte form, decoded from its hex.
#include "support/well_known_keys.h"

#include "base/hex.h"

namespace support {

std::vector<uint8_t> WellKnownKey::Bytes() const {
  // The constants are fixed, valid hex: a decoding failure is a typo in this library.
  return base::HexDecode(hex_0x).value();
}

}  // namespace support
