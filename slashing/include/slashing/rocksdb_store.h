// RocksDbStore: the production HistoryStore, RocksDB with synced writes or synced write-ahead log.
#pragma once

#include <memory>
#include <string>

#include "slashing/history_store.h"

namespace rocksdb {
class FileSystem;
}  // namespace rocksdb

namespace slashing {

struct RocksDbStoreOptions {
  // create_if_missing creates an empty database; admin commands on an existing one set false.
  bool create_if_missing = true;
  // file_system, if set, is what RocksDB reads and writes files through instead of the default one
  // (tests wrap the default to make writes or syncs fail on demand).
  std::shared_ptr<rocksdb::FileSystem> file_system;
};

// RocksDbStore keeps the history in one RocksDB database. WriteSynced writes with
// WriteOptions::sync = true, so a successful one has been fsynced; Write goes to the write-ahead
// log without a sync (in the kernel's page cache: a killed process loses nothing), and SyncWrites
// fsyncs the write-ahead log (DB::SyncWAL), which makes every earlier Write durable. RocksDB's LOCK
// file makes one process the only writer: Open fails with kBusy while another process (or another
// RocksDbStore in this one) holds it. Thread-safe.
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
  base::Status Write(const StoreBatch& batch) override;
  base::Status SyncWrites() override;
  base::Status Scan(std::string_view prefix,
                    const std::function<bool(std::string_view, std::string_view)>& visit) override;

 private:
  struct Impl;
  explicit RocksDbStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace slashing
