// Tests of the audit stream and the audit tail: chain checking alone, then both over librdkafka's
// mock cluster hosted in the test process.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/hash.h"
#include "base/hex.h"
#include "kafka/audit_stream.h"
#include "kafka/audit_tail.h"
#include "support/well_known_keys.h"

namespace kafka {
namespace {

using Clock = AuditChainChecker::Clock;
using std::chrono::milliseconds;

const std::string kZeroHash(64, '0');
const std::string kAliceKey(support::kAliceEd25519.hex());
const std::string kBobKey = "d17c2d7823ebf260fd138f2d7e27d114c0145d968b5ff5006125f2414fadae69";
const std::string kCharlieKey = "439660b36c6c03afafca027b910b4fecf99801834c62a5e6006f27d978de234f";

// BuildLine writes an audit line field by field as docs/signerd.md specifies it, independently of
// signer_audit's format code, so the tail is checked against the documented format rather than
// against the code it shares with the writer.
std::string BuildLine(uint64_t seq, const std::string& public_key, const std::string& reason,
                      const std::string& prev) {
  return "{\"seq\":" + std::to_string(seq) +
         ",\"time_ms\":1700000000000,\"identity\":\"validator-alice\",\"method\":\"SignWith\","
         "\"operation\":\"sign\",\"key_type\":\"gran\",\"public_key\":\"" +
         public_key +
         "\",\"domain\":\"grandpa_prevote\",\"position\":\"set_id=3 round=" + std::to_string(seq) +
         "\",\"verdict\":\"allowed_new\",\"reason\":\"" + reason +
         "\",\"latency_us\":812,\"prev\":\"" + prev + "\"}";
}

// Blake2bHex hashes with signer_base directly, as signer::AuditLineHash does, to build chains.
std::string Blake2bHex(const std::string& line) {
  return base::HexEncode(base::Blake2b256(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(line.data()), line.size())));
}

// Chain produces one signer's consecutive audit lines, its keys taken in turn.
struct Chain {
  std::vector<std::string> keys = {kAliceKey};
  uint64_t seq = 0;
  std::string prev = kZeroHash;

  std::string key_of(uint64_t at) const { return keys[at % keys.size()]; }
  std::string Next() {
    std::string line = BuildLine(seq, key_of(seq), "", prev);
    prev = Blake2bHex(line);
    ++seq;
    return line;
  }
  std::vector<std::string> Take(size_t count) {
    std::vector<std::string> lines;
    lines.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      lines.push_back(Next());
    }
    return lines;
  }
};

AuditEvent Event(const std::string& signer, const std::string& line, int32_t partition = 0) {
  AuditEvent event;
  event.signer_id = signer;
  event.key = kAliceKey;
  event.partition = partition;
  event.line = line;
  return event;
}

// --- the checker alone ----------------------------------------------------------------------

AuditChainChecker::Options CheckerOptions(bool from_beginning) {
  AuditChainChecker::Options options;
  options.from_beginning = from_beginning;
  options.max_buffered_per_signer = 100;
  options.reorder_window = milliseconds(500);
  return options;
}

std::vector<std::pair<uint64_t, ChainStatus>> Verdicts(const std::vector<CheckedEvent>& events) {
  std::vector<std::pair<uint64_t, ChainStatus>> out;
  out.reserve(events.size());
  for (const auto& event : events) {
    out.emplace_back(event.seq, event.chain);
  }
  return out;
}

using V = std::vector<std::pair<uint64_t, ChainStatus>>;
constexpr ChainStatus kOk = ChainStatus::kOk;
constexpr ChainStatus kGap = ChainStatus::kGap;
constexpr ChainStatus kBroken = ChainStatus::kBroken;

