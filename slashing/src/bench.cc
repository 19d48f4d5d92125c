// slashing_bench: durable decisions/s under group commit versus raw synced single writes.
//
// Usage: slashing_bench [--dir DIR] [--seconds S] [--raw-writes N] [--raw-only]
// DIR (default ./slashing-bench-data) must be on the disk under test; it is wiped and reused.
// --raw-only measures only the raw synced single writes (idle, then busy) and ends with a line
// `raw_synced_write_p99_ms=X` for the busy ones: the baseline other benchmarks compare with.
// Prints one line per configuration: throughput, p50/p99 latency, speed-up over raw synced
// single writes measured just before it (CPU-busy variant, the faster one) and p99 in units of
// the mean time of one such write (1 / its rate: one fsync on average; its p50 is misleading on
// this VM because synced-write latency is bimodal).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "slashing/history_admin.h"
#include "slashing/history_log.h"
#include "slashing/protector.h"
#include "slashing/rocksdb_store.h"
#include "test_payloads.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Figures {
  double per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

double Percentile(std::vector<double>& samples, double fraction) {
  if (samples.empty()) return 0;
  const size_t index = std::min(
      samples.size() - 1, static_cast<size_t>(fraction * static_cast<double>(samples.size())));
  std::nth_element(samples.begin(), samples.begin() + static_cast<long>(index), samples.end());
  return samples[index];
}

double Millis(Clock::duration duration) {
  return std::chrono::duration<double, std::milli>(duration).count();
}

// RawSyncedWrites times one thread doing one synced RocksDB write at a time. With
// `keep_cpu_busy` a second thread spins meanwhile: on a VM an idle vCPU can sleep until the next
// timer tick before it sees the I/O completion, which makes idle fsyncs look several times
// slower than the disk is. The busy figure is the honest (faster) baseline.
Figures RawSyncedWrites(const std::string& dir, int writes, bool keep_cpu_busy) {
  std::atomic<bool> stop_spinning{false};
  std::thread spinner;
  if (keep_cpu_busy) {
    spinner = std::thread([&] {
      uint64_t spins = 0;
      while (!stop_spinning.load(std::memory_order_relaxed)) ++spins;
      if (spins == 0) std::fputs("", stderr);
    });
  }
  auto store = slashing::RocksDbStore::Open(dir, {});
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().message().c_str());
    std::exit(1);
  }
  std::vector<double> latencies;
  const std::string value(48, 'v');
  const auto started = Clock::now();
  for (int i = 0; i < writes; ++i) {
    const auto before = Clock::now();
    base::Status status = (*store)->WriteSynced({{"raw" + std::to_string(i), value}});
    if (!status.ok()) {
      std::fprintf(stderr, "write: %s\n", status.message().c_str());
      std::exit(1);
    }
    latencies.push_back(Millis(Clock::now() - before));
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  stop_spinning.store(true);
  if (spinner.joinable()) spinner.join();
  Figures figures;
  figures.per_second = static_cast<double>(writes) / seconds;
  figures.p50_ms = Percentile(latencies, 0.50);
  figures.p99_ms = Percentile(latencies, 0.99);
  return figures;
}

