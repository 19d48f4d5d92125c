// Fuzz target: the strict SCALE reader never over-reads; what it accepts re-encodes identically.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "slashing/scale.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  // Compact integers: accepted encodings must be canonical, so re-encoding gives the same bytes.
  {
    slashing::ScaleReader reader(input);
    auto value = reader.ReadCompact();
    if (value) {
      slashing::ScaleWriter writer;
      writer.WriteCompact(*value);
      const size_t used = size - reader.remaining();
      if (writer.bytes().size() != used ||
          !std::equal(writer.bytes().begin(), writer.bytes().end(), data)) {
        std::abort();
      }
    }
  }
  // A mixed walk driven by the input itself: every read stays in bounds, failure is sticky.
  slashing::ScaleReader reader(input);
  for (size_t step = 0; step < 64 && reader.ok() && reader.remaining() > 0; ++step) {
    auto op = reader.ReadU8();
    if (!op) break;
    switch (*op % 8) {
      case 0:
        (void)reader.ReadU16();
        break;
      case 1:
        (void)reader.ReadU32();
        break;
      case 2:
        (void)reader.ReadU64();
        break;
      case 3:
        (void)reader.ReadBool();
        break;
      case 4:
        (void)reader.ReadCompactU32();
        break;
      case 5:
        (void)reader.ReadByteVec(1 << 16);
        break;
      case 6:
        (void)reader.ReadVecLength(1024, 32);
        break;
      default:
        (void)reader.ReadArray<32>();
        break;
    }
  }
  if (!reader.ok() && reader.ReadU8().has_value()) std::abort();
  return 0;
}