TEST(AuditChainCheckerTest, ReordersInterleavedSignersAndAcceptsIntactChains) {
  Chain a;
  Chain b;
  const std::vector<std::string> la = a.Take(4);
  const std::vector<std::string> lb = b.Take(4);
  AuditChainChecker checker(CheckerOptions(true));
  std::vector<CheckedEvent> out;
  const auto now = Clock::now();
  for (int i : {1, 0, 3, 2}) {
    checker.Add(Event("a", la[static_cast<size_t>(i)]), now, out);
  }
  for (int i : {3, 2, 1, 0}) {
    checker.Add(Event("b", lb[static_cast<size_t>(i)]), now, out);
  }
  EXPECT_EQ(Verdicts(out), (V{{0, kOk},
                              {1, kOk},
                              {2, kOk},
                              {3, kOk},  // a
                              {0, kOk},
                              {1, kOk},
                              {2, kOk},
                              {3, kOk}}));
  EXPECT_EQ(out[0].event.signer_id, "a");
  EXPECT_EQ(out[4].event.signer_id, "b");
  EXPECT_EQ(checker.buffered(), 0u);
}

TEST(AuditChainCheckerTest, AMissingSeqIsAGapOnceTheReorderWindowPasses) {
  Chain a;
  const std::vector<std::string> lines = a.Take(5);
  AuditChainChecker checker(CheckerOptions(true));
  std::vector<CheckedEvent> out;
  const auto start = Clock::now();
  for (int i : {0, 1, 3, 4}) {
    checker.Add(Event("a", lines[static_cast<size_t>(i)]), start, out);
  }
  EXPECT_EQ(Verdicts(out), (V{{0, kOk}, {1, kOk}}));
  checker.Expire(start + milliseconds(499), out);
  EXPECT_EQ(out.size(), 2u) << "held events must wait out the reorder window";
  checker.Expire(start + milliseconds(500), out);
  EXPECT_EQ(Verdicts(out), (V{{0, kOk}, {1, kOk}, {3, kGap}, {4, kOk}}));
  EXPECT_EQ(out[2].problem, "seq 2 is missing");
  // The lost line turning up later is still not verifiable.
  checker.Add(Event("a", lines[2]), start + milliseconds(600), out);
  EXPECT_EQ(out.back().chain, kGap);
}

TEST(AuditChainCheckerTest, FlushReportsGapsWithoutWaiting) {
  Chain a;
  const std::vector<std::string> lines = a.Take(4);
  AuditChainChecker checker(CheckerOptions(true));
  std::vector<CheckedEvent> out;
  checker.Add(Event("a", lines[3]), Clock::now(), out);
  checker.Add(Event("a", lines[1]), Clock::now(), out);
  EXPECT_TRUE(out.empty());
  checker.Flush(out);
  EXPECT_EQ(Verdicts(out), (V{{1, kGap}, {3, kGap}}));
  EXPECT_EQ(out[0].problem, "seq 0 is missing");
}

TEST(AuditChainCheckerTest, AnEditedEventBreaksTheChainAtTheNextEvent) {
  Chain a;
  const std::vector<std::string> lines = a.Take(4);
  // Same seq and prev, another reason: the edit itself is undetectable until its successor.
  std::string edited = lines[2];
  edited.replace(edited.find("\"reason\":\"\""), 11, "\"reason\":\"x\"");
  ASSERT_NE(edited, lines[2]);
  AuditChainChecker checker(CheckerOptions(true));
  std::vector<CheckedEvent> out;
  for (const std::string& line : {lines[0], lines[1], edited, lines[3]}) {
    checker.Add(Event("a", line), Clock::now(), out);
  }
  EXPECT_EQ(Verdicts(out), (V{{0, kOk}, {1, kOk}, {2, kOk}, {3, kBroken}}));
  // And the original turning up besides the edited one is a second event with the same seq.
  checker.Add(Event("a", lines[2]), Clock::now(), out);
  EXPECT_EQ(out.back().chain, kBroken);
  // A plain replay of a verified record is only a duplicate.
  checker.Add(Event("a", lines[1]), Clock::now(), out);
  EXPECT_EQ(out.back().chain, kOk);
  EXPECT_FALSE(out.back().problem.empty());
}

