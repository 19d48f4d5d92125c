// MemoryProtection: a slashing Protector over an in-memory history and a fixed clock, wired once.
#pragma once

#include "slashing/history_log.h"
#include "slashing/protector.h"
#include "support/fake_clock.h"
#include "support/memory_history_store.h"

namespace support {

// MemoryProtection is what a pipeline test needs below its Pipeline: a MemoryHistoryStore (faults
// switchable), the LocalHistoryLog over it, a FakeClock and a Protector with the default policy.
// Members are declared in dependency order; not movable, as the protector refers to the others.
struct MemoryProtection {
  slashing::MemoryHistoryStore store;
  slashing::LocalHistoryLog log{store};
  slashing::FakeClock clock{kTestClockStartMs};
  slashing::Protector protector{log, clock, {}};
};

}  // namespace support
