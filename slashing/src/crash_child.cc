// Crash-test child: records GRANDPA decisions as fast as it can and acknowledges each on stdout.
//
// Usage: slashing_crash_child <data_dir> <set_id> <threads> [deferred]
// Each acknowledgement is 16 bytes (set_id u64 LE, round u64 LE), written only after Decide
// returned kAllowedNew, i.e. after the decision was synced. With `deferred` the history writes
// without syncs (LocalHistoryLog::DeferSyncs) and each acknowledgement follows a SyncWrites, as
// signerd's audit group does before a reply. The parent SIGKILLs this process.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "slashing/history_admin.h"
#include "slashing/history_log.h"
#include "slashing/protector.h"
#include "test_payloads.h"

namespace {

// CrashTestHash derives the digest of a round, shared with crash_test.cc.
base::Hash256 CrashTestHash(uint64_t round, uint8_t variant) {
  base::Hash256 hash{};
  for (int i = 0; i < 8; ++i) hash[i] = static_cast<uint8_t>(round >> (8 * i));
  hash[31] = variant;
  return hash;
}

bool WriteAll(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t written = write(fd, data, size);
    if (written <= 0) return false;
    data += written;
    size -= static_cast<size_t>(written);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const bool deferred = argc == 5 && std::string(argv[4]) == "deferred";
  if (argc != 4 && !deferred) {
    std::fputs("usage: slashing_crash_child <data_dir> <set_id> <threads> [deferred]\n", stderr);
    return 2;
  }
  const std::string data_dir = argv[1];
  const uint64_t set_id = std::strtoull(argv[2], nullptr, 10);
  const int threads = std::atoi(argv[3]);
  auto store = slashing::OpenHistory(data_dir, slashing::testing::FilledHash(0x11));
  if (!store.ok()) {
    std::fprintf(stderr, "open failed: %s\n", store.status().message().c_str());
    return 3;
  }
  slashing::LocalHistoryLog log(**store);
  if (deferred) log.DeferSyncs();
  slashing::SystemClock clock;
  slashing::Protector protector(log, clock, {});
  const std::vector<uint8_t> public_key(32, 0xc1);
  std::mutex out_mutex;

  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (uint64_t i = 0;; ++i) {
        const uint64_t round = static_cast<uint64_t>(t) * 1'000'000'000ull + i;
        const auto message = slashing::testing::GrandpaMessage(
            0, CrashTestHash(round, 0), static_cast<uint32_t>(round), round, set_id);
        slashing::SignRequest request{base::kKeyTypeGrandpa, public_key, message, {}};
        auto decision = protector.Decide(request);
        if (!decision.ok() || decision->verdict != slashing::Verdict::kAllowedNew) std::_Exit(4);
        if (deferred && !(*store)->SyncWrites().ok()) std::_Exit(6);
        uint8_t ack[16];
        for (int b = 0; b < 8; ++b) {
          ack[b] = static_cast<uint8_t>(set_id >> (8 * b));
          ack[8 + b] = static_cast<uint8_t>(round >> (8 * b));
        }
        std::lock_guard lock(out_mutex);
        if (!WriteAll(STDOUT_FILENO, ack, sizeof(ack))) std::_Exit(5);
      }
    });
  }
  for (auto& worker : workers) worker.join();
  return 0;
}