TEST(AuditChainCheckerTest, AnEditedPrevOrAForgedStartIsBroken) {
  Chain a;
  const std::string first = a.Next();
  const std::string second = a.Next();
  std::string forged_second = second;
  const size_t prev_at = forged_second.find("\"prev\":\"") + 8;
  forged_second[prev_at] = forged_second[prev_at] == '0' ? '1' : '0';
  AuditChainChecker checker(CheckerOptions(true));
  std::vector<CheckedEvent> out;
  checker.Add(Event("a", first), Clock::now(), out);
  checker.Add(Event("a", forged_second), Clock::now(), out);
  EXPECT_EQ(Verdicts(out), (V{{0, kOk}, {1, kBroken}}));

  // From the beginning, seq 0 must carry the zero hash.
  const std::string bad_start = BuildLine(0, kAliceKey, "", std::string(64, 'f'));
  checker.Add(Event("b", bad_start), Clock::now(), out);
  EXPECT_EQ(out.back().chain, kBroken);
}

TEST(AuditChainCheckerTest, ValuesThatAreNotAuditLinesAreBroken) {
  AuditChainChecker checker(CheckerOptions(true));
  std::vector<CheckedEvent> out;
  for (const std::string line : {"", "not json", "[1,2]", "{\"seq\":-1,\"prev\":\"00\"}",
                                 "{\"seq\":0}", "{\"seq\":0,\"prev\":5}"}) {
    checker.Add(Event("a", line), Clock::now(), out);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.back().chain, kBroken) << line;
    EXPECT_FALSE(out.back().parsed) << line;
  }
  Chain a;
  checker.Add(Event("", a.Next()), Clock::now(), out);
  EXPECT_EQ(out.back().chain, kBroken) << "no signer_id header";
}

TEST(AuditChainCheckerTest, FromTheEndTheLowestSeqWithinTheWindowStartsTheChain) {
  Chain a;
  const std::vector<std::string> lines = a.Take(8);
  AuditChainChecker checker(CheckerOptions(false));
  std::vector<CheckedEvent> out;
  const auto start = Clock::now();
  checker.Add(Event("a", lines[6]), start, out);
  checker.Add(Event("a", lines[5]), start, out);
  EXPECT_TRUE(out.empty());
  checker.Expire(start + milliseconds(500), out);
  checker.Add(Event("a", lines[7]), start + milliseconds(501), out);
  EXPECT_EQ(Verdicts(out), (V{{5, kOk}, {6, kOk}, {7, kOk}}));
}

TEST(AuditChainCheckerTest, TheReorderBufferIsBounded) {
  Chain a;
  const std::vector<std::string> lines = a.Take(6);
  AuditChainChecker::Options options = CheckerOptions(true);
  options.max_buffered_per_signer = 2;
  AuditChainChecker checker(options);
  std::vector<CheckedEvent> out;
  for (int i : {1, 2, 3}) {
    checker.Add(Event("a", lines[static_cast<size_t>(i)]), Clock::now(), out);
  }
  EXPECT_EQ(Verdicts(out), (V{{1, kGap}, {2, kOk}, {3, kOk}}));
  EXPECT_EQ(checker.buffered(), 0u);
}

// The signer_id header is untrusted: a topic writer naming a new signer in every record must not
// grow the checker without end, and a seq no log reaches must not wrap a chain back to 0.
TEST(AuditChainCheckerTest, SignerIdsAreBoundedAndTheLastSeqIsRefused) {
  AuditChainChecker::Options options = CheckerOptions(true);
  options.max_signers = 3;
  AuditChainChecker checker(options);
  std::vector<CheckedEvent> out;
  std::vector<Chain> chains(4);
  for (size_t signer = 0; signer < chains.size(); ++signer) {
    checker.Add(Event("signer-" + std::to_string(signer), chains[signer].Next()), Clock::now(),
                out);
  }
  EXPECT_EQ(Verdicts(out), (V{{0, kOk}, {0, kOk}, {0, kOk}, {0, kBroken}}));
  EXPECT_NE(out.back().problem.find("more than 3 signer ids"), std::string::npos)
      << out.back().problem;
  // The three followed chains go on as before.
  out.clear();
  checker.Add(Event("signer-1", chains[1].Next()), Clock::now(), out);
  EXPECT_EQ(Verdicts(out), (V{{1, kOk}}));

  out.clear();
  const std::string last = BuildLine(UINT64_MAX, kAliceKey, "", kZeroHash);
  checker.Add(Event("signer-0", last), Clock::now(), out);
  EXPECT_EQ(Verdicts(out), (V{{UINT64_MAX, kBroken}}));
  // signer-0's chain did not wrap: its next event is still seq 1, in order.
  out.clear();
  checker.Add(Event("signer-0", chains[0].Next()), Clock::now(), out);
  EXPECT_EQ(Verdicts(out), (V{{1, kOk}}));
}

