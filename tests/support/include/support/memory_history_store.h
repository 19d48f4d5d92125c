// MemoryHistoryStore: the HistoryStore test double, a map with switchable faults and write latency.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "slashing/history_store.h"

namespace slashing {

// MemoryHistoryStore is the test double: a std::map behind a mutex with switchable faults and an
// optional delay per synced write (to imitate fsync latency so concurrent callers pile up).
// Thread-safe.
class MemoryHistoryStore : public HistoryStore {
 public:
  base::Result<std::optional<std::string>> Get(std::string_view key) override;
  base::Status WriteSynced(const StoreBatch& batch) override;
  // Write applies like WriteSynced (same faults and delay) but counts as unsynced until SyncWrites.
  base::Status Write(const StoreBatch& batch) override;
  base::Status SyncWrites() override;
  base::Status Scan(std::string_view prefix,
                    const std::function<bool(std::string_view, std::string_view)>& visit) override;

  // SetFailWrites makes every following WriteSynced fail with kIoError and change nothing.
  void SetFailWrites(bool fail);
  // SetFailReads makes every following Get and Scan fail with kIoError.
  void SetFailReads(bool fail);
  // SetWriteDelay sleeps this long inside every WriteSynced (outside the map lock); an unsynced
  // Write does not wait, as a write to the page cache does not.
  void SetWriteDelay(std::chrono::microseconds delay);
  // synced_writes counts successful WriteSynced calls (one per group commit).
  uint64_t synced_writes() const;
  // unsynced_writes counts successful Write calls since the last SyncWrites: what a power cut
  // could take.
  uint64_t unsynced_writes() const;
  // Snapshot copies the whole map, for tests that compare stores.
  std::map<std::string, std::string> Snapshot() const;

 private:
  base::Status Apply(const StoreBatch& batch, bool synced);

  mutable std::mutex mutex_;
  std::map<std::string, std::string, std::less<>> data_;
  bool fail_writes_ = false;
  bool fail_reads_ = false;
  std::chrono::microseconds write_delay_{0};
  uint64_t synced_writes_ = 0;
  uint64_t unsynced_writes_ = 0;
};

}  // namespace slashing
