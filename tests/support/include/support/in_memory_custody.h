// InMemoryCustody: the KeyCustody test double, keys in process memory with injectable faults.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "base/status.h"
#include "keymgr/custody.h"

namespace keymgr {

// CustodyOp names each KeyCustody method, for fault injection in InMemoryCustody.
enum class CustodyOp {
  kList,
  kGenerate,
  kImport,
  kDelete,
  kHolds,
  kSign,
  kEcdsaSignPrehashed,
  kVrfSign,
  kVrfPreOutput
};

// InMemoryCustody is the test double: keys in SecretBytes in this process, with fault injection so
// pipeline tests can prove they fail closed. Not for production (KeyProtection::kSoftwareMemory).
// Thread-safe.
class InMemoryCustody final : public KeyCustody {
 public:
  // clock returns seconds since the epoch for created_at; tests inject a fixed one. Defaults to the
  // system clock.
  explicit InMemoryCustody(int64_t (*clock)() = nullptr);
  ~InMemoryCustody() override;

  base::Result<std::vector<KeyInfo>> List() override;
  base::Result<KeyInfo> Generate(const base::KeyTypeId& key_type, base::Scheme scheme) override;
  base::Result<KeyInfo> Import(const base::KeyTypeId& key_type, const Keypair& pair) override;
  base::Status Delete(const KeyId& id) override;
  base::Result<bool> Holds(const KeyId& id) override;
  base::Result<std::vector<uint8_t>> Sign(const KeyId& id, base::Scheme scheme,
                                          std::span<const uint8_t> message) override;
  base::Result<EcdsaSignature> EcdsaSignPrehashed(const KeyId& id,
                                                  std::span<const uint8_t> digest) override;
  base::Result<Sr25519VrfSignature> VrfSign(const KeyId& id, const VrfTranscriptData& input,
                                            const std::optional<VrfTranscriptData>& extra) override;
  base::Result<Sr25519VrfPreOutput> VrfPreOutput(const KeyId& id,
                                                 const VrfTranscriptData& input) override;

  // FailNext makes the next `count` calls of `op` return `status` without touching any key.
  void FailNext(CustodyOp op, base::Status status, int count = 1);
  // SetUnavailable makes every call fail with kUnavailable until cleared, as an unplugged HSM
  // would.
  void SetUnavailable(bool unavailable);
  // CallCount returns how many calls of `op` reached the store (including injected failures).
  size_t CallCount(CustodyOp op) const;
  // SetListingDelay makes every List() take at least `delay` longer, as a large token does.
  void SetListingDelay(std::chrono::milliseconds delay);

 private:
  struct Entry;
  struct Fault {
    base::Status status;
    int remaining = 0;
  };

  // TakeFault counts the call and returns the injected failure for `op`, or Ok. Caller holds
  // mutex_.
  base::Status TakeFault(CustodyOp op);
  base::Result<KeyInfo> Store(const base::KeyTypeId& key_type, Keypair pair, bool generated);

  mutable std::mutex mutex_;
  int64_t (*clock_)();
  std::map<KeyId, std::unique_ptr<Entry>> keys_;
  std::map<CustodyOp, Fault> faults_;
  std::map<CustodyOp, size_t> calls_;
  bool unavailable_ = false;
  std::atomic<int64_t> listing_delay_ms_{0};
};

}  // namespace keymgr