// --- over Kafka -----------------------------------------------------------------------------

// MockCluster hosts librdkafka's mock brokers in this process (they need a client handle to live
// in; this one never produces).
class MockCluster {
 public:
  explicit MockCluster(int brokers) : brokers_(brokers) {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", error, sizeof(error));
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
    cluster_ = rd_kafka_mock_cluster_new(host_, brokers);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(host_);
  }
  bool ok() const { return cluster_ != nullptr; }
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  void CreateTopic(const std::string& name, int partitions) {
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, brokers_),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  void SetAllDown(bool down) {
    for (int32_t id = 1; id <= brokers_; ++id) {
      if (down) {
        rd_kafka_mock_broker_set_down(cluster_, id);
      } else {
        rd_kafka_mock_broker_set_up(cluster_, id);
      }
    }
  }

 private:
  int brokers_;
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

// WaitFor polls `done` for up to `limit` (counters move on librdkafka's threads).
template <typename Predicate>
bool WaitFor(Predicate done, milliseconds limit = milliseconds(30'000)) {
  const auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return done();
}

AuditStreamOptions StreamOptions(const MockCluster& cluster, const std::string& signer_id) {
  AuditStreamOptions options;
  options.brokers = cluster.bootstrap();
  options.signer_id = signer_id;
  options.warning = [](std::string_view) {};
  return options;
}

AuditTailOptions TailOptions(const MockCluster& cluster, bool from_beginning) {
  AuditTailOptions options;
  options.brokers = cluster.bootstrap();
  options.from_beginning = from_beginning;
  // An event that arrives before its predecessor waits for it until the tail ends (then a hole is
  // a gap), never for a time a slow fetch on a loaded machine could outlast. The end is the idle
  // exit, which counts only once every partition was read to its end: a log the test saw delivered
  // is read whole, however slow the fetches.
  options.idle_exit_ms = 500;
  options.checker.reorder_window = milliseconds(600'000);
  options.warning = [](std::string_view) {};
  return options;
}

// WholeLogTailOptions reads the topic from the beginning and stops after `events` events, for a log
// whose every event the test published and saw delivered before tailing: nothing then depends on
// timing, and the idle exit only ends a test that failed.
AuditTailOptions WholeLogTailOptions(const MockCluster& cluster, uint64_t events) {
  AuditTailOptions options = TailOptions(cluster, /*from_beginning=*/true);
  options.max_events = events;
  options.idle_exit_ms = 60'000;
  return options;
}

// Tail collects what RunAuditTail reports.
struct Tail {
  std::vector<CheckedEvent> events;
  AuditTailSummary summary;

  void Run(const AuditTailOptions& options, const std::atomic<bool>* stop = nullptr) {
    auto result = RunAuditTail(
        options, [this](const CheckedEvent& event) { events.push_back(event); }, stop);
    ASSERT_TRUE(result.ok()) << result.status().message();
    summary = *result;
  }
  std::map<std::string, std::vector<uint64_t>> SeqsBySigner() const {
    std::map<std::string, std::vector<uint64_t>> out;
    for (const auto& event : events) {
      out[event.event.signer_id].push_back(event.seq);
    }
    return out;
  }
};

std::vector<uint64_t> Range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (uint64_t i = from; i < to; ++i) {
    out.push_back(i);
  }
  return out;
}

TEST(AuditStreamTest, TwoSignersOverSeveralPartitionsTailFromTheBeginningIntact) {
  MockCluster cluster(3);
  ASSERT_TRUE(cluster.ok());
  cluster.CreateTopic("signer-audit", 3);
  Chain a;
  a.keys = {kAliceKey, kBobKey, kCharlieKey};
  Chain b;
  b.keys = {kCharlieKey, kBobKey};
  {
    auto stream_a = AuditStream::Open(StreamOptions(cluster, "signer-a"));
    auto stream_b = AuditStream::Open(StreamOptions(cluster, "signer-b"));
    ASSERT_TRUE(stream_a.ok()) << stream_a.status().message();
    ASSERT_TRUE(stream_b.ok()) << stream_b.status().message();
    for (int i = 0; i < 30; ++i) {
      const std::string key_a = a.key_of(a.seq);
      (*stream_a)->Publish(a.Next(), key_a);
      const std::string key_b = b.key_of(b.seq);
      (*stream_b)->Publish(b.Next(), key_b);
    }
    ASSERT_TRUE(WaitFor([&] { return (*stream_a)->published() == 30; }));
    ASSERT_TRUE(WaitFor([&] { return (*stream_b)->published() == 30; }));
    EXPECT_EQ((*stream_a)->failed(), 0u);
  }

  Tail tail;
  tail.Run(WholeLogTailOptions(cluster, 60));
  EXPECT_TRUE(tail.summary.intact());
  ASSERT_EQ(tail.events.size(), 60u);
  std::set<int32_t> partitions;
  for (const auto& event : tail.events) {
    EXPECT_EQ(event.chain, ChainStatus::kOk) << event.problem;
    // The record key is the event's own public key; the value is the line byte for byte.
    EXPECT_NE(event.event.line.find("\"public_key\":\"" + event.event.key + "\""),
              std::string::npos);
    partitions.insert(event.event.partition);
  }
  EXPECT_GT(partitions.size(), 1u) << "a signer's chain must be checked across partitions";
  EXPECT_EQ(tail.SeqsBySigner(), (std::map<std::string, std::vector<uint64_t>>{
                                     {"signer-a", Range(0, 30)}, {"signer-b", Range(0, 30)}}));

  // A key filter reports only that key's events but still verifies everything.
  AuditTailOptions filtered = TailOptions(cluster, true);
  filtered.key = kAliceKey;
  Tail only_alice;
  only_alice.Run(filtered);
  EXPECT_EQ(only_alice.events.size(), 10u);
  EXPECT_EQ(only_alice.summary.verified, 60u);
  for (const auto& event : only_alice.events) {
    EXPECT_EQ(event.event.key, kAliceKey);
  }

  // --max-events stops the tail by itself.
  AuditTailOptions limited = WholeLogTailOptions(cluster, 7);
  limited.idle_exit_ms = 0;
  Tail first_seven;
  first_seven.Run(limited);
  EXPECT_EQ(first_seven.events.size(), 7u);
}

TEST(AuditStreamTest, TheIdleExitComesOnlyOnceEveryPartitionIsReadToItsEnd) {
  MockCluster cluster(3);
  ASSERT_TRUE(cluster.ok());
  cluster.CreateTopic("signer-audit", 3);

  // An empty topic: every partition is at its end at once, so a short idle exit ends the tail.
  AuditTailOptions empty = TailOptions(cluster, /*from_beginning=*/true);
  empty.idle_exit_ms = 50;
  Tail nothing;
  nothing.Run(empty);
  EXPECT_EQ(nothing.summary.verified, 0u);

  Chain a;
  a.keys = {kAliceKey, kBobKey, kCharlieKey};
  constexpr uint64_t kEvents = 300;
  {
    auto stream = AuditStream::Open(StreamOptions(cluster, "signer-a"));
    ASSERT_TRUE(stream.ok()) << stream.status().message();
    for (uint64_t i = 0; i < kEvents; ++i) {
      const std::string key = a.key_of(a.seq);
      (*stream)->Publish(a.Next(), key);
    }
    ASSERT_TRUE(WaitFor([&] { return (*stream)->published() == kEvents; }));
  }
  // An idle exit of 1 ms is shorter than any fetch: counted from the last record, as it once was,
  // the tail stopped with part of the log unread. Counted from the end of every partition, it reads
  // the whole log first.
  AuditTailOptions options = TailOptions(cluster, /*from_beginning=*/true);
  options.idle_exit_ms = 1;
  Tail tail;
  tail.Run(options);
  EXPECT_TRUE(tail.summary.intact());
  EXPECT_EQ(tail.SeqsBySigner()["signer-a"], Range(0, kEvents));
}

TEST(AuditStreamTest, AGapAndAnEditedEventAreFlaggedThroughKafka) {
  MockCluster cluster(3);
  ASSERT_TRUE(cluster.ok());
  cluster.CreateTopic("signer-audit", 3);
  Chain gappy;
  gappy.keys = {kAliceKey, kBobKey};
  Chain edited;
  edited.keys = {kBobKey, kCharlieKey};
  {
    auto stream_gappy = AuditStream::Open(StreamOptions(cluster, "gappy"));
    auto stream_edited = AuditStream::Open(StreamOptions(cluster, "edited"));
    ASSERT_TRUE(stream_gappy.ok() && stream_edited.ok());
    for (int i = 0; i < 5; ++i) {
      const std::string key = gappy.key_of(gappy.seq);
      const std::string line = gappy.Next();
      if (i != 2) {
        (*stream_gappy)->Publish(line, key);
      }
    }
    for (int i = 0; i < 5; ++i) {
      const std::string key = edited.key_of(edited.seq);
      std::string line = edited.Next();
      if (i == 2) {
        line.replace(line.find("\"verdict\":\"allowed_new\""), 23,
                     "\"verdict\":\"refused_equivocation\"");
      }
      (*stream_edited)->Publish(line, key);
    }
    ASSERT_TRUE(WaitFor([&] { return (*stream_gappy)->published() == 4; }));
    ASSERT_TRUE(WaitFor([&] { return (*stream_edited)->published() == 5; }));
  }
  Tail tail;
  tail.Run(TailOptions(cluster, true));
  std::map<std::string, std::vector<std::pair<uint64_t, ChainStatus>>> verdicts;
  for (const auto& event : tail.events) {
    verdicts[event.event.signer_id].emplace_back(event.seq, event.chain);
  }
  EXPECT_EQ(verdicts["gappy"], (V{{0, kOk}, {1, kOk}, {3, kGap}, {4, kOk}}));
  EXPECT_EQ(verdicts["edited"], (V{{0, kOk}, {1, kOk}, {2, kOk}, {3, kBroken}, {4, kOk}}));
  EXPECT_FALSE(tail.summary.intact());
  EXPECT_EQ(tail.summary.gaps, 1u);
  EXPECT_EQ(tail.summary.broken, 1u);
}

TEST(AuditStreamTest, ARestartedStreamContinuesTheChainAndATailFromTheEndStartsMidChain) {
  MockCluster cluster(3);
  ASSERT_TRUE(cluster.ok());
  cluster.CreateTopic("signer-audit", 3);
  Chain a;
  a.keys = {kAliceKey, kBobKey, kCharlieKey};
  auto publish = [&](AuditStream& stream, int count) {
    for (int i = 0; i < count; ++i) {
      const std::string key = a.key_of(a.seq);
      stream.Publish(a.Next(), key);
    }
  };
  {
    auto first = AuditStream::Open(StreamOptions(cluster, "signer-a"));
    ASSERT_TRUE(first.ok());
    publish(**first, 5);
  }  // the destructor flushes: signerd stopping
  auto second = AuditStream::Open(StreamOptions(cluster, "signer-a"));
  ASSERT_TRUE(second.ok());
  publish(**second, 5);
  ASSERT_TRUE(WaitFor([&] { return (*second)->published() == 5; }));

  Tail from_start;
  from_start.Run(WholeLogTailOptions(cluster, 10));
  EXPECT_TRUE(from_start.summary.intact());
  EXPECT_EQ(from_start.SeqsBySigner()["signer-a"], Range(0, 10));

  // A tail that joins now sees only what comes next, and takes it as the start of the chain.
  std::promise<void> ready;
  std::atomic<bool> ready_signalled{false};
  auto signal_ready = [&] {
    if (!ready_signalled.exchange(true)) {
      ready.set_value();
    }
  };
  AuditTailOptions options = TailOptions(cluster, false);
  options.idle_exit_ms = 60'000;  // only so that a failure ends the test instead of hanging it
  options.max_events = 5;
  // Joining mid-chain, the checker waits one window for the lowest seq before it starts the chain
  // there, so this tail does depend on the window: a predecessor fetched over 2 s after a later
  // event would be missed.
  options.checker.reorder_window = milliseconds(2'000);
  options.on_ready = signal_ready;
  Tail from_end;
  std::thread tailer([&] {
    from_end.Run(options);
    signal_ready();  // a tail that failed to start must not leave the test waiting
  });
  ready.get_future().wait();
  publish(**second, 5);
  tailer.join();
  EXPECT_TRUE(from_end.summary.intact());
  EXPECT_EQ(from_end.SeqsBySigner()["signer-a"], Range(10, 15));
}

TEST(AuditStreamTest, BrokersDownNeverBlockPublishAndFailuresAreCounted) {
  MockCluster cluster(3);
  ASSERT_TRUE(cluster.ok());
  cluster.CreateTopic("signer-audit", 3);
  AuditStreamOptions options = StreamOptions(cluster, "signer-a");
  options.message_timeout_ms = 1'500;
  options.max_queued_messages = 4;
  std::vector<std::string> warnings;
  std::mutex warnings_mutex;
  options.warning = [&](std::string_view message) {
    std::lock_guard<std::mutex> lock(warnings_mutex);
    warnings.emplace_back(message);
  };
  auto stream = AuditStream::Open(options);
  ASSERT_TRUE(stream.ok()) << stream.status().message();
  Chain a;
  (*stream)->Publish(a.Next(), kAliceKey);
  ASSERT_TRUE(WaitFor([&] { return (*stream)->published() == 1; }));

  cluster.SetAllDown(true);
  for (int i = 0; i < 10; ++i) {
    (*stream)->Publish(a.Next(), kAliceKey);  // returns whatever the brokers do
  }
  // Four fit in the queue; the other six are dropped at once.
  EXPECT_EQ((*stream)->failed(), 6u);
  // The queued four time out.
  EXPECT_TRUE(WaitFor([&] { return (*stream)->failed() == 10; }));
  EXPECT_EQ((*stream)->published(), 1u);
  EXPECT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(warnings_mutex);
    return !warnings.empty();
  }));

