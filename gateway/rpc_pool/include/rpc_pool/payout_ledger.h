// The payout ledger: one durable record per period, written before the extrinsic is submitted
// (prepared) and after the node accepted it (submitted), so a crash and re-run never pays twice
// (docs/rpc-pool.md, "Payout": the states and the file format).
//
// Thread safety: a PayoutLedger is thread-compatible; across processes an exclusive lock on the
// directory keeps a second payout run out while one holds it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/file_descriptor.h"
#include "base/status.h"

namespace rpc_pool {

// PayoutState is the closed set of a period's states; no record means nothing was prepared.
enum class PayoutState {
  kPrepared,   // the signed extrinsic is recorded; it may or may not have reached the node
  kSubmitted,  // the node accepted it (or the account's nonce shows it was used)
};

// PayoutRecord is what the ledger holds for one period.
struct PayoutRecord {
  std::string period;
  PayoutState state = PayoutState::kPrepared;
  std::string chain;
  std::string input_digest;  // hex blake2_256 of the run's inputs: a re-run must bring the same
  uint32_t nonce = 0;
  std::string extrinsic_hex;  // 0x-prefixed, the exact bytes signed and submitted
  std::string tx_hash_hex;    // 0x-prefixed blake2_256 of the extrinsic
};

// kMaxPeriodIdLength bounds a period id; ids are [A-Za-z0-9._-], not starting with '.'.
inline constexpr size_t kMaxPeriodIdLength = 64;

// ValidPeriodId is true for 1..64 characters of [A-Za-z0-9._-] not starting with '.': the id
// names a file, so nothing else may reach a path.
bool ValidPeriodId(std::string_view period);

// PayoutStateName is "prepared" or "submitted".
std::string_view PayoutStateName(PayoutState state);

class PayoutLedger {
 public:
  // Open creates `dir` (mode 0700) if needed and takes an exclusive lock on dir/LOCK for the
  // ledger's lifetime. Fails with kBusy when another process holds it, kUnavailable on I/O errors.
  [[nodiscard]] static base::Result<PayoutLedger> Open(const std::filesystem::path& dir);

  // Find returns the record of `period`, or nullopt. Fails with kInvalidArgument on a bad period
  // id, kCorruption when the record does not decode (never treated as absent), kUnavailable on I/O.
  [[nodiscard]] base::Result<std::optional<PayoutRecord>> Find(std::string_view period) const;

  // InFlight returns every record in the prepared state. Fails as Find does.
  [[nodiscard]] base::Result<std::vector<PayoutRecord>> InFlight() const;

  // Record writes `record` durably (temporary file, fsync, rename, directory fsync) before it
  // returns OK. Only these transitions are accepted, anything else is kFailedPrecondition and
  // writes nothing: none -> prepared; prepared -> submitted with the same extrinsic and nonce.
  // A submitted period is never rewritten, and a prepared one never gets other bytes.
  [[nodiscard]] base::Status Record(const PayoutRecord& record);

  const std::filesystem::path& dir() const { return dir_; }

 private:
  PayoutLedger(std::filesystem::path dir, base::FileDescriptor lock)
      : dir_(std::move(dir)), lock_(std::move(lock)) {}
  std::filesystem::path PathOf(std::string_view period) const;

  std::filesystem::path dir_;
  base::FileDescriptor lock_;  // held (flock) while the ledger is open
};

}  // namespace rpc_pool
