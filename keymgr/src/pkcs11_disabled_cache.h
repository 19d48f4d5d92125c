// This process's view of the token's disable markers, kept fresh by a background reader.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <thread>

#include "base/status.h"
#include "base/thread_annotations.h"
#include "keymgr/custody.h"
#include "pkcs11_module.h"

namespace keymgr::pkcs11 {

// EnabledCheck fails unless key `id` may sign with an object of it found at `found_at`: what the
// stores that sign call before they do, in the session they hold (DisabledKeyCache::
// CheckEnabledSince).
using EnabledCheck = std::function<base::Status(Session& session, const KeyId& id,
                                                std::chrono::steady_clock::time_point found_at)>;

// DisabledKeyCache holds the disable markers last read from the token. Sign calls trust them for
// `refresh`, then read them again, so a disable written by another process is honoured within that
// time; a background thread re-reads them before they age, so sign calls rarely wait for a token
// search. Thread-safe.
class DisabledKeyCache {
 public:
  // DisabledKeyCache reads markers through `pool`. `forget` is called with every key found
  // disabled (with the cache's lock held) and every key whose markers this instance changed: a
  // disabled key's secret has no business in memory.
  DisabledKeyCache(SessionPool& pool, std::chrono::milliseconds refresh,
                   std::function<void(const KeyId&)> forget);
  ~DisabledKeyCache();
  DisabledKeyCache(const DisabledKeyCache&) = delete;
  DisabledKeyCache& operator=(const DisabledKeyCache&) = delete;

  // ListingScope marks a listing, which reads the markers with the keys and installs them with
  // Apply, as under way: the background reader does not run a read of its own beside it.
  class ListingScope {
   public:
    explicit ListingScope(DisabledKeyCache& cache);
    ~ListingScope();
    ListingScope(const ListingScope&) = delete;
    ListingScope& operator=(const ListingScope&) = delete;

   private:
    DisabledKeyCache& cache_;
  };

  // StartRefresher starts the background reader; none when `refresh` is zero.
  void StartRefresher();

  // Generation returns the count of marker changes made by this instance, to pass to Apply with
  // markers read from now on.
  uint64_t Generation() EXCLUDES(mutex_);
  // Apply installs the markers a read begun at `read_at` found, unless this instance changed
  // markers since the read began (`generation`). Returns false when the read was dropped.
  bool Apply(std::set<KeyId> markers, std::chrono::steady_clock::time_point read_at,
             uint64_t generation) EXCLUDES(mutex_);
  // MarkersChanged is called after this instance wrote or removed markers of `id`: the next sign
  // call reads them again.
  void MarkersChanged(const KeyId& id) EXCLUDES(mutex_);
  // CheckEnabledSince fails with kNotFound if `id` is disabled, going by markers read at most
  // `refresh` ago by a read begun no earlier than `found_at`, when the caller found the object it
  // is about to use; it fails closed (as the token does) if they cannot be read. Why `found_at`: a
  // restore writes a disabled key's marker before the key, so markers read before the key's object
  // was found may predate both, and only a later read vouches for that object. Objects a listing
  // found carry the listing's start, the time its markers count from, so they need no extra read.
  // A read, when one is needed, runs in the caller's `session`: a signer already holds one, and
  // waiting for a second from the pool could wait for ever when every session is held that way.
  base::Status CheckEnabledSince(Session& session, const KeyId& id,
                                 std::chrono::steady_clock::time_point found_at) EXCLUDES(mutex_);

 private:
  // Refresh reads the markers and installs them.
  base::Status Refresh() EXCLUDES(mutex_);
  // DueForRefresh is false while a listing is under way (it reads the markers itself) or while
  // the markers were read less than half an `interval` ago.
  bool DueForRefresh(std::chrono::milliseconds interval) EXCLUDES(mutex_);
  // RefreshUntilStopped is the refresher thread: a Refresh every `interval` until StopRefresher.
  void RefreshUntilStopped(std::chrono::milliseconds interval) EXCLUDES(refresher_mutex_);
  void StopRefresher() EXCLUDES(refresher_mutex_);

  SessionPool& pool_;
  const std::chrono::milliseconds refresh_;
  const std::function<void(const KeyId&)> forget_;

  base::Mutex mutex_;
  std::set<KeyId> disabled_keys_ GUARDED_BY(mutex_);
  bool known_ GUARDED_BY(mutex_) = false;
  // Listings under way (ListingScope).
  int listings_ GUARDED_BY(mutex_) = 0;
  std::chrono::steady_clock::time_point read_at_ GUARDED_BY(mutex_);
  // Bumped by every marker change this instance makes: a read that started before the change may
  // miss it, so its result is thrown away.
  uint64_t generation_ GUARDED_BY(mutex_) = 0;

  std::thread refresher_;
  base::Mutex refresher_mutex_;
  base::CondVar refresher_wake_;
  bool refresher_stopping_ GUARDED_BY(refresher_mutex_) = false;
};

}  // namespace keymgr::pkcs11
