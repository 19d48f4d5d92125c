// The pool history: append and read back, retention, refusals, store faults, corruption, and
// durability across a SIGKILL.
#include "rpc_pool/pool_history.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <charconv>
#include <functional>
#include <map>

#include "slashing/rocksdb_store.h"
#include "support/locations.h"
#include "support/memory_history_store.h"
#include "support/process.h"
#include "support/rocksdb_faults.h"
#include "support/temp_dir.h"

namespace rpc_pool {
namespace {

using base::StatusCode;

constexpr uint64_t kStart = 1'700'000'000'000;
constexpr uint64_t kHour = uint64_t{3600} * 1000;
constexpr uint64_t kDay = 24 * kHour;

HistoryRecord Event(uint64_t at_ms, const std::string& node, PoolEventKind kind) {
  return MakeEventRecord({.at_ms = at_ms,
                          .kind = kind,
                          .node_id = node,
                          .offence = Offence::kOffline,
                          .cooldown_ms = 60'000,
                          .refusal = HeartbeatVerdict::kAccepted});
}

std::unique_ptr<PoolHistory> OpenOrDie(slashing::HistoryStore& store,
                                       uint64_t retention = kDefaultRetentionMs) {
  auto history = PoolHistory::Open(store, retention);
  EXPECT_TRUE(history.ok()) << history.status().message();
  return history.ok() ? std::move(history).value() : nullptr;
}

TEST(PoolHistoryTest, AppendsAndReadsBackBySelection) {
  slashing::MemoryHistoryStore store;
  auto history = OpenOrDie(store);
  const Heartbeat beat{.node_id = "a",
                       .settings_hash = std::string(64, 'a'),
                       .best_block = 120,
                       .finalized_block = 118,
                       .rpc_endpoint = "10.0.0.1:9944",
                       .peers = 12,
                       .memory_bytes = 4096};
  std::vector<HistoryRecord> records = {
      MakeHeartbeatRecord(kStart, beat), Event(kStart + 1, "a", PoolEventKind::kPenalised),
      Event(kStart + 2 * kDay, "b", PoolEventKind::kJoined),  // two day buckets later
  };
  const PointsPeriod period{
      .start_ms = kStart,
      .end_ms = kStart + 3 * kDay,
      .nodes = {{.node_id = "a", .requests = 5, .live_ms = 9, .points = 700},
                {.node_id = "b", .requests = 1, .live_ms = 9, .points = 300}}};
  for (HistoryRecord& record : MakePointsRecords(period)) records.push_back(std::move(record));
  auto sequences = history->Append(records);
  ASSERT_TRUE(sequences.ok()) << sequences.status().message();
  EXPECT_EQ(*sequences, (std::vector<uint64_t>{1, 2, 3, 4, 5}));

  auto all = history->Read({});
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 5u);
  for (size_t i = 0; i < records.size(); ++i) {
    records[i].sequence = i + 1;
    EXPECT_EQ((*all)[i], records[i]) << i;
  }
  EXPECT_EQ((*all)[0].data["best"], 120);
  EXPECT_EQ((*all)[1].data["event"], "penalised");
  EXPECT_EQ((*all)[1].data["offence"], "offline");
  EXPECT_EQ((*all)[4].data["points"], 300);

