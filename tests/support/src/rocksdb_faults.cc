// FaultyFileSystem: RocksDB file system and writable-file wrappers that consult a FaultInjector.
#include "support/rocksdb_faults.h"

#include <rocksdb/file_system.h>

#include <atomic>
#include <string>
#include <utility>

namespace slashing {
namespace {

bool IsWriteAheadLog(const std::string& path) {
  return path.size() > 4 && path.compare(path.size() - 4, 4, ".log") == 0;
}

// FaultyWritableFile fails Append and Sync while its injector is armed, and tells the injector how
// many bytes of a write-ahead log it holds unsynced.
class FaultyWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWritableFile(std::unique_ptr<rocksdb::FSWritableFile> target,
                     std::shared_ptr<FaultInjector> faults, bool write_ahead_log)
      : FSWritableFileOwnerWrapper(std::move(target)),
        faults_(std::move(faults)),
        write_ahead_log_(write_ahead_log) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (faults_->appends_failing()) return Injected();
    return Appended(data.size(), FSWritableFileOwnerWrapper::Append(data, options, dbg));
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (faults_->appends_failing()) return Injected();
    return Appended(data.size(), FSWritableFileOwnerWrapper::Append(data, options, info, dbg));
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (faults_->syncs_failing()) return Injected();
    return Synced(FSWritableFileOwnerWrapper::Sync(options, dbg));
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (faults_->syncs_failing()) return Injected();
    return Synced(FSWritableFileOwnerWrapper::Fsync(options, dbg));
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
  rocksdb::IOStatus Appended(uint64_t bytes, rocksdb::IOStatus status) {
    if (status.ok() && write_ahead_log_) {
      unsynced_.fetch_add(bytes);
      faults_->AddUnsyncedWalBytes(bytes);
    }
    return status;
  }
  rocksdb::IOStatus Synced(rocksdb::IOStatus status) {
    if (status.ok() && write_ahead_log_) faults_->RemoveUnsyncedWalBytes(unsynced_.exchange(0));
    return status;
  }
  std::shared_ptr<FaultInjector> faults_;
  const bool write_ahead_log_;
  std::atomic<uint64_t> unsynced_{0};
};

// FaultyFileSystemWrapper hands out FaultyWritableFile for every file RocksDB writes.
class FaultyFileSystemWrapper : public rocksdb::FileSystemWrapper {
 public:
  FaultyFileSystemWrapper(const std::shared_ptr<rocksdb::FileSystem>& target,
                          std::shared_ptr<FaultInjector> faults)
      : FileSystemWrapper(target), faults_(std::move(faults)) {}
  const char* Name() const override { return "SlashingFaultyFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& path, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    auto status = target()->NewWritableFile(path, options, result, dbg);
    return Wrapped(std::move(status), path, result);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& path, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override {
    auto status = target()->ReopenWritableFile(path, options, result, dbg);
    return Wrapped(std::move(status), path, result);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& path, const std::string& old_path,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override {
    auto status = target()->ReuseWritableFile(path, old_path, options, result, dbg);
    return Wrapped(std::move(status), path, result);
  }

 private:
  // Wrapped puts a file RocksDB just opened for writing under the injector.
  rocksdb::IOStatus Wrapped(rocksdb::IOStatus status, const std::string& path,
                            std::unique_ptr<rocksdb::FSWritableFile>* result) {
    if (status.ok()) {
      *result =
          std::make_unique<FaultyWritableFile>(std::move(*result), faults_, IsWriteAheadLog(path));
    }
    return status;
  }
  std::shared_ptr<FaultInjector> faults_;
};

}  // namespace

std::shared_ptr<rocksdb::FileSystem> FaultyFileSystem(std::shared_ptr<FaultInjector> faults) {
  return std::make_shared<FaultyFileSystemWrapper>(rocksdb::FileSystem::Default(),
                                                   std::move(faults));
}

}  // namespace slashing
