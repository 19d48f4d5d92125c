// ReplicatedHistoryLog against librdkafka's mock cluster: one winner per position, identical
// stores, exact restart, fail-closed broker outages, catch-up and the local precheck.
#include "kafka/replicated_log.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kafka/claim_record.h"
#include "kafka/replicated_admin.h"
#include "slashing/history.h"
#include "slashing/history_log.h"
#include "slashing/interchange.h"
#include "slashing/record.h"
#include "support/memory_history_store.h"

namespace kafka {
namespace {

using slashing::Claim;
using slashing::Domain;
using slashing::Verdict;

constexpr char kTopic[] = "test-claims";
constexpr int kPartitions = 4;

// MockCluster hosts three mock brokers in this process.
class MockCluster {
 public:
  explicit MockCluster(int partitions = kPartitions) {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", error, sizeof(error));
    anchor_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
    cluster_ = rd_kafka_mock_cluster_new(anchor_, 3);
    rd_kafka_mock_topic_create(cluster_, kTopic, partitions, 3);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(anchor_);
  }
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  void SetAllDown(bool down) {
    for (int id = 1; id <= 3; ++id) {
      if (down) {
        rd_kafka_mock_broker_set_down(cluster_, id);
      } else {
        rd_kafka_mock_broker_set_up(cluster_, id);
      }
    }
  }
  rd_kafka_mock_cluster_t* get() { return cluster_; }

 private:
  rd_kafka_t* anchor_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

base::Hash256 Genesis() {
  base::Hash256 genesis;
  genesis.fill(0x5a);
  return genesis;
}

class ReplicatedLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<slashing::MemoryHistoryStore> NewStore() {
    auto store = std::make_unique<slashing::MemoryHistoryStore>();
    EXPECT_TRUE(slashing::BindGenesis(*store, Genesis()).ok());
    return store;
  }

