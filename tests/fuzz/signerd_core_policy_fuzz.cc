// libFuzzer target: arbitrary text as a signerd policy file, then queried as the pipeline would.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "keymgr/custody.h"
#include "signerd/policy_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto policy = signer::Policy::Parse(text);
  if (!policy.ok()) return 0;
  // Query with names the fuzzer is likely to have written, so lookups see real grants.
  constexpr std::array<std::string_view, 3> kIdentities = {"validator-alice", "intruder", ""};
  constexpr std::array<signer::Operation, 5> kOperations = {
      signer::Operation::kSign, signer::Operation::kVrf, signer::Operation::kGenerate,
      signer::Operation::kInsert, signer::Operation::kList};
  const std::vector<uint8_t> public_key(32, 0x11);
  for (std::string_view identity : kIdentities) {
    for (signer::Operation operation : kOperations) {
      for (std::string_view name : {"gran", "babe"}) {
        const base::KeyTypeId key_type = *base::MakeKeyTypeId(name);
        const bool allows = policy.value().Allows(identity, operation, key_type);
        // Owning a key is a narrower grant than being allowed the operation on its type.
        if (policy.value().Owns(identity, operation, key_type, public_key) && !allows) {
          __builtin_trap();
        }
      }
    }
  }
  return 0;
}
