// FaultInjector: makes the files RocksDB writes under a RocksDbStore fail their writes or syncs,
// and counts the write-ahead log's bytes that are not synced yet.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace rocksdb {
class FileSystem;
}  // namespace rocksdb

namespace slashing {

// FaultInjector switches failures on in the file system under a RocksDbStore: WAL and table file
// Append and Sync/Fsync calls return an I/O error while armed. Tests use it to prove that a failed
// write or fsync never turns into "allowed". Thread-safe; must outlive the store.
class FaultInjector {
 public:
  void FailAppends(bool fail) { fail_appends_.store(fail); }
  void FailSyncs(bool fail) { fail_syncs_.store(fail); }
  bool appends_failing() const { return fail_appends_.load(); }
  bool syncs_failing() const { return fail_syncs_.load(); }
  // injected counts the calls that were made to fail.
  uint64_t injected() const { return injected_.load(); }
  void CountInjected() { injected_.fetch_add(1); }
  // unsynced_wal_bytes counts bytes appended to RocksDB's write-ahead log files (NNNNNN.log) and
  // not yet made durable by a successful Sync or Fsync of that file: what a power loss could take.
  // Exact while appends and syncs of one file do not overlap, as in single-threaded tests.
  uint64_t unsynced_wal_bytes() const { return unsynced_wal_bytes_.load(); }
  void AddUnsyncedWalBytes(uint64_t bytes) { unsynced_wal_bytes_.fetch_add(bytes); }
  void RemoveUnsyncedWalBytes(uint64_t bytes) { unsynced_wal_bytes_.fetch_sub(bytes); }

 private:
  std::atomic<bool> fail_appends_{false};
  std::atomic<bool> fail_syncs_{false};
  std::atomic<uint64_t> injected_{0};
  std::atomic<uint64_t> unsynced_wal_bytes_{0};
};

// FaultyFileSystem wraps RocksDB's default file system so that every file opened for writing
// obeys `faults`; hand it to RocksDbStoreOptions::file_system.
std::shared_ptr<rocksdb::FileSystem> FaultyFileSystem(std::shared_ptr<FaultInjector> faults);

}  // namespace slashing
