// MemoryHistoryStore: the in-memory HistoryStore double with injectable faults and write latency.
#include "support/memory_history_store.h"

#include <thread>

namespace slashing {

base::Result<std::optional<std::string>> MemoryHistoryStore::Get(std::string_view key) {
  std::lock_guard lock(mutex_);
  if (fail_reads_) return base::Status::IoError("injected read failure");
  auto it = data_.find(key);
  if (it == data_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

base::Status MemoryHistoryStore::WriteSynced(const StoreBatch& batch) {
  return Apply(batch, /*synced=*/true);
}

base::Status MemoryHistoryStore::Write(const StoreBatch& batch) {
  return Apply(batch, /*synced=*/false);
}

base::Status MemoryHistoryStore::SyncWrites() {
  std::lock_guard lock(mutex_);
  if (fail_writes_) return base::Status::IoError("injected write failure");
  unsynced_writes_ = 0;
  return base::Status::Ok();
}

base::Status MemoryHistoryStore::Apply(const StoreBatch& batch, bool synced) {
  std::chrono::microseconds delay;
  {
    std::lock_guard lock(mutex_);
    if (fail_writes_) return base::Status::IoError("injected write failure");
    delay = write_delay_;
  }
  if (synced && delay.count() > 0) std::this_thread::sleep_for(delay);
  std::lock_guard lock(mutex_);
  if (fail_writes_) return base::Status::IoError("injected write failure");
  for (const StoreWrite& write : batch) {
    if (write.value) {
      data_.insert_or_assign(write.key, *write.value);
    } else {
      data_.erase(write.key);
    }
  }
  ++(synced ? synced_writes_ : unsynced_writes_);
  return base::Status::Ok();
}

base::Status MemoryHistoryStore::Scan(
    std::string_view prefix, const std::function<bool(std::string_view, std::string_view)>& visit) {
  std::lock_guard lock(mutex_);
  if (fail_reads_) return base::Status::IoError("injected read failure");
  for (auto it = data_.lower_bound(prefix); it != data_.end(); ++it) {
    if (std::string_view(it->first).substr(0, prefix.size()) != prefix) break;
    if (!visit(it->first, it->second)) break;
  }
  return base::Status::Ok();
}

void MemoryHistoryStore::SetFailWrites(bool fail) {
  std::lock_guard lock(mutex_);
  fail_writes_ = fail;
}

void MemoryHistoryStore::SetFailReads(bool fail) {
  std::lock_guard lock(mutex_);
  fail_reads_ = fail;
}

void MemoryHistoryStore::SetWriteDelay(std::chrono::microseconds delay) {
  std::lock_guard lock(mutex_);
  write_delay_ = delay;
}

uint64_t MemoryHistoryStore::synced_writes() const {
  std::lock_guard lock(mutex_);
  return synced_writes_;
}

uint64_t MemoryHistoryStore::unsynced_writes() const {
  std::lock_guard lock(mutex_);
  return unsynced_writes_;
}

std::map<std::string, std::string> MemoryHistoryStore::Snapshot() const {
  std::lock_guard lock(mutex_);
  return std::map<std::string, std::string>(data_.begin(), data_.end());
}

}  // namespace slashing