  cluster.SetAllDown(false);
  // Reconnecting after an outage takes librdkafka a backoff of its own, which may outlast one
  // line's timeout: keep publishing until the stream delivers again.
  EXPECT_TRUE(WaitFor([&] {
    (*stream)->Publish(a.Next(), kAliceKey);
    return WaitFor([&] { return (*stream)->published() > 1; }, milliseconds(2'000));
  }));
  if (::testing::Test::HasFailure()) {
    for (const auto& warning : warnings) {
      std::fprintf(stderr, "warning: %s\n", warning.c_str());
    }
  }
}

TEST(AuditStreamTest, OpenRefusesMissingFieldsAndPropertiesItDependsOn) {
  AuditStreamOptions options;
  options.brokers = "127.0.0.1:9";
  options.signer_id = "";
  options.warning = [](std::string_view) {};
  EXPECT_EQ(AuditStream::Open(options).status().code(), base::StatusCode::kInvalidArgument);
  options.signer_id = "signer-a";
  for (const char* name : {"acks", "enable.idempotence", "message.timeout.ms"}) {
    options.properties = {{name, "1"}};
    EXPECT_EQ(AuditStream::Open(options).status().code(), base::StatusCode::kInvalidArgument)
        << name;
  }
  options.properties = {{"no.such.property", "1"}};
  EXPECT_EQ(AuditStream::Open(options).status().code(), base::StatusCode::kInvalidArgument);
  options.properties = {{"client.rack", "r1"}};
  EXPECT_TRUE(AuditStream::Open(options).ok());
}

TEST(AuditTailTest, UnreachableBrokersAreUnavailable) {
  AuditTailOptions options;
  options.brokers = "127.0.0.1:9";
  options.metadata_timeout_ms = 1'000;
  options.warning = [](std::string_view) {};
  auto result = RunAuditTail(options, [](const CheckedEvent&) {});
  EXPECT_EQ(result.status().code(), base::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace kafka
