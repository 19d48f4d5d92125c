// HistoryStore: the durable key-value seam under the protection history.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace slashing {

// StoreWrite is one put (value set) or delete (value empty optional) inside a batch.
struct StoreWrite {
  std::string key;
  std::optional<std::string> value;
};
using StoreBatch = std::vector<StoreWrite>;

// HistoryStore is an ordered byte-key store with atomic, synced batches. Implementations must be
// thread-safe. The protection rules live above it (LocalHistoryLog); this layer only stores.
// A store may also take batches without a sync each (Write) and make them durable together later
// (SyncWrites); the defaults sync every batch, which keeps that promise trivially.
class HistoryStore {
 public:
  virtual ~HistoryStore() = default;

  // Get returns the value, nullopt if absent, or kIoError if the read failed.
  virtual base::Result<std::optional<std::string>> Get(std::string_view key) = 0;
  // WriteSynced applies every write of `batch` atomically and returns only once it is on stable
  // storage (fsync). On failure nothing may be assumed durable: callers must not report success.
  virtual base::Status WriteSynced(const StoreBatch& batch) = 0;
  // Write applies `batch` atomically and makes it visible to later reads, but it is durable only
  // once a later SyncWrites (or WriteSynced) has succeeded. It survives the process being killed;
  // a power loss may lose it. On failure nothing may be assumed written.
  virtual base::Status Write(const StoreBatch& batch) { return WriteSynced(batch); }
  // SyncWrites makes every batch written before it was called durable, or fails (kIoError); after
  // a failure nothing written since the last successful sync may be assumed durable.
  virtual base::Status SyncWrites() { return base::Status::Ok(); }
  // Scan visits keys starting with `prefix` in byte order until `visit` returns false. Fails with
  // kIoError if iteration failed. `visit` must not call back into the store.
  virtual base::Status Scan(
      std::string_view prefix,
      const std::function<bool(std::string_view key, std::string_view value)>& visit) = 0;
};

}  // namespace slashing
