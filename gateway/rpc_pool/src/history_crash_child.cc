// Crash-test child: appends pool history records one at a time and acknowledges each on stdout
// only after Append returned (synced). The parent SIGKILLs it and checks every acknowledged
// record survived.
//
// Usage: rpc_pool_history_crash_child <data_dir>
#include <cstdio>
#include <string>

#include "rpc_pool/pool_history.h"
#include "slashing/rocksdb_store.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fputs("usage: rpc_pool_history_crash_child <data_dir>\n", stderr);
    return 2;
  }
  auto store = slashing::RocksDbStore::Open(argv[1], {});
  if (!store.ok()) {
    std::fprintf(stderr, "open failed: %s\n", store.status().message().c_str());
    return 3;
  }
  auto history = rpc_pool::PoolHistory::Open(**store);
  if (!history.ok()) {
    std::fprintf(stderr, "open failed: %s\n", history.status().message().c_str());
    return 3;
  }
  for (uint64_t i = 0;; ++i) {
    const rpc_pool::PoolEvent event{.at_ms = 1'700'000'000'000 + i,
                                    .kind = rpc_pool::PoolEventKind::kPenalised,
                                    .node_id = "node-" + std::to_string(i % 7),
                                    .offence = rpc_pool::Offence::kNotFresh,
                                    .cooldown_ms = 60'000 * (i + 1),
                                    .refusal = rpc_pool::HeartbeatVerdict::kAccepted};
    const rpc_pool::HistoryRecord record = rpc_pool::MakeEventRecord(event);
    auto sequences = (*history)->Append({&record, 1});
    if (!sequences.ok()) {
      std::fprintf(stderr, "append failed: %s\n", sequences.status().message().c_str());
      return 4;
    }
    // The acknowledgement names the record: its sequence number and its at_ms.
    std::printf("%llu %llu\n", static_cast<unsigned long long>(sequences->front()),
                static_cast<unsigned long long>(event.at_ms));
    std::fflush(stdout);
  }
}