  struct Row {
    const char* name;
    HistoryQuery query;
    std::vector<uint64_t> sequences;
  };
  const auto query = [](const std::function<void(HistoryQuery&)>& change) {
    HistoryQuery selection;
    change(selection);
    return selection;
  };
  const std::vector<Row> rows = {
      {"one kind", query([](HistoryQuery& q) { q.kind = HistoryKind::kPoints; }), {4, 5}},
      {"one node", query([](HistoryQuery& q) { q.node_id = "b"; }), {3, 5}},
      {"kind and node",
       query([](HistoryQuery& q) {
         q.kind = HistoryKind::kEvent;
         q.node_id = "a";
       }),
       {2}},
      {"a time range, ends included",
       query([](HistoryQuery& q) {
         q.from_ms = kStart + 1;
         q.to_ms = kStart + 2 * kDay;
       }),
       {2, 3}},
      {"a range with nothing",
       query([](HistoryQuery& q) {
         q.from_ms = kStart + 2;
         q.to_ms = kStart + kDay;
       }),
       {}},
      {"a limit", query([](HistoryQuery& q) { q.limit = 2; }), {1, 2}},
      {"from after to",
       query([](HistoryQuery& q) {
         q.from_ms = kStart + 5;
         q.to_ms = kStart;
       }),
       {}},
      {"far in the future", query([](HistoryQuery& q) { q.from_ms = kStart + 100 * kDay; }), {}},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    auto selected = history->Read(row.query);
    ASSERT_TRUE(selected.ok()) << selected.status().message();
    std::vector<uint64_t> got;
    for (const HistoryRecord& record : *selected) got.push_back(record.sequence);
    EXPECT_EQ(got, row.sequences);
  }
}

TEST(PoolHistoryTest, SurvivesReopenAndResumesNumbering) {
  const support::TempDir dir("rpc-pool-history");
  {
    auto store = slashing::RocksDbStore::Open(dir.Path("db"), {});
    ASSERT_TRUE(store.ok()) << store.status().message();
    auto history = OpenOrDie(**store);
    const std::vector<HistoryRecord> records = {Event(kStart, "a", PoolEventKind::kJoined),
                                                Event(kStart + 5, "a", PoolEventKind::kRemoved)};
    ASSERT_TRUE(history->Append(records).ok());
  }
  auto store = slashing::RocksDbStore::Open(dir.Path("db"), {});
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto history = OpenOrDie(**store);
  auto all = history->Read({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].data["event"], "removed");
  const HistoryRecord next = Event(kStart + 9, "b", PoolEventKind::kJoined);
  auto sequences = history->Append({&next, 1});
  ASSERT_TRUE(sequences.ok());
  EXPECT_EQ(sequences->front(), 3u);
}

TEST(PoolHistoryTest, RetentionDropsExactlyWhatIsOlder) {
  struct Row {
    const char* name;
    uint64_t retention_ms;
    std::vector<uint64_t> ages_ms;  // of the records, at prune time
    size_t kept;                    // the youngest `kept` survive
  };
  const std::vector<Row> rows = {
      {"the default 30 days",
       kDefaultRetentionMs,
       {40 * kDay, 30 * kDay + 1, 30 * kDay, 29 * kDay, 0},
       3},
      {"one hour", kHour, {2 * kHour, kHour + 1, kHour, 1}, 2},
      {"nothing old", kHour, {10, 5}, 2},
      {"everything old", kHour, {3 * kDay, 2 * kDay}, 0},
  };
  const uint64_t now = kStart + 100 * kDay;
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    slashing::MemoryHistoryStore store;
    auto history = OpenOrDie(store, row.retention_ms);
    std::vector<HistoryRecord> records;
    for (uint64_t age : row.ages_ms)
      records.push_back(Event(now - age, "a", PoolEventKind::kJoined));
    ASSERT_TRUE(history->Append(records).ok());
    auto deleted = history->Prune(now);
    ASSERT_TRUE(deleted.ok()) << deleted.status().message();
    EXPECT_EQ(*deleted, row.ages_ms.size() - row.kept);
    auto left = history->Read({});
    ASSERT_TRUE(left.ok());
    ASSERT_EQ(left->size(), row.kept);
    for (size_t i = 0; i < row.kept; ++i) {
      EXPECT_EQ((*left)[i].at_ms, now - row.ages_ms[row.ages_ms.size() - row.kept + i]);
    }
  }
}

TEST(PoolHistoryTest, PrunesManyRecordsInSeveralBatches) {
  slashing::MemoryHistoryStore store;
  auto history = OpenOrDie(store, kHour);
  std::vector<HistoryRecord> records;
  for (uint64_t i = 0; i < 10'000; ++i) {
    records.push_back(Event(kStart + i, "a", PoolEventKind::kJoined));
  }
  records.push_back(Event(kStart + 2 * kHour, "a", PoolEventKind::kRemoved));
  ASSERT_TRUE(history->Append(records).ok());
  const uint64_t writes_before = store.synced_writes();
  auto deleted = history->Prune(kStart + 2 * kHour);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 10'000u);
  EXPECT_GT(store.synced_writes() - writes_before, 1u);
  auto left = history->Read({});
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().data["event"], "removed");
}

