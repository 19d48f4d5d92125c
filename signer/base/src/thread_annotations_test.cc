// Tests for the annotated locks: CondVar wakes and times out with its mutex held again, and
// SharedMutex lets readers share while a writer holds it alone.
#include "base/thread_annotations.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace base {
namespace {

// Box is a flag guarded by a mutex, the shape every user of CondVar has.
struct Box {
  Mutex mutex;
  CondVar changed;
  bool ready GUARDED_BY(mutex) = false;
  int wakeups GUARDED_BY(mutex) = 0;
};

// Try runs `attempt` on another thread and returns its result: a thread that already holds a lock
// must not try it again itself (undefined for the standard mutexes).
template <typename Attempt>
bool Try(Attempt attempt) {
  bool result = false;
  std::thread other([&] { result = attempt(); });
  other.join();
  return result;
}

bool CanLock(Mutex& mutex) {
  if (!mutex.TryLock()) return false;
  mutex.Unlock();
  return true;
}
bool CanLock(SharedMutex& mutex) {
  if (!mutex.TryLock()) return false;
  mutex.Unlock();
  return true;
}
bool CanLockShared(SharedMutex& mutex) {
  if (!mutex.TryLockShared()) return false;
  mutex.UnlockShared();
  return true;
}

TEST(CondVarTest, SignalWakesAWaiterThatHoldsTheMutexAgain) {
  Box box;
  std::thread waiter([&box] {
    MutexLock lock(box.mutex);
    while (!box.ready) box.changed.Wait(box.mutex);
    ++box.wakeups;  // written under the lock the wait took back
  });
  {
    MutexLock lock(box.mutex);
    box.ready = true;
  }
  box.changed.Signal();
  waiter.join();
  MutexLock lock(box.mutex);
  EXPECT_EQ(box.wakeups, 1);
}

TEST(CondVarTest, SignalAllWakesEveryWaiter) {
  Box box;
  auto wait = [&box] {
    MutexLock lock(box.mutex);
    while (!box.ready) box.changed.Wait(box.mutex);
    ++box.wakeups;
  };
  std::thread first(wait);
  std::thread second(wait);
  {
    MutexLock lock(box.mutex);
    box.ready = true;
  }
  box.changed.SignalAll();
  first.join();
  second.join();
  MutexLock lock(box.mutex);
  EXPECT_EQ(box.wakeups, 2);
}

TEST(CondVarTest, WaitUntilReturnsFalseOnceTheDeadlinePassesWithTheMutexHeld) {
  Box box;
  MutexLock lock(box.mutex);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
  // A spurious wake-up returns true before the deadline; only the deadline ends the loop.
  while (box.changed.WaitUntil(box.mutex, deadline)) {
  }
  EXPECT_GE(std::chrono::steady_clock::now(), deadline);
  EXPECT_FALSE(Try([&box] { return CanLock(box.mutex); }));
}

TEST(CondVarTest, WaitForTimesOutWithoutASignal) {
  Box box;
  MutexLock lock(box.mutex);
  const auto started = std::chrono::steady_clock::now();
  bool signalled = true;
  while (signalled && std::chrono::steady_clock::now() - started < std::chrono::seconds(5)) {
    signalled = box.changed.WaitFor(box.mutex, std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(signalled);
}

TEST(SharedMutexTest, ReadersShareAndWritersAreAlone) {
  SharedMutex mutex;
  {
    ReaderMutexLock reader(mutex);
    EXPECT_TRUE(Try([&mutex] { return CanLockShared(mutex); }));
    EXPECT_FALSE(Try([&mutex] { return CanLock(mutex); }));
  }
  {
    WriterMutexLock writer(mutex);
    EXPECT_FALSE(Try([&mutex] { return CanLockShared(mutex); }));
    EXPECT_FALSE(Try([&mutex] { return CanLock(mutex); }));
  }
  // Both scopes released it.
  EXPECT_TRUE(Try([&mutex] { return CanLock(mutex); }));
}

}  // namespace
}  // namespace base
