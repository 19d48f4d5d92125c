// This process's view of the token's disable markers, kept fresh by a background reader.
#include "pkcs11_disabled_cache.h"

#include <algorithm>
#include <utility>

#include "pkcs11_disable_markers.h"

namespace keymgr::pkcs11 {

DisabledKeyCache::DisabledKeyCache(SessionPool& pool, std::chrono::milliseconds refresh,
                                   std::function<void(const KeyId&)> forget)
    : pool_(pool), refresh_(refresh), forget_(std::move(forget)) {}

DisabledKeyCache::~DisabledKeyCache() { StopRefresher(); }

void DisabledKeyCache::StartRefresher() {
  if (refresh_.count() == 0) return;
  // Half the bound, so a read that takes a while still lands in time; not below 100 ms, where
  // sign calls reading the markers themselves is the cheaper way to honour the bound.
  const std::chrono::milliseconds interval = std::max(refresh_ / 2, std::chrono::milliseconds(100));
  refresher_ = std::thread([this, interval] { RefreshUntilStopped(interval); });
}

void DisabledKeyCache::RefreshUntilStopped(std::chrono::milliseconds interval) {
  // The first read is left to the first sign or list call; this thread only keeps it fresh.
  for (;;) {
    {
      base::MutexLock lock(refresher_mutex_);
      const std::chrono::steady_clock::time_point deadline =
          std::chrono::steady_clock::now() + interval;
      while (!refresher_stopping_) {
        if (!refresher_wake_.WaitUntil(refresher_mutex_, deadline)) break;  // the interval is up
      }
      if (refresher_stopping_) return;
    }
    // A failed read is not fatal here: the markers age, and the next sign call reads them itself
    // and fails closed if it cannot.
    if (DueForRefresh(interval)) (void)Refresh();
  }
}

void DisabledKeyCache::StopRefresher() {
  {
    base::MutexLock lock(refresher_mutex_);
    refresher_stopping_ = true;
  }
  refresher_wake_.SignalAll();
  if (refresher_.joinable()) refresher_.join();
}

base::Status DisabledKeyCache::Refresh() {
  const std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
  const uint64_t generation = Generation();
  base::Result<std::set<KeyId>> markers = base::Status::Internal("unset");
  {
    SIGNER_ASSIGN_OR_RETURN(Session session, pool_.Acquire());
    markers = ReadDisabled(session);
  }
  SIGNER_RETURN_IF_ERROR(markers);
  (void)Apply(std::move(markers).value(), now, generation);
  return base::Status::Ok();
}

bool DisabledKeyCache::DueForRefresh(std::chrono::milliseconds interval) {
  base::MutexLock lock(mutex_);
  // A listing reads the markers too (at start, on a large token, for seconds): a second read
  // running beside it would only slow it down.
  if (listings_ > 0) return false;
  // Read recently enough by a listing or a sign call: at the next wake-up they are still younger
  // than 1.5 intervals, which leaves half an interval for that read before they are too old.
  return !known_ || std::chrono::steady_clock::now() - read_at_ >= interval / 2;
}

DisabledKeyCache::ListingScope::ListingScope(DisabledKeyCache& cache) : cache_(cache) {
  base::MutexLock lock(cache_.mutex_);
  ++cache_.listings_;
}

DisabledKeyCache::ListingScope::~ListingScope() {
  base::MutexLock lock(cache_.mutex_);
  --cache_.listings_;
}

uint64_t DisabledKeyCache::Generation() {
  base::MutexLock lock(mutex_);
  return generation_;
}

bool DisabledKeyCache::Apply(std::set<KeyId> markers, std::chrono::steady_clock::time_point read_at,
                             uint64_t generation) {
  base::MutexLock lock(mutex_);
  if (generation != generation_) return false;
  if (known_ && read_at < read_at_) return true;  // a newer read is in place
  disabled_keys_ = std::move(markers);
  known_ = true;
  read_at_ = read_at;
  // A disabled key's secret has no business in memory; a later enable unwraps it again.
  for (const KeyId& id : disabled_keys_) forget_(id);
  return true;
}

void DisabledKeyCache::MarkersChanged(const KeyId& id) {
  {
    base::MutexLock lock(mutex_);
    ++generation_;
    known_ = false;
  }
  forget_(id);
}

base::Status DisabledKeyCache::CheckEnabledSince(Session& session, const KeyId& id,
                                                 std::chrono::steady_clock::time_point found_at) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
    uint64_t generation = 0;
    {
      base::MutexLock lock(mutex_);
      if (known_ && now - read_at_ < refresh_ && read_at_ >= found_at) {
        if (disabled_keys_.contains(id)) return base::Status::NotFound("key is disabled");
        return base::Status::Ok();
      }
      generation = generation_;
    }
    base::Result<std::set<KeyId>> markers = ReadDisabled(session);
    SIGNER_RETURN_IF_ERROR(markers);
    if (Apply(std::move(markers).value(), now, generation)) {
      base::MutexLock lock(mutex_);
      if (disabled_keys_.contains(id)) return base::Status::NotFound("key is disabled");
      return base::Status::Ok();
    }
  }
  return base::Status::Unavailable("disable markers changed during every read");
}

}  // namespace keymgr::pkcs11
