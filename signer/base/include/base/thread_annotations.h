// Clang thread-safety annotations and an annotated mutex, so clang builds (-Wthread-safety) check
// at compile time that guarded state is touched only with its lock held.
//
// Usage:
//   base::Mutex mutex_;
//   int count_ GUARDED_BY(mutex_) = 0;
//   void Add() EXCLUDES(mutex_) { base::MutexLock lock(mutex_); ++count_; }
//   void AddLocked() REQUIRES(mutex_) { ++count_; }
// With gcc (which has no such analysis) every macro expands to nothing and base::Mutex is exactly a
// std::mutex, so gcc builds are unchanged. libstdc++'s std::mutex carries no annotations, which is
// why the analysis needs this wrapper rather than std::lock_guard.
#pragma once

#include <mutex>

#if defined(__clang__)
#define SIGNER_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define SIGNER_THREAD_ANNOTATION(x)
#endif

// CAPABILITY marks a class as a lock; SCOPED_CAPABILITY a RAII holder of one.
#define CAPABILITY(name) SIGNER_THREAD_ANNOTATION(capability(name))
#define SCOPED_CAPABILITY SIGNER_THREAD_ANNOTATION(scoped_lockable)
// GUARDED_BY: the member is read and written only with the lock held. PT_GUARDED_BY: the same for
// what a pointer member points to.
// Abseil (which gRPC's headers include) defines these three with the same meaning; theirs is kept.
#ifndef GUARDED_BY
#define GUARDED_BY(x) SIGNER_THREAD_ANNOTATION(guarded_by(x))
#endif
#ifndef PT_GUARDED_BY
#define PT_GUARDED_BY(x) SIGNER_THREAD_ANNOTATION(pt_guarded_by(x))
#endif
// REQUIRES: callers hold the lock. EXCLUDES: callers must not hold it (the function takes it).
#define REQUIRES(...) SIGNER_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) SIGNER_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// ACQUIRE / RELEASE: the function takes / gives up the lock and returns with it held / not held.
#define ACQUIRE(...) SIGNER_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) SIGNER_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) SIGNER_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
// ASSERT_CAPABILITY: the function checks (or the caller knows) that the lock is held.
#define ASSERT_CAPABILITY(x) SIGNER_THREAD_ANNOTATION(assert_capability(x))
// RETURN_CAPABILITY: the function returns a reference to the given lock.
#define RETURN_CAPABILITY(x) SIGNER_THREAD_ANNOTATION(lock_returned(x))
// NO_THREAD_SAFETY_ANALYSIS: opt one function out; say why beside it.
#ifndef NO_THREAD_SAFETY_ANALYSIS
#define NO_THREAD_SAFETY_ANALYSIS SIGNER_THREAD_ANNOTATION(no_thread_safety_analysis)
#endif

namespace base {

// Mutex is a std::mutex the analysis knows as a lock. Not recursive; not movable. Thread-safe.
class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mutex_.lock(); }
  void Unlock() RELEASE() { mutex_.unlock(); }
  bool TryLock() TRY_ACQUIRE(true) { return mutex_.try_lock(); }
  // AssertHeld tells the analysis the caller holds this lock (it checks nothing at run time): for
  // callbacks the analysis cannot follow.
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

  // native is the underlying std::mutex, for std::condition_variable (which needs a
  // std::unique_lock<std::mutex>). Code that waits on it must already hold this Mutex.
  std::mutex& native() RETURN_CAPABILITY(this) { return mutex_; }

 private:
  std::mutex mutex_;
};

// MutexLock holds a Mutex for its scope (std::lock_guard for base::Mutex).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) ACQUIRE(mutex) : mutex_(mutex) { mutex_.Lock(); }
  ~MutexLock() RELEASE() { mutex_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mutex_;
};

}  // namespace base
