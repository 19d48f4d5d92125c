// RocksDbStore: synced RocksDB writes and LOCK-based exclusion.
#include "slashing/rocksdb_store.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

namespace slashing {
namespace {

base::Status FromRocks(const rocksdb::Status& status, const char* what) {
  if (status.ok()) return base::Status::Ok();
  return base::Status::IoError(std::string(what) + ": " + status.ToString());
}

}  // namespace

struct RocksDbStore::Impl {
  // env must outlive db: RocksDB calls into it until the database is closed.
  std::unique_ptr<rocksdb::Env> env;
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::WriteOptions sync_write;
};

RocksDbStore::RocksDbStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RocksDbStore::~RocksDbStore() {
  if (impl_ && impl_->db) {
    (void)impl_->db->Close();
    impl_->db.reset();
  }
}

base::Result<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(const std::string& directory,
                                                               const RocksDbStoreOptions& options) {
  auto impl = std::make_unique<Impl>();
  rocksdb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  // The history is small and precious: keep RocksDB's own sanity checks strict.
  db_options.paranoid_checks = true;
  db_options.max_background_jobs = 2;
  // Most lookups are misses (a first signature at a new position): bloom filters let them skip
  // table files instead of reading every level-0 file.
  rocksdb::BlockBasedTableOptions table_options;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
  if (options.file_system) {
    impl->env = rocksdb::NewCompositeEnv(options.file_system);
    db_options.env = impl->env.get();
  }
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(db_options, directory, &raw_db);
  if (!status.ok()) {
    const std::string text = status.ToString();
    // RocksDB reports a held LOCK as an I/O error mentioning the lock (another process: "While
    // lock file"; this process: "lock hold by current process").
    if (status.IsIOError() && text.find("lock") != std::string::npos) {
      return base::Status::Busy("history is in use by another signer: " + text);
    }
    if (status.IsInvalidArgument() && !options.create_if_missing) {
      return base::Status::FailedPrecondition("no history in " + directory + ": " + text);
    }
    return base::Status::IoError("cannot open history: " + text);
  }
  impl->db.reset(raw_db);
  impl->sync_write.sync = true;
  return std::unique_ptr<RocksDbStore>(new RocksDbStore(std::move(impl)));
}

base::Result<std::optional<std::string>> RocksDbStore::Get(std::string_view key) {
  std::string value;
  rocksdb::Status status =
      impl_->db->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return FromRocks(status, "history read failed");
  return std::optional<std::string>(std::move(value));
}

namespace {

base::Status WriteWith(rocksdb::DB& db, const rocksdb::WriteOptions& options,
                       const StoreBatch& batch) {
  rocksdb::WriteBatch rocks_batch;
  for (const StoreWrite& write : batch) {
    rocksdb::Status status =
        write.value ? rocks_batch.Put(write.key, *write.value) : rocks_batch.Delete(write.key);
    if (!status.ok()) return FromRocks(status, "history batch failed");
  }
  return FromRocks(db.Write(options, &rocks_batch), "history write failed");
}

}  // namespace

base::Status RocksDbStore::WriteSynced(const StoreBatch& batch) {
  return WriteWith(*impl_->db, impl_->sync_write, batch);
}

base::Status RocksDbStore::Write(const StoreBatch& batch) {
  return WriteWith(*impl_->db, rocksdb::WriteOptions(), batch);
}

base::Status RocksDbStore::SyncWrites() {
  return FromRocks(impl_->db->SyncWAL(), "history sync failed");
}

base::Status RocksDbStore::Scan(
    std::string_view prefix, const std::function<bool(std::string_view, std::string_view)>& visit) {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (key.substr(0, prefix.size()) != prefix) break;
    if (!visit(key, std::string_view(it->value().data(), it->value().size()))) break;
  }
  return FromRocks(it->status(), "history scan failed");
}

}  // namespace slashing
