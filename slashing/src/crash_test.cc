// Crash durability: SIGKILL a child that records decisions; every acknowledged one must survive.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "slashing/history_admin.h"
#include "slashing/protector.h"
#include "support/fake_clock.h"
#include "support/locations.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "test_payloads.h"

namespace slashing {
namespace {

using testing::FilledHash;

// Must match crash_child.cc.
base::Hash256 CrashTestHash(uint64_t round, uint8_t variant) {
  base::Hash256 hash{};
  for (int i = 0; i < 8; ++i) hash[i] = static_cast<uint8_t>(round >> (8 * i));
  hash[31] = variant;
  return hash;
}

struct Ack {
  uint64_t set_id;
  uint64_t round;
};

// RunChildAndKill starts the child, lets it run for `run_for` after its first acknowledgement,
// SIGKILLs it and returns every complete acknowledgement it wrote.
std::vector<Ack> RunChildAndKill(const std::string& dir, uint64_t set_id,
                                 std::chrono::microseconds run_for, bool deferred) {
  std::vector<std::string> command = {support::Location("slashing-crash-child"), dir,
                                      std::to_string(set_id), /*threads=*/"4"};
  if (deferred) command.emplace_back("deferred");
  auto child = support::ChildProcess::Start(command);
  EXPECT_TRUE(child.ok()) << child.status().message();
  if (!child.ok()) return {};

  // Drain the pipe while the child runs so it never blocks on a full pipe.
  std::vector<uint8_t> bytes;
  std::mutex bytes_mutex;
  std::condition_variable first_ack_or_eof;
  bool eof = false;
  std::thread reader([&] {
    while (std::optional<std::string> chunk = child->ReadSome(std::chrono::seconds(1))) {
      std::lock_guard lock(bytes_mutex);
      bytes.insert(bytes.end(), chunk->begin(), chunk->end());
      first_ack_or_eof.notify_all();
    }
    std::lock_guard lock(bytes_mutex);
    eof = true;
    first_ack_or_eof.notify_all();
  });
  // The kill moment is counted from the first acknowledgement, not from the start, so every kill
  // lands mid-stream however slow the machine or the sanitizer build is.
  {
    std::unique_lock lock(bytes_mutex);
    first_ack_or_eof.wait_for(lock, std::chrono::seconds(60),
                              [&] { return eof || bytes.size() >= 16; });
  }
  std::this_thread::sleep_for(run_for);
  const int exit_code = child->Stop(SIGKILL);
  reader.join();
  EXPECT_LT(exit_code, 0) << "child exited early with status " << exit_code;

  std::vector<Ack> acks;
  for (size_t at = 0; at + 16 <= bytes.size(); at += 16) {
    Ack ack{0, 0};
    for (int b = 0; b < 8; ++b) {
      ack.set_id |= static_cast<uint64_t>(bytes[at + b]) << (8 * b);
      ack.round |= static_cast<uint64_t>(bytes[at + 8 + b]) << (8 * b);
    }
    acks.push_back(ack);
  }
  return acks;
}

// Synced decisions (every caller of the slashing library but signerd), and deferred ones synced by
// a later SyncWrites before they are acknowledged (signerd's audit group barrier).
class CrashDurabilityTest : public ::testing::TestWithParam<bool> {};

TEST_P(CrashDurabilityTest, AcknowledgedDecisionsSurviveSigkill) {
  const bool deferred = GetParam();
  support::TempDir dir;
  const std::string db = dir.Path("db");
  // Deterministic by default; SLASHING_CRASH_SEED explores other kill moments.
  const char* seed_text = std::getenv("SLASHING_CRASH_SEED");
  const uint32_t seed = seed_text != nullptr ? static_cast<uint32_t>(std::atoi(seed_text)) : 4242;
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> run_micros(20'000, 150'000);
  const std::vector<uint8_t> public_key(32, 0xc1);
  constexpr int kKills = 50;
  size_t total_acks = 0;
  int kills_with_acks = 0;
  std::vector<Ack> earlier;
  for (int kill_index = 0; kill_index < kKills; ++kill_index) {
    const uint64_t set_id = static_cast<uint64_t>(kill_index) + 1;
    const auto acks =
        RunChildAndKill(db, set_id, std::chrono::microseconds(run_micros(random)), deferred);
    total_acks += acks.size();
    kills_with_acks += acks.empty() ? 0 : 1;

    auto store = OpenHistory(db, FilledHash(0x11));
    ASSERT_TRUE(store.ok()) << "reopen after kill " << kill_index << ": "
                            << store.status().message();
    LocalHistoryLog log(**store);
    FakeClock clock(1);
    Protector protector(log, clock, ProtectionPolicy{});
    auto check = [&](const Ack& ack) {
      const auto same = testing::GrandpaMessage(
          0, CrashTestHash(ack.round, 0), static_cast<uint32_t>(ack.round), ack.round, ack.set_id);
      const auto other = testing::GrandpaMessage(
          0, CrashTestHash(ack.round, 1), static_cast<uint32_t>(ack.round), ack.round, ack.set_id);
      auto resign = protector.Decide({base::kKeyTypeGrandpa, public_key, same, std::nullopt});
      ASSERT_TRUE(resign.ok());
      ASSERT_EQ(resign->verdict, Verdict::kAllowedResign)
          << "acknowledged decision lost: set " << ack.set_id << " round " << ack.round;
      auto conflict = protector.Decide({base::kKeyTypeGrandpa, public_key, other, std::nullopt});
      ASSERT_TRUE(conflict.ok());
      ASSERT_EQ(conflict->verdict, Verdict::kRefusedGrandpaEquivocation);
    };
    for (const Ack& ack : acks) check(ack);
    // A sample of decisions acknowledged before earlier kills must still be there too.
    for (size_t i = 0; i < earlier.size(); i += 97) check(earlier[i]);
    if (::testing::Test::HasFatalFailure()) return;
    earlier.insert(earlier.end(), acks.begin(), acks.end());
  }
  std::printf("crash test: seed %u, %d kills, %zu acknowledged decisions checked\n", seed, kKills,
              total_acks);
  // The test means something only if every kill really came mid-stream.
  EXPECT_EQ(kills_with_acks, kKills);
  EXPECT_GE(total_acks, static_cast<size_t>(kKills));
}

INSTANTIATE_TEST_SUITE_P(SyncedOrDeferred, CrashDurabilityTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "Deferred" : "Synced";
                         });

}  // namespace
}  // namespace slashing