TEST(PoolHistoryTest, RefusesBadRecordsAndWritesNothing) {
  slashing::MemoryHistoryStore store;
  auto history = OpenOrDie(store);
  HistoryRecord bad_node = Event(kStart, "a b", PoolEventKind::kJoined);
  HistoryRecord too_big = Event(kStart, "a", PoolEventKind::kJoined);
  too_big.data["padding"] = std::string(kMaxRecordBytes, 'x');
  HistoryRecord not_object = Event(kStart, "a", PoolEventKind::kJoined);
  not_object.data = nlohmann::json::array();
  for (const HistoryRecord& record : {bad_node, too_big, not_object}) {
    const std::vector<HistoryRecord> batch = {Event(kStart, "ok", PoolEventKind::kJoined), record};
    EXPECT_EQ(history->Append(batch).status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(store.Snapshot().empty());
}

TEST(PoolHistoryTest, AFailedWriteStoresNothingAndReportsIt) {
  slashing::MemoryHistoryStore store;
  auto history = OpenOrDie(store);
  const HistoryRecord first = Event(kStart, "a", PoolEventKind::kJoined);
  ASSERT_TRUE(history->Append({&first, 1}).ok());
  store.SetFailWrites(true);
  const HistoryRecord lost = Event(kStart + 1, "a", PoolEventKind::kPenalised);
  EXPECT_EQ(history->Append({&lost, 1}).status().code(), StatusCode::kIoError);
  store.SetFailReads(true);
  EXPECT_EQ(history->Read({}).status().code(), StatusCode::kIoError);
  EXPECT_EQ(history->Prune(kStart + 100 * kDay).status().code(), StatusCode::kIoError);
  store.SetFailReads(false);
  store.SetFailWrites(false);
  auto all = history->Read({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().data["event"], "joined");
}

// With RocksDB underneath: a sync that fails is an append that fails, never an acknowledgement.
TEST(PoolHistoryTest, AFailedSyncIsAFailedAppend) {
  const support::TempDir dir("rpc-pool-history-faults");
  auto faults = std::make_shared<slashing::FaultInjector>();
  slashing::RocksDbStoreOptions options;
  options.file_system = slashing::FaultyFileSystem(faults);
  auto store = slashing::RocksDbStore::Open(dir.Path("db"), options);
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto history = OpenOrDie(**store);
  const HistoryRecord record = Event(kStart, "a", PoolEventKind::kPenalised);
  ASSERT_TRUE(history->Append({&record, 1}).ok());
  faults->FailSyncs(true);
  EXPECT_FALSE(history->Append({&record, 1}).ok());
  EXPECT_GT(faults->injected(), 0u);
}

TEST(PoolHistoryTest, ACorruptRecordIsReportedNotSkipped) {
  struct Row {
    const char* name;
    std::string value;
  };
  const std::vector<Row> rows = {
      {"not JSON", "{"},
      {"not an object", "[1]"},
      {"unknown kind", R"({"kind":"x","node":"a","data":{}})"},
      {"bad node", R"({"kind":"event","node":"a b","data":{}})"},
      {"data not an object", R"({"kind":"event","node":"a","data":1})"},
      {"extra field", R"({"kind":"event","node":"a","data":{},"x":1})"},
      {"deep nesting", std::string(100, '[') + std::string(100, ']')},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    slashing::MemoryHistoryStore store;
    auto history = OpenOrDie(store);
    const HistoryRecord record = Event(kStart, "a", PoolEventKind::kJoined);
    ASSERT_TRUE(history->Append({&record, 1}).ok());
    // Overwrite the one record's value behind the history's back.
    std::string key;
    for (const auto& [stored_key, value] : store.Snapshot()) {
      if (stored_key[0] == 'h') key = stored_key;
    }
    ASSERT_FALSE(key.empty());
    ASSERT_TRUE(store.WriteSynced({{key, row.value}}).ok());
    EXPECT_EQ(history->Read({}).status().code(), StatusCode::kCorruption);
  }
}

TEST(PoolHistoryTest, CorruptMetadataIsRefusedAtOpen) {
  slashing::MemoryHistoryStore store;
  ASSERT_TRUE(store.WriteSynced({{"m/next", "short"}}).ok());
  EXPECT_EQ(PoolHistory::Open(store).status().code(), StatusCode::kCorruption);
}

// Every record the child acknowledged (after Append returned) is there after a SIGKILL.
TEST(PoolHistoryCrashTest, KillingTheProcessLosesNoAcknowledgedRecord) {
  const support::TempDir dir("rpc-pool-crash");
  const std::string db = dir.Path("db");
  auto child = support::ChildProcess::Start({support::Location("rpc-pool-crash-child"), db});
  ASSERT_TRUE(child.ok()) << child.status().message();
  std::map<uint64_t, uint64_t> acknowledged;  // sequence -> at_ms
  // Kill it part-way through its stream of appends, at a point it cannot anticipate.
  while (acknowledged.size() < 200) {
    const std::optional<std::string> line = child->ReadLine(std::chrono::seconds(30));
    ASSERT_TRUE(line.has_value()) << "the child stopped acknowledging";
    const size_t space = line->find(' ');
    ASSERT_NE(space, std::string::npos) << *line;
    uint64_t sequence = 0;
    uint64_t at_ms = 0;
    const char* end = line->data() + line->size();
    ASSERT_EQ(std::from_chars(line->data(), line->data() + space, sequence).ec, std::errc())
        << *line;
    ASSERT_EQ(std::from_chars(line->data() + space + 1, end, at_ms).ptr, end) << *line;
    acknowledged[sequence] = at_ms;
  }
  EXPECT_EQ(child->Stop(SIGKILL), -SIGKILL);

  auto store = slashing::RocksDbStore::Open(db, {});
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto history = OpenOrDie(**store);
  HistoryQuery everything;
  everything.limit = 1'000'000;
  auto all = history->Read(everything);
  ASSERT_TRUE(all.ok()) << all.status().message();
  std::map<uint64_t, uint64_t> stored;
  for (const HistoryRecord& record : *all) stored[record.sequence] = record.at_ms;
  for (const auto& [sequence, at_ms] : acknowledged) {
    ASSERT_TRUE(stored.contains(sequence)) << "lost record " << sequence;
    EXPECT_EQ(stored[sequence], at_ms);
  }
  // Numbering resumes after the last stored record, never reusing one.
  const HistoryRecord next = Event(kStart, "a", PoolEventKind::kJoined);
  auto sequences = history->Append({&next, 1});
  ASSERT_TRUE(sequences.ok());
  EXPECT_EQ(sequences->front(), stored.rbegin()->first + 1);
}

}  // namespace
}  // namespace rpc_pool