Figures Decisions(const std::string& dir, int callers, double seconds, double* callers_per_group) {
  auto store = slashing::OpenHistory(dir, slashing::testing::FilledHash(0x11));
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().message().c_str());
    std::exit(1);
  }
  slashing::LocalHistoryLog log(**store);
  slashing::SystemClock wall_clock;
  slashing::Protector protector(log, wall_clock, {});
  std::atomic<bool> stop{false};
  std::atomic<int> ready{0};
  std::vector<std::vector<double>> latencies(callers);
  std::vector<std::thread> threads;
  for (int t = 0; t < callers; ++t) {
    threads.emplace_back([&, t] {
      // One validator key per caller, GRANDPA prevotes on successive rounds: every decision is a
      // new, durable record.
      std::vector<uint8_t> public_key(32, 0);
      for (int b = 0; b < 4; ++b) public_key[b] = static_cast<uint8_t>(t >> (8 * b));
      ready.fetch_add(1);
      while (ready.load() < callers) std::this_thread::yield();
      for (uint64_t round = 1; !stop.load(std::memory_order_relaxed); ++round) {
        const auto message = slashing::testing::GrandpaMessage(
            0, slashing::testing::FilledHash(static_cast<uint8_t>(round)),
            static_cast<uint32_t>(round), round, 1);
        slashing::SignRequest request{base::kKeyTypeGrandpa, public_key, message, {}};
        const auto before = Clock::now();
        auto decision = protector.Decide(request);
        if (!decision.ok() || decision->verdict != slashing::Verdict::kAllowedNew) {
          std::fprintf(stderr, "unexpected decision\n");
          std::exit(1);
        }
        latencies[t].push_back(Millis(Clock::now() - before));
      }
    });
  }
  while (ready.load() < callers) std::this_thread::yield();
  const auto started = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (auto& thread : threads) thread.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  std::vector<double> all;
  for (auto& per_thread : latencies) all.insert(all.end(), per_thread.begin(), per_thread.end());
  Figures figures;
  figures.per_second = static_cast<double>(all.size()) / elapsed;
  figures.p50_ms = Percentile(all, 0.50);
  figures.p99_ms = Percentile(all, 0.99);
  const auto stats = log.stats();
  *callers_per_group = stats.groups == 0
                           ? 0
                           : static_cast<double>(stats.callers) / static_cast<double>(stats.groups);
  return figures;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "slashing-bench-data";
  double seconds = 3;
  int raw_writes = 2000;
  bool raw_only = false;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--raw-only") {
      raw_only = true;
      --i;  // a flag without a value
    } else if (i + 1 == argc) {
      std::fprintf(stderr, "flag %s needs a value\n", flag.c_str());
      return 2;
    } else if (flag == "--dir") {
      dir = argv[i + 1];
    } else if (flag == "--seconds") {
      seconds = std::atof(argv[i + 1]);
    } else if (flag == "--raw-writes") {
      raw_writes = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  if (raw_only) {
    const Figures idle = RawSyncedWrites(dir + "/raw-idle", raw_writes, false);
    const Figures busy = RawSyncedWrites(dir + "/raw-busy", raw_writes, true);
    std::printf("raw synced writes, idle: %.0f/s p50 %.3f ms p99 %.3f ms\n", idle.per_second,
                idle.p50_ms, idle.p99_ms);
    std::printf("raw synced writes, busy: %.0f/s p50 %.3f ms p99 %.3f ms\n", busy.per_second,
                busy.p50_ms, busy.p99_ms);
    std::printf("raw_synced_write_p99_ms=%.3f\n", busy.p99_ms);
    std::filesystem::remove_all(dir);
    return 0;
  }

  std::printf("%-34s %12s %9s %9s %9s %12s %10s\n", "configuration", "ops/s", "p50 ms", "p99 ms",
              "x raw", "p99/fsync", "callers/batch");
  std::printf("(p99/fsync: decision p99 divided by the mean raw synced write time)\n");
  // The shared disk's fsync time drifts, so each configuration is compared with raw synced writes
  // measured just before it.
  for (int callers : {1, 8, 64, 512}) {
    const Figures idle =
        RawSyncedWrites(dir + "/raw-idle" + std::to_string(callers), raw_writes, false);
    std::printf("%-34s %12.0f %9.3f %9.3f %9s %12s %10s\n", "raw synced writes, 1 thread, idle",
                idle.per_second, idle.p50_ms, idle.p99_ms, "-", "-", "1");
    const Figures raw =
        RawSyncedWrites(dir + "/raw-busy" + std::to_string(callers), raw_writes, true);
    std::printf("%-34s %12.0f %9.3f %9.3f %9s %12s %10s\n", "raw synced writes, 1 thread, busy",
                raw.per_second, raw.p50_ms, raw.p99_ms, "1.0", "1.00", "1");
    double per_group = 0;
    const Figures figures =
        Decisions(dir + "/callers" + std::to_string(callers), callers, seconds, &per_group);
    const std::string label = "durable decisions, " + std::to_string(callers) + " callers";
    std::printf("%-34s %12.0f %9.3f %9.3f %9.1f %12.2f %10.1f\n", label.c_str(), figures.per_second,
                figures.p50_ms, figures.p99_ms, figures.per_second / raw.per_second,
                figures.p99_ms / (1000.0 / raw.per_second), per_group);
    std::fflush(stdout);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
