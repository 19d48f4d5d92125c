// libFuzzer target: arbitrary text as a signer configuration file.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "signer/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = signer::ParseSignerConfig(text, "/base");
  if (config.ok()) {
    // Zero sessions or workers would deadlock signerd; a parsed config must never carry them.
    if (config.value().hsm.max_sessions == 0) __builtin_trap();
    if (config.value().server && config.value().server->worker_threads == 0) __builtin_trap();
  }
  return 0;
}
