// Fuzz target: the interchange parser; anything accepted survives serialise-and-parse unchanged.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "slashing/interchange.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = slashing::ParseInterchange(text);
  if (!parsed.ok()) return 0;
  auto again = slashing::ParseInterchange(slashing::SerializeInterchange(*parsed));
  if (!again.ok() || !(*again == *parsed)) std::abort();
  return 0;
}
