// libFuzzer target: arbitrary bytes as a Substrate keystore file name and as a key file's content.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "keymgr/keys_keystore.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  const std::string name(bytes.begin(), bytes.end());
  auto key = keymgr::ParseKeystoreFileName(name);
  if (key.ok()) {
    // The name is hex(key type) ++ hex(public key), so its length fixes the key's.
    const size_t key_size = key.value().public_key.size();
    if ((key_size != 32 && key_size != 33) || name.size() != 2 * (4 + key_size)) __builtin_trap();
  }
  auto suri = keymgr::DecodeKeystoreSuri(bytes);
  // Every accepted escape is at least as long as the byte it stands for, and the quotes are extra.
  if (suri.ok() && suri.value().size() + 2 > size) __builtin_trap();
  return 0;
}
