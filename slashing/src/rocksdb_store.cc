// RocksDbStore: synced RocksDB writes, LOCK-based exclusion, and a fault-injecting file system.
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

// FaultyWritableFile fails Append and Sync while its injector is armed.
class FaultyWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWritableFile(std::unique_ptr<rocksdb::FSWritableFile> target,
                     std::shared_ptr<FaultInjector> faults)
      : FSWritableFileOwnerWrapper(std::move(target)), faults_(std::move(faults)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (faults_->appends_failing()) return Injected();
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (faults_->appends_failing()) return Injected();
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (faults_->syncs_failing()) return Injected();
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (faults_->syncs_failing()) return Injected();
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }
  rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    if (faults_->syncs_failing()) return Injected();
    return FSWritableFileOwnerWrapper::RangeSync(offset, nbytes, options, dbg);
  }

 private:
  rocksdb::IOStatus Injected() {
    faults_->CountInjected();
    return rocksdb::IOStatus::IOError("injected fault");
  }
  std::shared_ptr<FaultInjector> faults_;
};

// FaultyFileSystem hands out FaultyWritableFile for every file RocksDB writes.
class FaultyFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FaultyFileSystem(const std::shared_ptr<rocksdb::FileSystem>& target,
                   std::shared_ptr<FaultInjector> faults)
      : FileSystemWrapper(target), faults_(std::move(faults)) {}
  const char* Name() const override { return "SlashingFaultyFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& path, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    auto status = target()->NewWritableFile(path, options, result, dbg);
    if (status.ok()) *result = std::make_unique<FaultyWritableFile>(std::move(*result), faults_);
    return status;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& path, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override {
    auto status = target()->ReopenWritableFile(path, options, result, dbg);
    if (status.ok()) *result = std::make_unique<FaultyWritableFile>(std::move(*result), faults_);
    return status;
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& path, const std::string& old_path,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override {
    auto status = target()->ReuseWritableFile(path, old_path, options, result, dbg);
    if (status.ok()) *result = std::make_unique<FaultyWritableFile>(std::move(*result), faults_);
    return status;
  }

 private:
  std::shared_ptr<FaultInjector> faults_;
};

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
  if (options.faults) {
    auto file_system =
        std::make_shared<FaultyFileSystem>(rocksdb::FileSystem::Default(), options.faults);
    impl->env = rocksdb::NewCompositeEnv(file_system);
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

base::Status RocksDbStore::WriteSynced(const StoreBatch& batch) {
  rocksdb::WriteBatch rocks_batch;
  for (const StoreWrite& write : batch) {
    rocksdb::Status status =
        write.value ? rocks_batch.Put(write.key, *write.value) : rocks_batch.Delete(write.key);
    if (!status.ok()) return FromRocks(status, "history batch failed");
  }
  return FromRocks(impl_->db->Write(impl_->sync_write, &rocks_batch), "history write failed");
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
