// RocksDbStore: the production HistoryStore, RocksDB with every write synced, plus fault injection.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "slashing/history_store.h"

namespace slashing {

// FaultInjector switches failures on in the file system under a RocksDbStore: WAL and table file
// Append and Sync/Fsync calls return an I/O error while armed. Used by tests to prove that a
// failed write or fsync never turns into "allowed". Thread-safe; must outlive the store.
class FaultInjector {
 public:
  void FailAppends(bool fail) { fail_appends_.store(fail); }
  void FailSyncs(bool fail) { fail_syncs_.store(fail); }
  bool appends_failing() const { return fail_appends_.load(); }
  bool syncs_failing() const { return fail_syncs_.load(); }
  // injected counts the calls that were made to fail.
  uint64_t injected() const { return injected_.load(); }
  void CountInjected() { injected_.fetch_add(1); }

 private:
  std::atomic<bool> fail_appends_{false};
  std::atomic<bool> fail_syncs_{false};
  std::atomic<uint64_t> injected_{0};
};

struct RocksDbStoreOptions {
  // create_if_missing creates an empty database; admin commands on an existing one set false.
  bool create_if_missing = true;
  // faults, if set, wraps RocksDB's file system so tests can fail Append/Sync on demand.
  std::shared_ptr<FaultInjector> faults;
};

// RocksDbStore keeps the history in one RocksDB database with WriteOptions::sync = true, so a
// successful WriteSynced has been fsynced. RocksDB's LOCK file makes one process the only writer:
// Open fails with kBusy while another process (or another RocksDbStore in this one) holds it.
// Thread-safe.
class RocksDbStore : public HistoryStore {
 public:
  // Open opens or creates the database in `directory`. kBusy if locked, kIoError otherwise.
  static base::Result<std::unique_ptr<RocksDbStore>> Open(const std::string& directory,
                                                          const RocksDbStoreOptions& options);
  ~RocksDbStore() override;
  RocksDbStore(const RocksDbStore&) = delete;
  RocksDbStore& operator=(const RocksDbStore&) = delete;

  base::Result<std::optional<std::string>> Get(std::string_view key) override;
  base::Status WriteSynced(const StoreBatch& batch) override;
  base::Status Scan(std::string_view prefix,
                    const std::function<bool(std::string_view, std::string_view)>& visit) override;

 private:
  struct Impl;
  explicit RocksDbStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace slashing