  // LogOptions are the options of signer `id` against `cluster`, warnings silenced.
  static ReplicatedHistoryLogOptions LogOptions(
      const MockCluster& cluster, std::string id,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(5'000)) {
    ReplicatedHistoryLogOptions options;
    options.brokers = cluster.bootstraps();
    options.claims_topic = kTopic;
    options.signer_id = std::move(id);
    options.genesis_hash = Genesis();
    options.claim_timeout = timeout;
    options.warning = [](std::string_view) {};
    return options;
  }

  std::unique_ptr<ReplicatedHistoryLog> OpenLog(
      slashing::HistoryStore& store, std::string id,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(5'000)) {
    auto log = ReplicatedHistoryLog::Open(store, LogOptions(cluster_, std::move(id), timeout));
    EXPECT_TRUE(log.ok()) << log.status().message();
    return log.ok() ? std::move(*log) : nullptr;
  }

  // ClusterIdOf asks `cluster`'s brokers for their cluster id.
  static std::string ClusterIdOf(const MockCluster& cluster) {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", cluster.bootstraps().c_str(), error,
                      sizeof(error));
    rd_kafka_t* client = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
    char* id = rd_kafka_clusterid(client, 5'000);
    std::string copy = id == nullptr ? "" : id;
    if (id != nullptr) rd_kafka_mem_free(client, id);
    rd_kafka_destroy(client);
    return copy;
  }

  // TopicEnd sums the high watermarks of the claims topic, read from the brokers.
  int64_t TopicEnd() {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", cluster_.bootstraps().c_str(), error,
                      sizeof(error));
    rd_kafka_t* client = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
    int64_t total = 0;
    for (int partition = 0; partition < kPartitions; ++partition) {
      int64_t low = 0;
      int64_t high = 0;
      EXPECT_EQ(rd_kafka_query_watermark_offsets(client, kTopic, partition, &low, &high, 5'000),
                RD_KAFKA_RESP_ERR_NO_ERROR);
      total += high;
    }
    rd_kafka_destroy(client);
    return total;
  }

  MockCluster cluster_;
};

std::vector<uint8_t> Key(uint8_t seed) { return std::vector<uint8_t>(32, seed); }

Claim Prevote(uint64_t round, uint8_t digest_byte) {
  Claim claim;
  claim.domain = Domain::kGrandpaPrevote;
  claim.position = {1, round, {}};
  claim.digest.assign(36, digest_byte);
  return claim;
}

Claim ApprovalClaim(uint32_t session, uint16_t candidate, uint8_t validity) {
  Claim claim;
  claim.domain = Domain::kDispute;
  claim.position = {session, 0, {}};
  claim.position.candidate[0] = static_cast<uint8_t>(candidate >> 8);
  claim.position.candidate[1] = static_cast<uint8_t>(candidate & 0xff);
  claim.digest = {validity};
  return claim;
}

// An approval of many candidates is one call with one claim per candidate; the classifier accepts
// up to 1024, and so must the replicated log (it once refused more than 64), with every signer
// recording all of them.
TEST_F(ReplicatedLogTest, ApprovalOfMoreThanSixtyFourCandidatesIsOneRecordEverySignerApplies) {
  auto store_a = NewStore();
  auto store_b = NewStore();
  auto log_a = OpenLog(*store_a, "a");
  auto log_b = OpenLog(*store_b, "b");
  const auto key = Key(8);
  for (uint16_t candidates : {uint16_t{65}, uint16_t{1024}}) {
    std::vector<Claim> approval;
    for (uint16_t i = 0; i < candidates; ++i) approval.push_back(ApprovalClaim(candidates, i, 1));
    auto verdicts = log_a->CheckAndRecord(key, approval, 5);
    ASSERT_TRUE(verdicts.ok()) << candidates << ": " << verdicts.status().message();
    ASSERT_EQ(verdicts->size(), approval.size());
    for (Verdict verdict : *verdicts) EXPECT_EQ(verdict, Verdict::kAllowedNew);
  }
  EXPECT_EQ(log_a->stats().claims_won, 2u);
  ASSERT_TRUE(log_b->WaitUntilCaughtUp(std::chrono::milliseconds(10'000)).ok());
  EXPECT_EQ(store_b->Snapshot(), store_a->Snapshot());
  // The other signer refuses an invalid vote on the last candidate of the large approval.
  const Claim invalid = ApprovalClaim(1024, 1023, 0);
  auto refused = log_b->CheckAndRecord(key, std::span(&invalid, 1), 5);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->at(0), Verdict::kRefusedDisputeConflict);
}

TEST_F(ReplicatedLogTest, ConcurrentConflictingClaimsHaveOneWinnerAndStoresAgree) {
  constexpr int kSigners = 3;
  constexpr uint64_t kRounds = 60;
  const std::vector<std::vector<uint8_t>> keys = {Key(1), Key(2), Key(3)};
  std::vector<std::unique_ptr<slashing::MemoryHistoryStore>> stores;
  std::vector<std::unique_ptr<ReplicatedHistoryLog>> logs;
  for (int i = 0; i < kSigners; ++i) {
    stores.push_back(NewStore());
    logs.push_back(OpenLog(*stores.back(), "signer-" + std::to_string(i)));
    ASSERT_NE(logs.back(), nullptr);
  }
  std::mutex mutex;
  // (key, round) -> digest bytes that were answered "allowed".
  std::map<std::pair<uint8_t, uint64_t>, std::set<uint8_t>> allowed;
  uint64_t errors = 0;
  std::vector<std::thread> threads;
  for (int signer = 0; signer < kSigners; ++signer) {
    for (const auto& key : keys) {
      threads.emplace_back([&, signer, key] {
        for (uint64_t round = 0; round < kRounds; ++round) {
          const Claim claim = Prevote(round, static_cast<uint8_t>(0x10 + signer));
          auto verdicts = logs[static_cast<size_t>(signer)]->CheckAndRecord(
              key, std::span(&claim, 1), 1'000 + round);
          std::lock_guard lock(mutex);
          if (!verdicts.ok()) {
            ++errors;
            continue;
          }
          if (slashing::IsAllowed(verdicts->at(0))) {
            allowed[{key[0], round}].insert(claim.digest[0]);
          } else {
            EXPECT_EQ(verdicts->at(0), Verdict::kRefusedGrandpaEquivocation);
          }
        }
      });
    }
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(errors, 0u);
  EXPECT_EQ(allowed.size(), keys.size() * kRounds);
  for (const auto& [position, digests] : allowed) {
    EXPECT_EQ(digests.size(), 1u) << "key " << int(position.first) << " round " << position.second;
  }
  uint64_t produced = 0;
  uint64_t lost = 0;
  for (auto& log : logs) {
    ASSERT_TRUE(log->WaitUntilCaughtUp(std::chrono::milliseconds(10'000)).ok());
    produced += log->stats().claims_produced;
    lost += log->stats().claims_lost;
  }
  EXPECT_GT(lost, 0u) << "no claim ever lost a race: the test did not exercise conflicts";
  EXPECT_EQ(static_cast<int64_t>(produced), TopicEnd());
  const auto reference = stores[0]->Snapshot();
  for (auto& store : stores) EXPECT_EQ(store->Snapshot(), reference);
  // Every winning digest is what the stores recorded.
  for (const auto& [position, digests] : allowed) {
    auto stored = stores[0]->Get(slashing::EncodeRecordKey(slashing::RecordKey{
        Key(position.first), Domain::kGrandpaPrevote, {1, position.second, {}}}));
    ASSERT_TRUE(stored.ok() && stored->has_value());
    auto record = slashing::DecodeRecordValue(**stored);
    ASSERT_TRUE(record.ok());
    ASSERT_EQ(record->digests.size(), 1u);
    EXPECT_EQ(record->digests[0][0], *digests.begin());
  }
}

TEST_F(ReplicatedLogTest, RestartResumesFromStoredOffsetsWithoutReapplying) {
  auto store_a = NewStore();
  auto store_b = NewStore();
  auto log_a = OpenLog(*store_a, "a");
  auto log_b = OpenLog(*store_b, "b");
  const auto key = Key(7);
  for (uint64_t round = 0; round < 20; ++round) {
    const Claim claim = Prevote(round, 0x01);
    auto verdicts = log_a->CheckAndRecord(key, std::span(&claim, 1), 5);
    ASSERT_TRUE(verdicts.ok());
    EXPECT_EQ(verdicts->at(0), Verdict::kAllowedNew);
  }
  ASSERT_TRUE(log_b->WaitUntilCaughtUp(std::chrono::milliseconds(10'000)).ok());
  EXPECT_EQ(log_b->stats().records_applied, 20u);
  log_b.reset();
  const auto before = store_b->Snapshot();
  const uint64_t writes_before = store_b->synced_writes();

  // While b is down, a records more: b must pick up exactly those.
  for (uint64_t round = 20; round < 30; ++round) {
    const Claim claim = Prevote(round, 0x01);
    ASSERT_TRUE(log_a->CheckAndRecord(key, std::span(&claim, 1), 5).ok());
  }
  log_b = OpenLog(*store_b, "b");
  ASSERT_TRUE(log_b->WaitUntilCaughtUp(std::chrono::milliseconds(10'000)).ok());
  EXPECT_EQ(log_b->stats().records_applied, 10u) << "records applied twice or skipped";
  EXPECT_GT(store_b->synced_writes(), writes_before);
  ASSERT_TRUE(log_a->WaitUntilCaughtUp(std::chrono::milliseconds(10'000)).ok());
  EXPECT_EQ(store_b->Snapshot(), store_a->Snapshot());
  EXPECT_NE(store_b->Snapshot(), before);

  // A restart with nothing new applies nothing and changes nothing.
  log_b.reset();
  const auto settled = store_b->Snapshot();
  log_b = OpenLog(*store_b, "b");
  ASSERT_TRUE(log_b->WaitUntilCaughtUp(std::chrono::milliseconds(10'000)).ok());
  EXPECT_EQ(log_b->stats().records_applied, 0u);
  EXPECT_EQ(store_b->Snapshot(), settled);
}

// A topic that no longer holds the records a history has applied (recreated, emptied by
// retention, another cluster) stops the applier for good: it must say so once, through `stopped`,
// so that signerd stops reporting itself able to sign, and every claim must fail.
TEST_F(ReplicatedLogTest, ATopicThatLostItsRecordsStopsTheApplierAndSaysSoOnce) {
  auto store = NewStore();
  {
    auto log = OpenLog(*store, "a");
    for (uint64_t round = 0; round < 5; ++round) {
      const Claim claim = Prevote(round, 0x01);
      ASSERT_TRUE(log->CheckAndRecord(Key(9), std::span(&claim, 1), 5).ok());
    }
  }
  // The topic lost records the history has applied (retention, a recreated topic): the store's
  // next offset on Key(9)'s partition lies past the topic's end (layout in docs/kafka.md).
  using namespace std::string_literals;
  std::string offset_key = "Mkafka/offset/\x00\x00\x00"s;
  offset_key.push_back(static_cast<char>(ClaimPartition(Key(9), kPartitions)));
  ASSERT_TRUE(store->WriteSynced({{offset_key, "\x01\x00\x00\x00\x00\x00\x00\x03\xe8"s}}).ok());
  std::promise<std::string> stopped;
  std::atomic<int> stops{0};
  ReplicatedHistoryLogOptions options = LogOptions(cluster_, "a");
  options.stopped = [&](const base::Status& cause) {
    if (stops.fetch_add(1) == 0) stopped.set_value(cause.message());
  };
  auto log = ReplicatedHistoryLog::Open(*store, std::move(options));
  ASSERT_TRUE(log.ok()) << log.status().message();
  std::future<std::string> cause = stopped.get_future();
  ASSERT_EQ(cause.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_NE(cause.get().find("no longer holds the records"), std::string::npos);
  const Claim claim = Prevote(5, 0x01);
  auto verdicts = (*log)->CheckAndRecord(Key(9), std::span(&claim, 1), 5);
  ASSERT_FALSE(verdicts.ok());
  EXPECT_EQ(verdicts.status().code(), base::StatusCode::kIoError);
  EXPECT_FALSE((*log)->WaitUntilCaughtUp(std::chrono::milliseconds(100)).ok());
  log->reset();
  EXPECT_EQ(stops.load(), 1);
}

TEST_F(ReplicatedLogTest, BrokersDownFailsClosedAndRecovers) {
  auto store = NewStore();
  auto log = OpenLog(*store, "a", std::chrono::milliseconds(1'500));
  const auto key = Key(9);
  const Claim first = Prevote(1, 0x01);
  ASSERT_TRUE(log->CheckAndRecord(key, std::span(&first, 1), 5).ok());

  cluster_.SetAllDown(true);
  for (uint64_t round = 2; round < 5; ++round) {
    const Claim claim = Prevote(round, 0x01);
    const auto started = std::chrono::steady_clock::now();
    auto verdicts = log->CheckAndRecord(key, std::span(&claim, 1), 5);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(verdicts.ok()) << "a verdict without the log";
    EXPECT_EQ(verdicts.status().code(), base::StatusCode::kIoError);
    EXPECT_LT(elapsed, std::chrono::milliseconds(3'000));
  }
  EXPECT_GT(log->stats().claims_timed_out + log->stats().claims_failed, 0u);

  cluster_.SetAllDown(false);
  bool allowed_again = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (uint64_t round = 10; !allowed_again && std::chrono::steady_clock::now() < deadline;
       ++round) {
    const Claim claim = Prevote(round, 0x01);
    auto verdicts = log->CheckAndRecord(key, std::span(&claim, 1), 5);
    allowed_again = verdicts.ok() && verdicts->at(0) == Verdict::kAllowedNew;
  }
  EXPECT_TRUE(allowed_again);
}

TEST_F(ReplicatedLogTest, NewSignerOnAnEmptyStoreCatchesUp) {
  auto store_a = NewStore();
  auto log_a = OpenLog(*store_a, "a");
  for (uint8_t k = 1; k <= 4; ++k) {
    for (uint64_t round = 0; round < 10; ++round) {
      const Claim claim = Prevote(round, k);
      ASSERT_TRUE(log_a->CheckAndRecord(Key(k), std::span(&claim, 1), 5).ok());
    }
  }
  auto store_new = NewStore();
  auto log_new = OpenLog(*store_new, "new");
  ASSERT_TRUE(log_new->WaitUntilCaughtUp(std::chrono::milliseconds(10'000)).ok());
  ASSERT_TRUE(log_a->WaitUntilCaughtUp(std::chrono::milliseconds(10'000)).ok());
  EXPECT_EQ(log_new->stats().records_applied, 40u);
  EXPECT_EQ(store_new->Snapshot(), store_a->Snapshot());
  // The newcomer now refuses what the first signer took, from its own store.
  const Claim conflicting = Prevote(3, 0xee);
  auto verdicts = log_new->CheckAndRecord(Key(2), std::span(&conflicting, 1), 5);
  ASSERT_TRUE(verdicts.ok());
  EXPECT_EQ(verdicts->at(0), Verdict::kRefusedGrandpaEquivocation);
}

// A standalone signer's history holds records no other signer has seen. Bound to the topic, it
// would keep them to itself, and the cluster could sign a second vote against one of them.
TEST_F(ReplicatedLogTest, AStandaloneHistoryWithRecordsIsNotBoundToTheTopic) {
  auto store = NewStore();
  {
    slashing::LocalHistoryLog standalone(*store);
    const Claim claim = Prevote(7, 0x01);
    auto verdicts = standalone.CheckAndRecord(Key(3), std::span(&claim, 1), 5);
    ASSERT_TRUE(verdicts.ok());
    ASSERT_EQ(verdicts->at(0), Verdict::kAllowedNew);
  }
  const auto before = store->Snapshot();
  auto log = ReplicatedHistoryLog::Open(*store, LogOptions(cluster_, "a"));
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), base::StatusCode::kFailedPrecondition);
  EXPECT_NE(log.status().message().find("standalone"), std::string::npos) << log.status().message();
  EXPECT_EQ(store->Snapshot(), before);
  auto replicated = IsReplicatedHistory(*store);
  ASSERT_TRUE(replicated.ok());
  EXPECT_FALSE(*replicated);
  EXPECT_EQ(TopicEnd(), 0);
  // A store holding only its genesis binding joins.
  auto empty = NewStore();
  EXPECT_NE(OpenLog(*empty, "b"), nullptr);
}

TEST_F(ReplicatedLogTest, LocalRefusalAndResignProduceNothing) {
  auto store = NewStore();
  auto log = OpenLog(*store, "a");
  std::atomic<int> round_trips{0};
  log->SetClaimRoundTripObserver([&](std::chrono::nanoseconds elapsed) {
    EXPECT_GT(elapsed.count(), 0);
    ++round_trips;
  });
  const auto key = Key(4);
  const Claim claim = Prevote(1, 0x01);
  auto first = log->CheckAndRecord(key, std::span(&claim, 1), 5);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->at(0), Verdict::kAllowedNew);
  const int64_t end = TopicEnd();
  EXPECT_EQ(end, 1);

  const Claim conflicting = Prevote(1, 0x02);
  auto refused = log->CheckAndRecord(key, std::span(&conflicting, 1), 5);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->at(0), Verdict::kRefusedGrandpaEquivocation);
  auto resign = log->CheckAndRecord(key, std::span(&claim, 1), 5);
  ASSERT_TRUE(resign.ok());
  EXPECT_EQ(resign->at(0), Verdict::kAllowedResign);
  // A two-claim request with one refused claim is refused whole, also without producing.
  const Claim both[] = {Prevote(2, 0x01), conflicting};
  auto mixed = log->CheckAndRecord(key, both, 5);
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(mixed->at(1), Verdict::kRefusedGrandpaEquivocation);
  EXPECT_EQ(TopicEnd(), end);
  EXPECT_EQ(log->stats().precheck_refused, 2u);
  EXPECT_EQ(log->stats().precheck_resigned, 1u);
  EXPECT_EQ(log->stats().claims_produced, 1u);
  EXPECT_EQ(log->stats().claims_won, 1u);
  EXPECT_EQ(round_trips.load(), 1) << "only the produced claim makes a round trip";
}

// DeferSyncs: the applier's batches (claims and offsets together) are written unsynced; an own
// claim is applied and binding when CheckAndRecord returns, and durable after the caller's
// SyncWrites (signerd's audit group barrier). Without it every batch is synced, as before.
TEST_F(ReplicatedLogTest, DeferredSyncsLeaveAppliedClaimsToTheCallersSync) {
  auto synced_store = NewStore();
  auto synced_log = OpenLog(*synced_store, "a");
  const Claim claim = Prevote(1, 0x01);
  ASSERT_EQ(synced_log->CheckAndRecord(Key(5), std::span(&claim, 1), 5)->at(0),
            Verdict::kAllowedNew);
  EXPECT_EQ(synced_store->unsynced_writes(), 0u);

  auto store = NewStore();
  auto log = OpenLog(*store, "b");
  log->DeferSyncs();
  ASSERT_TRUE(log->WaitUntilCaughtUp(std::chrono::seconds(10)).ok());
  const uint64_t synced_before = store->synced_writes();
  ASSERT_EQ(log->CheckAndRecord(Key(6), std::span(&claim, 1), 5)->at(0), Verdict::kAllowedNew);
  EXPECT_GT(store->unsynced_writes(), 0u);
  EXPECT_EQ(store->synced_writes(), synced_before);
  const Claim conflicting = Prevote(1, 0x02);
  EXPECT_EQ(log->CheckAndRecord(Key(6), std::span(&conflicting, 1), 5)->at(0),
            Verdict::kRefusedGrandpaEquivocation);
  ASSERT_TRUE(store->SyncWrites().ok());
  EXPECT_EQ(store->unsynced_writes(), 0u);
}

// The precheck judges each claim alone against the store; only the applier sees a request's
// claims against one another. So a request whose own claims conflict is produced, and the applier
// refuses it whole.
TEST_F(ReplicatedLogTest, ConflictInsideOneRequestIsRefusedByTheApplier) {
  auto store = NewStore();
  auto log = OpenLog(*store, "a");
  const auto key = Key(6);
  const Claim conflicting[] = {Prevote(1, 0x01), Prevote(1, 0x02)};
  auto verdicts = log->CheckAndRecord(key, conflicting, 5);
  ASSERT_TRUE(verdicts.ok());
  EXPECT_EQ(*verdicts,
            (std::vector<Verdict>{Verdict::kAllowedNew, Verdict::kRefusedGrandpaEquivocation}));
  EXPECT_EQ(TopicEnd(), 1);
  EXPECT_EQ(log->stats().precheck_refused, 0u);
  EXPECT_EQ(log->stats().claims_lost, 1u);
  // Refused whole: the position is still free.
  const Claim second = Prevote(1, 0x02);
  auto later = log->CheckAndRecord(key, std::span(&second, 1), 5);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->at(0), Verdict::kAllowedNew);
}

// The applier's meta keys and values, written out by hand from docs/kafka.md ("Stored meta keys").
TEST_F(ReplicatedLogTest, StoredMetaKeysHaveTheDocumentedLayout) {
  auto store = NewStore();
  auto log = OpenLog(*store, "a");
  const auto key = Key(3);
  const Claim claim = Prevote(1, 0x01);
  ASSERT_TRUE(log->CheckAndRecord(key, std::span(&claim, 1), 5).ok());
  ASSERT_TRUE(log->WaitUntilCaughtUp(std::chrono::milliseconds(10'000)).ok());
  const auto snapshot = store->Snapshot();

  using namespace std::string_literals;
  const auto topic = snapshot.find("Mkafka/claims");
  ASSERT_NE(topic, snapshot.end());
  const std::string cluster_id = ClusterIdOf(cluster_);
  ASSERT_FALSE(cluster_id.empty());
  EXPECT_EQ(topic->second, "\x02\x00\x00\x00\x04\x00"s + static_cast<char>(sizeof(kTopic) - 1) +
                               kTopic + cluster_id);
  const int32_t partition = ClaimPartition(key, kPartitions);
  std::string offset_key = "Mkafka/offset/\x00\x00\x00"s;
  offset_key.push_back(static_cast<char>(partition));
  const auto offset = snapshot.find(offset_key);
  ASSERT_NE(offset, snapshot.end());
  EXPECT_EQ(offset->second, "\x01\x00\x00\x00\x00\x00\x00\x00\x01"s);
}

TEST_F(ReplicatedLogTest, PoisonedRecordsAreSkippedAndCounted) {
  auto store = NewStore();
  auto log = OpenLog(*store, "a");
  // Garbage, a record for another chain and a record on the wrong partition, from a raw producer.
  char error[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", cluster_.bootstraps().c_str(), error, sizeof(error));
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  ClaimRecord foreign;
  foreign.key_type = base::kKeyTypeGrandpa;
  foreign.public_key = Key(5);
  foreign.genesis_hash.fill(0x01);
  foreign.claims = {Prevote(1, 0x01)};
  ClaimRecord misplaced = foreign;
  misplaced.genesis_hash = Genesis();
  auto foreign_bytes = EncodeClaimRecord(foreign);
  auto misplaced_bytes = EncodeClaimRecord(misplaced);
  ASSERT_TRUE(foreign_bytes.ok() && misplaced_bytes.ok());
  const int32_t home = ClaimPartition(Key(5), kPartitions);
  std::string garbage = "not a claim";
  const std::pair<std::string*, int32_t> records[] = {
      {&garbage, home}, {&*foreign_bytes, home}, {&*misplaced_bytes, (home + 1) % kPartitions}};
  for (const auto& [bytes, partition] : records) {
    ASSERT_EQ(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(kTopic), RD_KAFKA_V_PARTITION(partition),
                                RD_KAFKA_V_VALUE(bytes->data(), bytes->size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_flush(producer, 10'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(producer);

  ASSERT_TRUE(log->WaitUntilCaughtUp(std::chrono::milliseconds(10'000)).ok());
  EXPECT_EQ(log->stats().records_skipped, 3u);
  EXPECT_EQ(log->stats().records_applied, 0u);
  // The key's position is still free: the skipped records took nothing.
  const Claim claim = Prevote(1, 0x02);
  auto verdicts = log->CheckAndRecord(Key(5), std::span(&claim, 1), 5);
  ASSERT_TRUE(verdicts.ok());
  EXPECT_EQ(verdicts->at(0), Verdict::kAllowedNew);
}

// A principal that may write the claims topic copies a signer's record (same signer id and
// request id, same claims) under another public key, which hashes to another partition. If the
// applier reaches that copy before the real record, the copy must not answer the waiting request:
// the real record loses at its own partition, and an "allowed" taken from the copy would sign a
// second message for a position another signer already holds.
TEST_F(ReplicatedLogTest, ForgedCopyOfAnOwnRecordDoesNotAnswerTheWaitingRequest) {
  const auto key = Key(21);
  const int32_t home = ClaimPartition(key, kPartitions);
  // Keys of one repeated byte all share a partition modulo 4; changing the last byte moves it.
  std::vector<uint8_t> forged_key = key;
  while (ClaimPartition(forged_key, kPartitions) == home) ++forged_key.back();
  // The applier is held back on the home partition by sending it to a follower whose high
  // watermark stays put, while the leader (which a client of the old fetch protocol reads)
  // serves every record: the copy can then be read, forged and applied before the real record.
  constexpr int32_t kLeader = 1;
  constexpr int32_t kLaggingFollower = 2;
  ASSERT_EQ(rd_kafka_mock_partition_set_leader(cluster_.get(), kTopic, home, kLeader),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  auto store = NewStore();
  auto log = OpenLog(*store, "a", std::chrono::milliseconds(30'000));
  const Claim earlier = Prevote(0, 0x01);
  ASSERT_EQ(log->CheckAndRecord(key, std::span(&earlier, 1), 5)->at(0), Verdict::kAllowedNew);
  ASSERT_TRUE(log->WaitUntilCaughtUp(std::chrono::seconds(10)).ok());
  // The home partition holds offset 0, applied; the follower stops showing anything after it.
  ASSERT_EQ(rd_kafka_mock_partition_set_follower_wmarks(cluster_.get(), kTopic, home, -1, 0),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_mock_partition_set_follower(cluster_.get(), kTopic, home, kLaggingFollower),
            RD_KAFKA_RESP_ERR_NO_ERROR);

  char error[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", cluster_.bootstraps().c_str(), error, sizeof(error));
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  auto produce = [&](const std::string& bytes, int32_t partition) {
    ASSERT_EQ(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(kTopic), RD_KAFKA_V_PARTITION(partition),
                                RD_KAFKA_V_VALUE(const_cast<char*>(bytes.data()), bytes.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_flush(producer, 10'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  };
  // Another signer's claim for the position comes first in the home partition: it wins there.
  ClaimRecord rival;
  rival.key_type = base::kKeyTypeGrandpa;
  rival.public_key = key;
  rival.genesis_hash = Genesis();
  rival.signer_id = "b";
  rival.claims = {Prevote(1, 0x02)};
  auto rival_bytes = EncodeClaimRecord(rival);
  ASSERT_TRUE(rival_bytes.ok());
  produce(*rival_bytes, home);

  const Claim claim = Prevote(1, 0x01);
  auto answer = std::async(std::launch::async,
                           [&] { return log->CheckAndRecord(key, std::span(&claim, 1), 5); });

  // The forger reads the home partition from the leader with a fetch version that knows no
  // follower, finds the signer's record, and copies it under the other key.
  rd_kafka_conf_t* reader_conf = rd_kafka_conf_new();
  for (const auto& [name, value] :
       {std::pair<const char*, std::string>{"bootstrap.servers", cluster_.bootstraps()},
        {"api.version.request", "false"},
        {"broker.version.fallback", "0.9.0"},
        {"log_level", "0"}}) {
    ASSERT_EQ(rd_kafka_conf_set(reader_conf, name, value.c_str(), error, sizeof(error)),
              RD_KAFKA_CONF_OK)
        << error;
  }
  rd_kafka_t* reader = rd_kafka_new(RD_KAFKA_CONSUMER, reader_conf, error, sizeof(error));
  rd_kafka_topic_t* reader_topic = rd_kafka_topic_new(reader, kTopic, nullptr);
  ASSERT_EQ(rd_kafka_consume_start(reader_topic, home, RD_KAFKA_OFFSET_BEGINNING), 0);
  std::optional<ClaimRecord> copied;
  const auto read_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!copied && std::chrono::steady_clock::now() < read_deadline) {
    rd_kafka_message_t* message = rd_kafka_consume(reader_topic, home, 100);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      auto record =
          DecodeClaimRecord(std::span(static_cast<const uint8_t*>(message->payload), message->len));
      // The signer's own record of round 1 (its record of round 0 and the rival's are not).
      if (record.ok() && record->signer_id == "a" && record->claims == std::vector{claim}) {
        copied = std::move(*record);
      }
    }
    rd_kafka_message_destroy(message);
  }
  rd_kafka_consume_stop(reader_topic, home);
  rd_kafka_topic_destroy(reader_topic);
  rd_kafka_destroy(reader);
  ASSERT_TRUE(copied.has_value()) << "the signer's record never reached the home partition";
  ClaimRecord forged = *copied;
  forged.public_key = forged_key;
  auto forged_bytes = EncodeClaimRecord(forged);
  ASSERT_TRUE(forged_bytes.ok());
  produce(*forged_bytes, ClaimPartition(forged_key, kPartitions));
  rd_kafka_destroy(producer);

  // The copy is applied (its key takes the position) while the home partition is still held.
  const std::string forged_position = slashing::EncodeRecordKey(
      slashing::RecordKey{forged_key, Domain::kGrandpaPrevote, claim.position});
  const auto apply_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool forged_applied = false;
  while (!forged_applied && std::chrono::steady_clock::now() < apply_deadline) {
    auto stored = store->Get(forged_position);
    forged_applied = stored.ok() && stored->has_value();
    if (!forged_applied) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(forged_applied);
  EXPECT_EQ(log->stats().own_records_mismatched, 1u);

  // Release the home partition: the rival wins there and the real record loses.
  ASSERT_EQ(rd_kafka_mock_partition_set_follower_wmarks(cluster_.get(), kTopic, home, -1, -1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  auto verdicts = answer.get();
  ASSERT_TRUE(verdicts.ok()) << verdicts.status().message();
  EXPECT_EQ(verdicts->at(0), Verdict::kRefusedGrandpaEquivocation)
      << "answered from the forged copy instead of the signer's own record";
  EXPECT_EQ(log->stats().claims_lost, 1u);
}

// A claim whose position has a shape its domain does not allow (here a BABE slot with a minor
// part) would be stored under a key the store reads back as corrupt; the next prune of its
// partition would then fail on every signer, forever. Every signer skips such a record instead.
TEST_F(ReplicatedLogTest, ClaimOfAPositionTheStoreCannotHoldIsSkippedAndPrunesStillApply) {
  auto store = NewStore();
  auto log = OpenLog(*store, "a");
  ClaimRecord record;
  record.key_type = base::kKeyTypeBabe;
  record.public_key = Key(5);
  record.genesis_hash = Genesis();
  Claim slot;
  slot.domain = Domain::kBabe;
  slot.position = {3, 0, {}};
  slot.digest.assign(32, 0x01);
  record.claims = {slot};
  auto encoded = EncodeClaimRecord(record);
  ASSERT_TRUE(encoded.ok());
  // The last byte of the claim's minor part: the claim ends with the candidate, the digest length
  // and the digest.
  const size_t minor_last_byte = encoded->size() - slot.digest.size() - 1 - 32 - 1;
  (*encoded)[minor_last_byte] = '\x07';

  char error[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", cluster_.bootstraps().c_str(), error, sizeof(error));
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  ASSERT_EQ(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(kTopic),
                              RD_KAFKA_V_PARTITION(ClaimPartition(Key(5), kPartitions)),
                              RD_KAFKA_V_VALUE(encoded->data(), encoded->size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_flush(producer, 10'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(producer);

  ReplicatedAdminOptions admin;
  admin.brokers = cluster_.bootstraps();
  admin.claims_topic = kTopic;
  admin.timeout = std::chrono::milliseconds(10'000);
  auto pruned = ProducePrune(admin, Genesis(), Domain::kBabe, {2, 0});
  ASSERT_TRUE(pruned.ok()) << pruned.status().message();
  ASSERT_TRUE(log->WaitUntilCaughtUp(std::chrono::milliseconds(10'000)).ok())
      << "the applier is stuck retrying the prune";
  EXPECT_EQ(log->stats().records_skipped, 1u);
  EXPECT_EQ(log->stats().history_records_applied, static_cast<uint64_t>(kPartitions));
  auto summary = slashing::Summarize(*store);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->records[Domain::kBabe], 0u);
}

// The offsets and topic binding live under meta keys: inspect, export and prune still work.
TEST_F(ReplicatedLogTest, HistoryAdminStillWorksOnAReplicatedStore) {
  auto store = NewStore();
  auto log = OpenLog(*store, "a");
  for (uint64_t round = 0; round < 5; ++round) {
    const Claim claim = Prevote(round, 0x01);
    ASSERT_TRUE(log->CheckAndRecord(Key(6), std::span(&claim, 1), 5).ok());
  }
  log.reset();
  auto summary = slashing::Summarize(*store);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->public_keys, 1u);
  EXPECT_EQ(summary->records[Domain::kGrandpaPrevote], 5u);
  auto exported = slashing::ExportHistory(*store, Genesis());
  ASSERT_TRUE(exported.ok()) << exported.status().message();
  auto pruned = slashing::PruneBelow(*store, Domain::kGrandpaPrevote, {1, 3});
  ASSERT_TRUE(pruned.ok()) << pruned.status().message();
  EXPECT_EQ(pruned->records_deleted, 3u);
}

// signerctl history import and prune in Kafka mode: records of the claims topic that every signer
// applies in the same place of each key's order, so every store stays identical (a local import
// or prune changed one signer only, and the others kept signing what it refused).
TEST_F(ReplicatedLogTest, ImportAndPruneRecordsChangeEverySignerAlike) {
  constexpr int kSigners = 3;
  std::vector<std::unique_ptr<slashing::MemoryHistoryStore>> stores;
  std::vector<std::unique_ptr<ReplicatedHistoryLog>> logs;
  for (int i = 0; i < kSigners; ++i) {
    stores.push_back(NewStore());
    logs.push_back(OpenLog(*stores.back(), "signer-" + std::to_string(i)));
    ASSERT_NE(logs.back(), nullptr);
  }
  for (uint64_t round = 0; round < 8; ++round) {
    for (uint8_t k : {uint8_t{1}, uint8_t{2}}) {
      const Claim claim = Prevote(round, k);
      ASSERT_TRUE(logs[round % kSigners]->CheckAndRecord(Key(k), std::span(&claim, 1), 5).ok());
    }
  }

  // The file: key 3's history from another machine, and a conflicting digest for key 1 round 2.
  slashing::Interchange file;
  file.genesis_hash = Genesis();
  slashing::InterchangeDomain imported{Domain::kGrandpaPrevote, slashing::Watermark{1, 1}, {}};
  for (uint64_t round = 1; round < 6; ++round) {
    imported.records.push_back({{1, round, {}}, {std::vector<uint8_t>(36, 0x33)}, 77});
  }
  file.keys.push_back({Key(3), {imported}});
  slashing::InterchangeDomain conflicting{Domain::kGrandpaPrevote, std::nullopt, {}};
  conflicting.records.push_back({{1, 2, {}}, {std::vector<uint8_t>(36, 0x99)}, 78});
  file.keys.push_back({Key(1), {conflicting}});
  ReplicatedAdminOptions admin;
  admin.brokers = cluster_.bootstraps();
  admin.claims_topic = kTopic;
  admin.signer_id = "signerctl";
  admin.timeout = std::chrono::milliseconds(10'000);
  auto produced = ProduceImport(admin, file);
  ASSERT_TRUE(produced.ok()) << produced.status().message();
  EXPECT_EQ(produced->records_produced, 2u);
  EXPECT_EQ(produced->public_keys, 2u);
  EXPECT_EQ(produced->interchange_records, 6u);

  for (auto& log : logs) ASSERT_TRUE(log->WaitUntilCaughtUp(std::chrono::seconds(10)).ok());
  for (auto& store : stores) EXPECT_EQ(store->Snapshot(), stores[0]->Snapshot());
  for (int i = 0; i < kSigners; ++i) {
    EXPECT_EQ(logs[static_cast<size_t>(i)]->stats().history_records_applied, 2u);
    // Every signer refuses what the file recorded, and the position the file made conflicted.
    const Claim other = Prevote(3, 0x44);
    auto refused = logs[static_cast<size_t>(i)]->CheckAndRecord(Key(3), std::span(&other, 1), 5);
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ(refused->at(0), Verdict::kRefusedGrandpaEquivocation);
    const Claim again = Prevote(2, 1);
    auto conflicted = logs[static_cast<size_t>(i)]->CheckAndRecord(Key(1), std::span(&again, 1), 5);
    ASSERT_TRUE(conflicted.ok());
    EXPECT_FALSE(slashing::IsAllowed(conflicted->at(0)));
  }

  auto pruned = ProducePrune(admin, Genesis(), Domain::kGrandpaPrevote, {1, 5});
  ASSERT_TRUE(pruned.ok()) << pruned.status().message();
  EXPECT_EQ(pruned->records_produced, static_cast<uint64_t>(kPartitions));
  // A claim after the prune, on the third signer: below the new watermark on every key.
  for (auto& log : logs) ASSERT_TRUE(log->WaitUntilCaughtUp(std::chrono::seconds(10)).ok());
  for (uint8_t k : {uint8_t{1}, uint8_t{2}, uint8_t{3}}) {
    const Claim old = Prevote(4, 0x55);
    auto refused = logs[2]->CheckAndRecord(Key(k), std::span(&old, 1), 5);
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ(refused->at(0), Verdict::kRefusedBelowWatermark) << int(k);
  }
  for (auto& store : stores) EXPECT_EQ(store->Snapshot(), stores[0]->Snapshot());
  auto summary = slashing::Summarize(*stores[0]);
  ASSERT_TRUE(summary.ok());
  // Left: rounds 5..7 of keys 1 and 2, round 5 of key 3.
  EXPECT_EQ(summary->records[Domain::kGrandpaPrevote], 7u);
  EXPECT_EQ(summary->watermarks[Domain::kGrandpaPrevote], 3u);

  // A signer rebuilt from the topic reaches the same history, imports and prunes included.
  auto rebuilt = NewStore();
  auto rebuilt_log = OpenLog(*rebuilt, "rebuilt");
  ASSERT_TRUE(rebuilt_log->WaitUntilCaughtUp(std::chrono::seconds(10)).ok());
  auto a = rebuilt->Snapshot();
  auto b = stores[0]->Snapshot();
  EXPECT_EQ(a, b);
}

// A key's history larger than one record is split into several import records, each merged on
// its own; together they hold the whole file.
TEST_F(ReplicatedLogTest, LargeImportIsSplitIntoSeveralRecords) {
  auto store = NewStore();
  auto log = OpenLog(*store, "a");
  slashing::Interchange file;
  file.genesis_hash = Genesis();
  slashing::InterchangeDomain domain{Domain::kGrandpaPrecommit, slashing::Watermark{2, 0}, {}};
  for (uint64_t round = 0; round < 4'500; ++round) {
    domain.records.push_back({{2, round, {}}, {std::vector<uint8_t>(36, 0x21)}, 1 + round});
  }
  file.keys.push_back({Key(4), {domain}});
  ReplicatedAdminOptions admin;
  admin.brokers = cluster_.bootstraps();
  admin.claims_topic = kTopic;
  admin.timeout = std::chrono::milliseconds(10'000);
  auto produced = ProduceImport(admin, file);
  ASSERT_TRUE(produced.ok()) << produced.status().message();
  EXPECT_EQ(produced->records_produced, 3u) << "2,000 records per import record";
  ASSERT_TRUE(log->WaitUntilCaughtUp(std::chrono::seconds(10)).ok());
  EXPECT_EQ(log->stats().history_records_applied, 3u);
  auto exported = slashing::ExportHistory(*store, Genesis());
  ASSERT_TRUE(exported.ok());
  EXPECT_EQ(*exported, file);
}

// A bad import or prune record is skipped by every signer alike, and its offset is passed.
TEST_F(ReplicatedLogTest, MalformedHistoryRecordsAreSkippedByEverySigner) {
  auto store = NewStore();
  auto log = OpenLog(*store, "a");
  char error[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", cluster_.bootstraps().c_str(), error, sizeof(error));
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  ImportRecord import;
  import.public_key = Key(5);
  import.genesis_hash = Genesis();
  import.interchange_json = "{not json";
  PruneRecord prune;
  prune.genesis_hash = Genesis();
  prune.partition = 0;
  prune.partition_count = kPartitions + 1;  // produced for another partition count
  prune.domain = Domain::kGrandpaPrevote;
  prune.below = {9, 9};
  auto import_bytes = EncodeImportRecord(import);
  auto prune_bytes = EncodePruneRecord(prune);
  ASSERT_TRUE(import_bytes.ok() && prune_bytes.ok());
  std::string truncated = prune_bytes->substr(0, 10);
  const std::pair<std::string*, int32_t> records[] = {
      {&*import_bytes, ClaimPartition(Key(5), kPartitions)}, {&*prune_bytes, 0}, {&truncated, 1}};
  for (const auto& [bytes, partition] : records) {
    ASSERT_EQ(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(kTopic), RD_KAFKA_V_PARTITION(partition),
                                RD_KAFKA_V_VALUE(bytes->data(), bytes->size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_flush(producer, 10'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(producer);
  ASSERT_TRUE(log->WaitUntilCaughtUp(std::chrono::milliseconds(10'000)).ok());
  EXPECT_EQ(log->stats().records_skipped, 3u);
  EXPECT_EQ(log->stats().history_records_applied, 0u);
  const Claim claim = Prevote(1, 0x02);
  auto verdicts = log->CheckAndRecord(Key(5), std::span(&claim, 1), 5);
  ASSERT_TRUE(verdicts.ok());
  EXPECT_EQ(verdicts->at(0), Verdict::kAllowedNew);
}

TEST_F(ReplicatedLogTest, RefusesAChangedPartitionCountOrTopic) {
  // A store that remembers 6 partitions of test-claims in this cluster, which has 4 (the topic
  // was recreated): refused.
  using namespace std::string_literals;
  auto resized = NewStore();
  ASSERT_TRUE(resized
                  ->WriteSynced({{"Mkafka/claims", "\x02\x00\x00\x00\x06\x00"s +
                                                       static_cast<char>(sizeof(kTopic) - 1) +
                                                       kTopic + ClusterIdOf(cluster_)}})
                  .ok());
  ReplicatedHistoryLogOptions options;
  options.brokers = cluster_.bootstraps();
  options.claims_topic = kTopic;
  options.genesis_hash = Genesis();
  options.warning = [](std::string_view) {};
  auto other = ReplicatedHistoryLog::Open(*resized, options);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), base::StatusCode::kFailedPrecondition);
  EXPECT_NE(other.status().message().find("partitions"), std::string::npos)
      << other.status().message();

  // The store remembers 4 partitions of test-claims: another topic name is refused.
  auto store = NewStore();
  { auto log = OpenLog(*store, "a"); }
  ASSERT_EQ(rd_kafka_mock_topic_create(cluster_.get(), "other-claims", 4, 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  options.brokers = cluster_.bootstraps();
  options.claims_topic = "other-claims";
  auto renamed = ReplicatedHistoryLog::Open(*store, options);
  ASSERT_FALSE(renamed.ok());
  EXPECT_EQ(renamed.status().code(), base::StatusCode::kFailedPrecondition);

  options.claims_topic = kTopic;
  options.properties = {{"acks", "1"}};
  auto weakened = ReplicatedHistoryLog::Open(*store, options);
  ASSERT_FALSE(weakened.ok());
  EXPECT_EQ(weakened.status().code(), base::StatusCode::kInvalidArgument);
}

// An operator's property must not undo what the claims producer sets: delivery.timeout.ms is
// librdkafka's other name for message.timeout.ms (the claim timeout), a transactional id would
// make every plain produce fail, and the gapless guarantee belongs to the idempotence settings.
// The signer and signerctl's history producer refuse them like acks or the partitioner.
// Another cluster's topic of the same name holds other records at the offsets this history
// stored; reading on from them could skip claims that cluster's signers won. A binding written
// before clusters were recorded takes the cluster it is next used with as its own.
TEST_F(ReplicatedLogTest, AHistoryIsBoundToItsKafkaCluster) {
  auto store = NewStore();
  {
    auto log = OpenLog(*store, "a");
    const Claim claim = Prevote(1, 0x01);
    ASSERT_TRUE(log->CheckAndRecord(Key(3), std::span(&claim, 1), 5).ok());
  }
  MockCluster other;  // the same topic name and partition count
  auto elsewhere = ReplicatedHistoryLog::Open(*store, LogOptions(other, "a"));
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_EQ(elsewhere.status().code(), base::StatusCode::kFailedPrecondition);
  EXPECT_NE(elsewhere.status().message().find(ClusterIdOf(cluster_)), std::string::npos)
      << elsewhere.status().message();
  EXPECT_NE(OpenLog(*store, "a"), nullptr) << "its own cluster still opens it";

  // A binding of the first version (no cluster): adopted by the next cluster, then kept.
  using namespace std::string_literals;
  auto legacy = NewStore();
  ASSERT_TRUE(legacy->WriteSynced({{"Mkafka/claims", "\x01\x00\x00\x00\x04"s + kTopic}}).ok());
  EXPECT_NE(OpenLog(*legacy, "b"), nullptr);
  const std::string upgraded = legacy->Snapshot().at("Mkafka/claims");
  EXPECT_EQ(upgraded.substr(0, 1), "\x02");
  EXPECT_TRUE(upgraded.ends_with(ClusterIdOf(cluster_))) << upgraded;
  EXPECT_FALSE(ReplicatedHistoryLog::Open(*legacy, LogOptions(other, "b")).ok());
}

TEST_F(ReplicatedLogTest, RefusesPropertiesTheClaimsProducerSets) {
  auto store = NewStore();
  for (const char* name : {"acks", "message.timeout.ms", "delivery.timeout.ms", "transactional.id",
                           "enable.gapless.guarantee"}) {
    ReplicatedHistoryLogOptions options;
    options.brokers = cluster_.bootstraps();
    options.claims_topic = kTopic;
    options.genesis_hash = Genesis();
    options.warning = [](std::string_view) {};
    options.properties = {{name, "1"}};
    auto log = ReplicatedHistoryLog::Open(*store, options);
    EXPECT_FALSE(log.ok()) << name;
    if (!log.ok()) {
      EXPECT_EQ(log.status().code(), base::StatusCode::kInvalidArgument) << name;
    }

    ReplicatedAdminOptions admin;
    admin.brokers = cluster_.bootstraps();
    admin.claims_topic = kTopic;
    admin.timeout = std::chrono::milliseconds(10'000);
    admin.properties = {{name, "1"}};
    auto pruned = ProducePrune(admin, Genesis(), Domain::kBabe, {1, 0});
    EXPECT_FALSE(pruned.ok()) << name;
    if (!pruned.ok()) {
      EXPECT_EQ(pruned.status().code(), base::StatusCode::kInvalidArgument) << name;
    }
  }
  // Nothing was produced.
  EXPECT_EQ(TopicEnd(), 0);
}

}  // namespace
}  // namespace kafka
