// Clang thread-safety annotations and annotated locks, so clang builds (-Wthread-safety) check at
// compile time that guarded state is touched only with its lock held.
//
// Usage:
//   base::Mutex mutex_;
//   base::CondVar changed_;
//   int count_ GUARDED_BY(mutex_) = 0;
//   void Add() EXCLUDES(mutex_) { base::MutexLock lock(mutex_); ++count_; changed_.SignalAll(); }
//   void AddLocked() REQUIRES(mutex_) { ++count_; }
//   void AwaitPositive() EXCLUDES(mutex_) {
//     base::MutexLock lock(mutex_);
//     while (count_ <= 0) changed_.Wait(mutex_);
//   }
// Readers and writers: base::SharedMutex with base::ReaderMutexLock / base::WriterMutexLock, and
// REQUIRES_SHARED on helpers that only read.
// With gcc (which has no such analysis) every macro expands to nothing and base::Mutex is exactly a
// std::mutex (base::SharedMutex a std::shared_mutex), so gcc builds are unchanged. libstdc++'s
// mutexes carry no annotations, which is why the analysis needs these wrappers rather than
// std::lock_guard.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

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
// REQUIRES_SHARED: callers hold it at least shared (a reader lock of a SharedMutex is enough).
#define REQUIRES(...) SIGNER_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) SIGNER_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define EXCLUDES(...) SIGNER_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// ACQUIRE / RELEASE: the function takes / gives up the lock and returns with it held / not held.
#define ACQUIRE(...) SIGNER_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) SIGNER_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) SIGNER_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
// The same in shared (reader) mode.
#define ACQUIRE_SHARED(...) SIGNER_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) SIGNER_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define TRY_ACQUIRE_SHARED(...) SIGNER_THREAD_ANNOTATION(try_acquire_shared_capability(__VA_ARGS__))
// ASSERT_CAPABILITY: the function checks (or the caller knows) that the lock is held;
// ASSERT_SHARED_CAPABILITY that it is held at least shared.
#define ASSERT_CAPABILITY(x) SIGNER_THREAD_ANNOTATION(assert_capability(x))
#define ASSERT_SHARED_CAPABILITY(x) SIGNER_THREAD_ANNOTATION(assert_shared_capability(x))
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
  // std::unique_lock<std::mutex>). Code that waits on it must already hold this Mutex; CondVar
  // does that for it.
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

// CondVar is a std::condition_variable whose waits take the base::Mutex the caller holds, so the
// analysis sees the lock held before and after the wait. Callers wait in a loop on their condition
// (a wait may wake spuriously), written in the locked function itself, where the analysis checks
// the guarded reads; a predicate lambda would be a separate function it cannot tie to the lock.
// Thread-safe.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Wait releases `mutex`, blocks until signalled (or a spurious wake-up) and takes `mutex` again
  // before returning.
  void Wait(Mutex& mutex) REQUIRES(mutex) {
    std::unique_lock<std::mutex> lock(mutex.native(), std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // the caller's MutexLock still owns the lock
  }
  // WaitUntil is Wait bounded by `deadline`: false if it returned because the deadline passed
  // (std::cv_status::timeout), true otherwise. Either way `mutex` is held again on return.
  template <typename Clock, typename Duration>
  bool WaitUntil(Mutex& mutex, const std::chrono::time_point<Clock, Duration>& deadline)
      REQUIRES(mutex) {
    std::unique_lock<std::mutex> lock(mutex.native(), std::adopt_lock);
    const std::cv_status status = cv_.wait_until(lock, deadline);
    lock.release();
    return status == std::cv_status::no_timeout;
  }
  // WaitFor is WaitUntil with a deadline `timeout` from now on the steady clock.
  template <typename Rep, typename Period>
  bool WaitFor(Mutex& mutex, const std::chrono::duration<Rep, Period>& timeout) REQUIRES(mutex) {
    return WaitUntil(mutex, std::chrono::steady_clock::now() + timeout);
  }
  // Signal wakes one waiter, SignalAll every waiter; neither needs the mutex held.
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

// SharedMutex is a std::shared_mutex the analysis knows as a reader/writer lock: writers hold it
// alone (Lock, WriterMutexLock), readers together (LockShared, ReaderMutexLock). Not recursive in
// either mode; not movable. Thread-safe.
class CAPABILITY("shared mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() ACQUIRE() { mutex_.lock(); }
  void Unlock() RELEASE() { mutex_.unlock(); }
  bool TryLock() TRY_ACQUIRE(true) { return mutex_.try_lock(); }
  void LockShared() ACQUIRE_SHARED() { mutex_.lock_shared(); }
  void UnlockShared() RELEASE_SHARED() { mutex_.unlock_shared(); }
  bool TryLockShared() TRY_ACQUIRE_SHARED(true) { return mutex_.try_lock_shared(); }
  // AssertHeld / AssertReaderHeld tell the analysis the caller holds this lock exclusively / at
  // least shared (nothing is checked at run time): for callbacks the analysis cannot follow.
  void AssertHeld() const ASSERT_CAPABILITY(this) {}
  void AssertReaderHeld() const ASSERT_SHARED_CAPABILITY(this) {}

 private:
  std::shared_mutex mutex_;
};

// ReaderMutexLock holds a SharedMutex shared for its scope (std::shared_lock).
class SCOPED_CAPABILITY ReaderMutexLock {
 public:
  explicit ReaderMutexLock(SharedMutex& mutex) ACQUIRE_SHARED(mutex) : mutex_(mutex) {
    mutex_.LockShared();
  }
  ~ReaderMutexLock() RELEASE() { mutex_.UnlockShared(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  SharedMutex& mutex_;
};

// WriterMutexLock holds a SharedMutex exclusively for its scope (std::unique_lock).
class SCOPED_CAPABILITY WriterMutexLock {
 public:
  explicit WriterMutexLock(SharedMutex& mutex) ACQUIRE(mutex) : mutex_(mutex) { mutex_.Lock(); }
  ~WriterMutexLock() RELEASE() { mutex_.Unlock(); }
  WriterMutexLock(const WriterMutexLock&) = delete;
  WriterMutexLock& operator=(const WriterMutexLock&) = delete;

 private:
  SharedMutex& mutex_;
};

}  // namespace base
