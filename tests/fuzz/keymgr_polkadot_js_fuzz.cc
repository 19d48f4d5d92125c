// libFuzzer target: arbitrary text as a polkadot-js export decrypted with the seed corpus password.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "keymgr/keys_polkadot_js.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The password of the oracle-made seeds (tests/cli/keys_polkadot_js_fixture.json), so mutants of
  // a real export get past the MAC and into the key checks.
  static constexpr uint8_t kPassword[] = "fixture password for polkadot-js export";
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto pair = keymgr::DecodePolkadotJsExport(text, std::span(kPassword, sizeof kPassword - 1));
  (void)pair;
  return 0;
}
