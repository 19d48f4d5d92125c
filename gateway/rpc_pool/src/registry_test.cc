// Table-driven tests of the pool's rules on a fake clock: admission, penalties, cooldowns,
// removal, points.
#include "rpc_pool/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "support/fake_clock.h"

namespace rpc_pool {
namespace {

constexpr uint64_t kSecond = 1000;
constexpr uint64_t kMinute = 60 * kSecond;
const std::string kPoolHash(64, 'a');
const std::string kOtherHash(64, 'b');

PoolRules TestRules() {
  PoolRules rules;
  rules.settings_hash = kPoolHash;
  return rules;
}

// Beat is a heartbeat of `id` at an endpoint of its own (one endpoint is one member's), off the
// LB's host.
Heartbeat Beat(const std::string& id, uint64_t best, uint64_t finalized) {
  return {.node_id = id,
          .settings_hash = kPoolHash,
          .best_block = best,
          .finalized_block = finalized,
          .rpc_endpoint = "rpc." + id + ".pool.example:9944",
          .peers = 8,
          .memory_bytes = 1 << 20};
}

// Pool is a registry on a fake clock, with helpers to script a scenario.
struct Pool {
  explicit Pool(PoolRules rules = TestRules())
      : clock(support::kTestClockStartMs), registry(std::move(rules), clock) {}
  uint64_t Start() const { return support::kTestClockStartMs; }
  HeartbeatVerdict Join(const std::string& id, uint64_t best = 100, uint64_t finalized = 98) {
    return registry.OnHeartbeat(Beat(id, best, finalized));
  }
  NodeView View(const std::string& id) const { return *registry.Node(id); }

  slashing::FakeClock clock;
  NodeRegistry registry;
};

TEST(RulesTest, DefaultsAreTheSeeds) {
  const PoolRules rules;
  EXPECT_EQ(rules.offline_after_ms, 30 * kSecond);
  EXPECT_EQ(rules.max_lag_blocks, 10u);
  EXPECT_EQ(rules.first_cooldown_ms, 1 * kMinute);
  EXPECT_EQ(rules.removal_cooldown_ms, uint64_t{17} * 60 * kMinute);
  EXPECT_EQ(rules.request_weight, 90u);
  EXPECT_EQ(rules.liveness_weight, 10u);
}

TEST(RulesTest, ValidateRulesRefusesUnworkableSettings) {
  struct Row {
    const char* name;
    std::function<void(PoolRules&)> change;
    bool ok;
  };
  const std::vector<Row> rows = {
      {"defaults with a hash", [](PoolRules&) {}, true},
      {"no settings hash", [](PoolRules& r) { r.settings_hash.clear(); }, false},
      {"upper-case hash", [](PoolRules& r) { r.settings_hash = std::string(64, 'A'); }, false},
      {"zero capacity", [](PoolRules& r) { r.capacity = 0; }, false},
      {"bad whitelist ID", [](PoolRules& r) { r.whitelist = {"a b"}; }, false},
      {"zero offline time", [](PoolRules& r) { r.offline_after_ms = 0; }, false},
      {"zero first cooldown", [](PoolRules& r) { r.first_cooldown_ms = 0; }, false},
      {"removal below first cooldown",
       [](PoolRules& r) { r.removal_cooldown_ms = r.first_cooldown_ms - 1; }, false},
      {"both weights zero",
       [](PoolRules& r) {
         r.request_weight = 0;
         r.liveness_weight = 0;
       },
       false},
      {"only liveness counts", [](PoolRules& r) { r.request_weight = 0; }, true},
      {"zero points", [](PoolRules& r) { r.points_per_period = 0; }, false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    PoolRules rules = TestRules();
    row.change(rules);
    const base::Status status = ValidateRules(rules);
    EXPECT_EQ(status.ok(), row.ok) << status.message();
    if (!row.ok) {
      EXPECT_EQ(status.code(), base::StatusCode::kInvalidArgument);
    }
  }
}

TEST(RulesTest, Admission) {
  struct Row {
    const char* name;
    std::function<void(PoolRules&)> change;
    std::vector<std::string> members;  // joined before
    Heartbeat heartbeat;
    HeartbeatVerdict verdict;
  };
  auto with_hash = [](Heartbeat beat, const std::string& hash) {
    beat.settings_hash = hash;
    return beat;
  };
  auto with_endpoint = [](Heartbeat beat, const std::string& endpoint) {
    beat.rpc_endpoint = endpoint;
    return beat;
  };
  const auto no_change = [](PoolRules&) {};
  const auto whitelist_a = [](PoolRules& r) { r.whitelist = {"a"}; };
  const auto capacity_2 = [](PoolRules& r) { r.capacity = 2; };
  const std::vector<Row> rows = {
      {"open pool", no_change, {}, Beat("a", 10, 8), HeartbeatVerdict::kAccepted},
      {"wrong settings hash",
       no_change,
       {},
       with_hash(Beat("a", 10, 8), kOtherHash),
       HeartbeatVerdict::kWrongSettingsHash},
      {"member changed its settings",
       no_change,
       {"a"},
       with_hash(Beat("a", 10, 8), kOtherHash),
       HeartbeatVerdict::kWrongSettingsHash},
      {"malformed hash",
       no_change,
       {},
       with_hash(Beat("a", 10, 8), "abc"),
       HeartbeatVerdict::kMalformed},
      {"on the whitelist", whitelist_a, {}, Beat("a", 10, 8), HeartbeatVerdict::kAccepted},
      {"not on the whitelist",
       whitelist_a,
       {},
       Beat("b", 10, 8),
       HeartbeatVerdict::kNotWhitelisted},
      {"under capacity", capacity_2, {"a"}, Beat("b", 10, 8), HeartbeatVerdict::kAccepted},
      {"at capacity", capacity_2, {"a", "b"}, Beat("c", 10, 8), HeartbeatVerdict::kPoolFull},
      {"a member at capacity",
       capacity_2,
       {"a", "b"},
       Beat("b", 10, 8),
       HeartbeatVerdict::kAccepted},
      {"empty node ID", no_change, {}, Beat("", 10, 8), HeartbeatVerdict::kMalformed},
      {"node ID with a space", no_change, {}, Beat("a b", 10, 8), HeartbeatVerdict::kMalformed},
      {"node ID of 65 characters",
       no_change,
       {},
       Beat(std::string(65, 'n'), 10, 8),
       HeartbeatVerdict::kMalformed},
      {"finalized above best", no_change, {}, Beat("a", 10, 11), HeartbeatVerdict::kMalformed},
      {"endpoint without port",
       no_change,
       {},
       with_endpoint(Beat("a", 10, 8), "127.0.0.1"),
       HeartbeatVerdict::kMalformed},
      {"endpoint port 0",
       no_change,
       {},
       with_endpoint(Beat("a", 10, 8), "h:0"),
       HeartbeatVerdict::kMalformed},
      {"endpoint port too big",
       no_change,
       {},
       with_endpoint(Beat("a", 10, 8), "h:65536"),
       HeartbeatVerdict::kMalformed},
      {"endpoint with a space",
       no_change,
       {},
       with_endpoint(Beat("a", 10, 8), "h x:80"),
       HeartbeatVerdict::kMalformed},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    PoolRules rules = TestRules();
    row.change(rules);
    Pool pool(rules);
    for (const std::string& id : row.members) ASSERT_EQ(pool.Join(id), HeartbeatVerdict::kAccepted);
    pool.registry.TakeEvents();
    EXPECT_EQ(pool.registry.OnHeartbeat(row.heartbeat), row.verdict);
    const std::vector<PoolEvent> events = pool.registry.TakeEvents();
    const bool new_member = row.verdict == HeartbeatVerdict::kAccepted &&
                            std::find(row.members.begin(), row.members.end(),
                                      row.heartbeat.node_id) == row.members.end();
    if (new_member) {
      ASSERT_EQ(events.size(), 1u);
      EXPECT_EQ(events[0].kind, PoolEventKind::kJoined);
    } else if (row.verdict != HeartbeatVerdict::kAccepted) {
      ASSERT_EQ(events.size(), 1u);
      EXPECT_EQ(events[0].kind, PoolEventKind::kRefused);
      EXPECT_EQ(events[0].refusal, row.verdict);
    } else {
      EXPECT_TRUE(events.empty());
    }
  }
}

TEST(RulesTest, ARepeatedRefusalIsRecordedOnce) {
  Pool pool;
  Heartbeat beat = Beat("a", 10, 8);
  beat.settings_hash = kOtherHash;
  EXPECT_EQ(pool.registry.OnHeartbeat(beat), HeartbeatVerdict::kWrongSettingsHash);
  EXPECT_EQ(pool.registry.OnHeartbeat(beat), HeartbeatVerdict::kWrongSettingsHash);
  EXPECT_EQ(pool.registry.TakeEvents().size(), 1u);
  EXPECT_FALSE(pool.registry.Node("a").has_value());
}

// An endpoint on the LB's own host, in any spelling HAProxy's resolver reads as one, would send the
// pool's traffic to the LB itself: malformed, unless the rules allow it (tests on one host).
TEST(RulesTest, EndpointsOnTheLbsOwnHostAreRefused) {
  struct Row {
    const char* endpoint;
    bool own_host;
  };
  const std::vector<Row> rows = {
      {"127.0.0.1:9944", true},
      {"127.1.2.3:9944", true},
      {"127.1:9944", true},       // inet_aton's short form
      {"2130706433:9944", true},  // 127.0.0.1 as one number
      {"0x7f000001:9944", true},  // and in hex
      {"0177.0.0.1:9944", true},  // and in octal
      {"0.0.0.0:9944", true},
      {"0.1.2.3:9944", true},
      {"[127.0.0.1]:9944", true},  // HAProxy takes IPv4 in brackets
      {"[::1]:9944", true},
      {"::1:9944", true},  // HAProxy reads the last colon as the port's
      {"[0:0:0:0:0:0:0:1]:9944", true},
      {"[::]:9944", true},
      {"[::ffff:127.0.0.1]:9944", true},
      {"[::ffff:0.0.0.0]:9944", true},
      {"localhost:9944", true},
      {"LocalHost.:9944", true},
      {"rpc.localhost:9944", true},
      {"10.0.0.1:9944", false},
      {"128.0.0.1:9944", false},
      {"[2001:db8::1]:9944", false},
      {"[::ffff:192.0.2.1]:9944", false},
      {"127.example:9944", false},
      {"localhost.example:9944", false},
      {"mylocalhost:9944", false},
      {"node.pool.example:9944", false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.endpoint);
    Heartbeat beat = Beat("a", 10, 8);
    beat.rpc_endpoint = row.endpoint;
    Pool pool;
    EXPECT_EQ(pool.registry.CheckHeartbeat(beat),
              row.own_host ? MalformedReason::kLoopbackEndpoint : MalformedReason::kNone);
    EXPECT_EQ(pool.registry.OnHeartbeat(beat),
              row.own_host ? HeartbeatVerdict::kMalformed : HeartbeatVerdict::kAccepted);
    const std::vector<PoolEvent> events = pool.registry.TakeEvents();
    ASSERT_EQ(events.size(), 1u);
    if (row.own_host) {
      EXPECT_EQ(events[0].kind, PoolEventKind::kRefused);
      EXPECT_EQ(events[0].node_id, "a");
      EXPECT_EQ(events[0].malformed, MalformedReason::kLoopbackEndpoint);
      EXPECT_FALSE(pool.registry.Node("a").has_value());
    }
    // Tests and trials that run every node on one host allow it.
    PoolRules rules = TestRules();
    rules.allow_loopback_endpoints = true;
    Pool trial(rules);
    EXPECT_EQ(trial.registry.OnHeartbeat(beat), HeartbeatVerdict::kAccepted);
  }
}

// One endpoint, one member: a member reporting another's endpoint (in any spelling of it) to be
// paid for its traffic is refused; the first keeps it while it is a member.
TEST(RulesTest, AnEndpointAnotherMemberReportsIsRefused) {
  Pool pool;
  const auto at = [](const std::string& id, const std::string& endpoint) {
    Heartbeat beat = Beat(id, 10, 8);
    beat.rpc_endpoint = endpoint;
    return beat;
  };
  ASSERT_EQ(pool.registry.OnHeartbeat(at("a", "10.0.0.1:9944")), HeartbeatVerdict::kAccepted);
  ASSERT_EQ(pool.registry.OnHeartbeat(at("b", "10.0.0.2:9944")), HeartbeatVerdict::kAccepted);
  ASSERT_EQ(pool.registry.OnHeartbeat(at("c", "Node-C.pool.example:9944")),
            HeartbeatVerdict::kAccepted);
  pool.registry.TakeEvents();
  for (const char* taken :
       {"10.0.0.1:9944", "10.0.0.1:09944", "10.1:9944", "167772161:9944", "[::ffff:10.0.0.1]:9944",
        "[10.0.0.1]:9944", "node-c.pool.example:9944", "NODE-C.POOL.EXAMPLE.:9944"}) {
    SCOPED_TRACE(taken);
    EXPECT_EQ(pool.registry.CheckHeartbeat(at("b", taken)), MalformedReason::kEndpointTaken);
    EXPECT_EQ(pool.registry.OnHeartbeat(at("b", taken)), HeartbeatVerdict::kMalformed);
    // A new node may not take it either.
    EXPECT_EQ(pool.registry.OnHeartbeat(at("d", taken)), HeartbeatVerdict::kMalformed);
  }
  // b keeps what it last reported; the refusals are recorded once each, with the reason.
  EXPECT_EQ(pool.View("b").last.rpc_endpoint, "10.0.0.2:9944");
  EXPECT_FALSE(pool.registry.Node("d").has_value());
  const std::vector<PoolEvent> events = pool.registry.TakeEvents();
  ASSERT_EQ(events.size(), 2u);
  for (const PoolEvent& event : events) {
    EXPECT_EQ(event.kind, PoolEventKind::kRefused);
    EXPECT_EQ(event.refusal, HeartbeatVerdict::kMalformed);
    EXPECT_EQ(event.malformed, MalformedReason::kEndpointTaken);
  }
  // Its own endpoint, in another spelling, is still its own; another port is another endpoint.
  EXPECT_EQ(pool.registry.OnHeartbeat(at("a", "10.0.0.1:9944")), HeartbeatVerdict::kAccepted);
  EXPECT_EQ(pool.registry.OnHeartbeat(at("a", "[::ffff:10.0.0.1]:9944")),
            HeartbeatVerdict::kAccepted);
  EXPECT_EQ(pool.registry.OnHeartbeat(at("d", "10.0.0.1:9945")), HeartbeatVerdict::kAccepted);
  // Once a moves, its old endpoint is free.
  EXPECT_EQ(pool.registry.OnHeartbeat(at("a", "10.0.0.3:9944")), HeartbeatVerdict::kAccepted);
  EXPECT_EQ(pool.registry.OnHeartbeat(at("b", "10.0.0.1:9944")), HeartbeatVerdict::kAccepted);
  // A removed member holds no endpoint.
  ASSERT_TRUE(pool.registry.RestoreRemoved("c"));
  EXPECT_EQ(pool.registry.OnHeartbeat(at("e", "node-c.pool.example:9944")),
            HeartbeatVerdict::kAccepted);
}

// One step of a penalty scenario: after `advance_ms`, node "leader" (always at the tip) and node
// "n" report (unless offline), the rules run, and n is checked.
struct Step {
  uint64_t advance_ms;
  bool n_reports;
  uint64_t n_behind_best;       // blocks n's best is behind the leader's
  uint64_t n_behind_finalized;  // blocks n's finalized is behind the leader's
  NodeState state;
  Offence offence;
  uint64_t cooldown_ms;
  std::vector<PoolEventKind> events;  // events about n in this step
};

struct Scenario {
  const char* name;
  std::vector<Step> steps;
};

void RunScenario(const Scenario& scenario) {
  SCOPED_TRACE(scenario.name);
  Pool pool;
  uint64_t tip = 1000;
  ASSERT_EQ(pool.Join("leader", tip, tip - 2), HeartbeatVerdict::kAccepted);
  ASSERT_EQ(pool.Join("n", tip, tip - 2), HeartbeatVerdict::kAccepted);
  pool.registry.TakeEvents();
  for (size_t i = 0; i < scenario.steps.size(); ++i) {
    const Step& step = scenario.steps[i];
    SCOPED_TRACE("step " + std::to_string(i));
    pool.clock.Advance(step.advance_ms);
    tip += 1;
    ASSERT_EQ(pool.registry.OnHeartbeat(Beat("leader", tip, tip - 2)), HeartbeatVerdict::kAccepted);
    if (step.n_reports) {
      // A node's finalized block is never above its best.
      const uint64_t best = tip - step.n_behind_best;
      const uint64_t finalized = std::min(best, tip - 2 - step.n_behind_finalized);
      ASSERT_EQ(pool.registry.OnHeartbeat(Beat("n", best, finalized)), HeartbeatVerdict::kAccepted);
    }
    pool.registry.Evaluate();
    const NodeView view = pool.View("n");
    EXPECT_EQ(view.state, step.state);
    EXPECT_EQ(view.offence, step.offence);
    EXPECT_EQ(view.cooldown_ms, step.cooldown_ms);
    if (step.state == NodeState::kCooldown && !step.events.empty()) {
      EXPECT_EQ(view.cooldown_until_ms, pool.clock.NowUnixMs() + step.cooldown_ms);
    }
    std::vector<PoolEventKind> kinds;
    for (const PoolEvent& event : pool.registry.TakeEvents()) {
      EXPECT_NE(event.node_id, "leader") << PoolEventKindName(event.kind);
      if (event.node_id != "n") continue;
      kinds.push_back(event.kind);
      EXPECT_EQ(event.at_ms, pool.clock.NowUnixMs());
      if (event.kind == PoolEventKind::kPenalised) {
        EXPECT_EQ(event.cooldown_ms, step.cooldown_ms);
        EXPECT_EQ(event.offence, step.offence);
      }
    }
    EXPECT_EQ(kinds, step.events);
  }
}

TEST(RulesTest, Penalties) {
  constexpr NodeState kInService = NodeState::kInService;
  constexpr NodeState kCooldown = NodeState::kCooldown;
  constexpr PoolEventKind kPenalised = PoolEventKind::kPenalised;
  constexpr PoolEventKind kRestored = PoolEventKind::kRestored;
  const uint64_t s = kSecond;
  const uint64_t m = kMinute;
  const std::vector<Scenario> scenarios = {
      {"10 blocks behind is still fresh", {{s, true, 10, 0, kInService, Offence::kNone, 0, {}}}},
      {"11 blocks behind on best is penalised",
       {{s, true, 11, 0, kCooldown, Offence::kNotFresh, m, {kPenalised}}}},
      {"11 blocks behind on finalized is penalised",
       {{s, true, 0, 11, kCooldown, Offence::kNotFresh, m, {kPenalised}}}},
      {"silent for exactly 30 s is still online",
       {{30 * s, false, 0, 0, kInService, Offence::kNone, 0, {}}}},
      {"silent for 30.001 s is offline",
       {{30 * s + 1, false, 0, 0, kCooldown, Offence::kOffline, m, {kPenalised}}}},
      {"no re-check before the cooldown ends, restored when it ends and the node caught up",
       {{s, true, 11, 0, kCooldown, Offence::kNotFresh, m, {kPenalised}},
        {m - 1, true, 0, 0, kCooldown, Offence::kNotFresh, m, {}},
        {1, true, 0, 0, kInService, Offence::kNone, 0, {kRestored}}}},
      {"still behind at the re-check doubles the cooldown",
       {{s, true, 11, 0, kCooldown, Offence::kNotFresh, m, {kPenalised}},
        {m, true, 11, 0, kCooldown, Offence::kNotFresh, 2 * m, {kPenalised}},
        {2 * m, true, 11, 0, kCooldown, Offence::kNotFresh, 4 * m, {kPenalised}}}},
      {"the offence may change kind while it goes on",
       {{s, true, 11, 0, kCooldown, Offence::kNotFresh, m, {kPenalised}},
        {m, false, 0, 0, kCooldown, Offence::kOffline, 2 * m, {kPenalised}}}},
      {"a new offence after a restore starts again at one minute",
       {{s, true, 11, 0, kCooldown, Offence::kNotFresh, m, {kPenalised}},
        {m, true, 11, 0, kCooldown, Offence::kNotFresh, 2 * m, {kPenalised}},
        {2 * m, true, 0, 0, kInService, Offence::kNone, 0, {kRestored}},
        {s, true, 12, 0, kCooldown, Offence::kNotFresh, m, {kPenalised}}}},
  };
  for (const Scenario& scenario : scenarios) RunScenario(scenario);
}

TEST(RulesTest, AnOffenceThatGoesOnDoublesTheCooldownUntilRemoval) {
  struct Row {
    const char* name;
    uint64_t first_cooldown_ms;
    uint64_t removal_cooldown_ms;
    std::vector<uint64_t> cooldowns;  // the penalties' cooldowns, in order, before removal
  };
  const uint64_t m = kMinute;
  const std::vector<Row> rows = {
      // 1, 2, 4, ... 512 minutes (8 h 32 min); the next would be 1024 min, over 17 h (1020 min).
      {"the seed's numbers",
       m,
       uint64_t{17} * 60 * m,
       {m, 2 * m, 4 * m, 8 * m, 16 * m, 32 * m, 64 * m, 128 * m, 256 * m, 512 * m}},
      // A cooldown equal to the threshold is not over it.
      {"threshold reached exactly",
       m,
       1024 * m,
       {m, 2 * m, 4 * m, 8 * m, 16 * m, 32 * m, 64 * m, 128 * m, 256 * m, 512 * m, 1024 * m}},
      {"short numbers", 10 * kSecond, 30 * kSecond, {10 * kSecond, 20 * kSecond}},
      {"removal at the first re-check", 10 * kSecond, 10 * kSecond, {10 * kSecond}},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    PoolRules rules = TestRules();
    rules.first_cooldown_ms = row.first_cooldown_ms;
    rules.removal_cooldown_ms = row.removal_cooldown_ms;
    rules.whitelist = {"leader", "lagger"};
    Pool pool(rules);
    ASSERT_EQ(pool.Join("leader", 1000, 998), HeartbeatVerdict::kAccepted);
    ASSERT_EQ(pool.Join("lagger", 989, 987), HeartbeatVerdict::kAccepted);
    pool.registry.TakeEvents();
    std::vector<uint64_t> cooldowns;
    uint64_t removed_at = 0;
    // Each round lets the current cooldown run out (the first round: one second), with both nodes
    // reporting, so the only offence is the lag.
    uint64_t wait_ms = kSecond;
    for (int round = 0; round < 40 && removed_at == 0; ++round) {
      pool.clock.Advance(wait_ms);
      ASSERT_EQ(pool.registry.OnHeartbeat(Beat("leader", 1000, 998)), HeartbeatVerdict::kAccepted);
      ASSERT_EQ(pool.registry.OnHeartbeat(Beat("lagger", 989, 987)), HeartbeatVerdict::kAccepted);
      pool.registry.Evaluate();
      for (const PoolEvent& event : pool.registry.TakeEvents()) {
        ASSERT_EQ(event.node_id, "lagger");
        if (event.kind == PoolEventKind::kPenalised) {
          cooldowns.push_back(event.cooldown_ms);
        } else {
          ASSERT_EQ(event.kind, PoolEventKind::kRemoved);
          removed_at = event.at_ms;
        }
      }
      wait_ms = pool.View("lagger").cooldown_ms;
    }
    EXPECT_EQ(cooldowns, row.cooldowns);
    ASSERT_NE(removed_at, 0u);
    // Removed at the re-check after the last cooldown: one second plus all the cooldowns.
    uint64_t expected_at = pool.Start() + kSecond;
    for (uint64_t cooldown : row.cooldowns) expected_at += cooldown;
    EXPECT_EQ(removed_at, expected_at);
    EXPECT_EQ(pool.View("lagger").state, NodeState::kRemoved);
    EXPECT_EQ(pool.View("lagger").penalties, row.cooldowns.size());
    EXPECT_EQ(pool.registry.rules().whitelist, std::set<std::string>{"leader"});
    EXPECT_EQ(pool.registry.InService(), std::vector<std::string>{"leader"});
    // Removal is permanent: caught up or not, its heartbeats are refused.
    EXPECT_EQ(pool.registry.OnHeartbeat(Beat("lagger", 1000, 998)), HeartbeatVerdict::kRemoved);
    pool.clock.Advance(uint64_t{100} * 3600 * kSecond);
    EXPECT_EQ(pool.registry.OnHeartbeat(Beat("lagger", 1000, 998)), HeartbeatVerdict::kRemoved);
    EXPECT_FALSE(pool.registry.RecordRequests("lagger", 5));
  }
}

TEST(RulesTest, PoolBestIgnoresSilentAndRemovedNodes) {
  Pool pool;
  ASSERT_EQ(pool.Join("a", 500, 490), HeartbeatVerdict::kAccepted);
  pool.clock.Advance(20 * kSecond);
  ASSERT_EQ(pool.Join("b", 300, 295), HeartbeatVerdict::kAccepted);
  EXPECT_EQ(pool.registry.PoolBest(), 500u);
  EXPECT_EQ(pool.registry.PoolFinalized(), 490u);
  pool.clock.Advance(11 * kSecond);  // a has been silent for 31 s
  EXPECT_EQ(pool.registry.PoolBest(), 300u);
  EXPECT_EQ(pool.registry.PoolFinalized(), 295u);
  pool.registry.Evaluate();
  // a is offline, but b is not judged against a's stale 500.
  EXPECT_EQ(pool.View("a").offence, Offence::kOffline);
  EXPECT_EQ(pool.View("b").state, NodeState::kInService);
}

// Points on a scripted 100-second period, computed by hand:
//   A, B, C join at 0 s and report every 10 s. C falls 11 blocks behind at 20 s (penalised, one
//   minute) and has caught up at its re-check at 80 s, so C was in service 20 + 20 = 40 s; A and
//   B 100 s each; 240 s in all. A served 600 requests, B 300, C none: 900 in all.
//   Budget 1000, 90:10: 900 by requests, 100 by time in service.
//   A: 900*600/900 = 600, plus 100*100/240 = 41.67 -> 41: 641.
//   B: 900*300/900 = 300, plus 41: 341.
//   C: 0, plus 100*40/240 = 16.67 -> 16: 16.
TEST(RulesTest, PointsOnAScriptedPeriod) {
  PoolRules rules = TestRules();
  rules.points_per_period = 1000;
  Pool pool(rules);
  uint64_t tip = 1000;
  for (uint64_t second = 0; second <= 100; second += 10) {
    if (second > 0) pool.clock.Advance(10 * kSecond);
    const bool c_behind = second >= 20 && second < 80;
    ASSERT_EQ(pool.Join("A", tip, tip - 2), HeartbeatVerdict::kAccepted);
    ASSERT_EQ(pool.Join("B", tip, tip - 2), HeartbeatVerdict::kAccepted);
    ASSERT_EQ(pool.Join("C", c_behind ? tip - 11 : tip, c_behind ? tip - 13 : tip - 2),
              HeartbeatVerdict::kAccepted);
    pool.registry.Evaluate();
    if (second == 50) {
      ASSERT_TRUE(pool.registry.RecordRequests("A", 600));
      ASSERT_TRUE(pool.registry.RecordRequests("B", 300));
    }
  }
  EXPECT_EQ(pool.View("C").state, NodeState::kInService);
  EXPECT_EQ(pool.View("C").penalties, 1u);
  const PointsPeriod period = pool.registry.ClosePeriod();
  EXPECT_EQ(period.start_ms, pool.Start());
  EXPECT_EQ(period.end_ms, pool.Start() + 100 * kSecond);
  const std::vector<NodePoints> expected = {
      {.node_id = "A", .requests = 600, .live_ms = 100 * kSecond, .points = 641},
      {.node_id = "B", .requests = 300, .live_ms = 100 * kSecond, .points = 341},
      {.node_id = "C", .requests = 0, .live_ms = 40 * kSecond, .points = 16},
  };
  EXPECT_EQ(period.nodes, expected);

  // The next period starts from nothing: 10 s in which nobody served a request. Only the
  // liveness part (100) is given out, equally: 33 each.
  pool.clock.Advance(10 * kSecond);
  const PointsPeriod quiet = pool.registry.ClosePeriod();
  EXPECT_EQ(quiet.start_ms, period.end_ms);
  ASSERT_EQ(quiet.nodes.size(), 3u);
  for (const NodePoints& node : quiet.nodes) {
    EXPECT_EQ(node.requests, 0u);
    EXPECT_EQ(node.live_ms, 10 * kSecond);
    EXPECT_EQ(node.points, 33u) << node.node_id;
  }
}

TEST(RulesTest, ARestoredRemovalIsPermanent) {
  PoolRules rules = TestRules();
  rules.whitelist = {"a", "b"};
  Pool pool(rules);
  ASSERT_EQ(pool.Join("a"), HeartbeatVerdict::kAccepted);
  pool.registry.TakeEvents();
  EXPECT_TRUE(pool.registry.RestoreRemoved("a"));  // a member
  EXPECT_TRUE(pool.registry.RestoreRemoved("b"));  // never seen in this run
  EXPECT_FALSE(pool.registry.RestoreRemoved("not valid"));
  EXPECT_TRUE(pool.registry.TakeEvents().empty());
  EXPECT_EQ(pool.Join("a"), HeartbeatVerdict::kRemoved);
  EXPECT_EQ(pool.Join("b"), HeartbeatVerdict::kRemoved);
  EXPECT_TRUE(pool.registry.InService().empty());
  EXPECT_TRUE(pool.registry.rules().whitelist.empty());
  EXPECT_FALSE(pool.registry.RecordRequests("a", 1));
}

// The dashboard shows the last penalty's reason after a restore, and the open period's figures.
TEST(RulesTest, TheViewKeepsTheLastPenaltyAndTheOpenPeriod) {
  Pool pool;
  ASSERT_EQ(pool.Join("a", 100, 98), HeartbeatVerdict::kAccepted);
  ASSERT_EQ(pool.Join("b", 100, 98), HeartbeatVerdict::kAccepted);
  EXPECT_TRUE(pool.registry.RecordRequests("a", 7));
  pool.clock.Advance(10 * kSecond);
  EXPECT_EQ(pool.View("a").period_requests, 7u);
  EXPECT_EQ(pool.View("a").period_live_ms, 10 * kSecond);
  EXPECT_EQ(pool.View("a").last_offence, Offence::kNone);

  // b falls behind: penalised; its time in service stops counting.
  ASSERT_EQ(pool.Join("a", 120, 118), HeartbeatVerdict::kAccepted);
  pool.registry.Evaluate();
  ASSERT_EQ(pool.View("b").state, NodeState::kCooldown);
  pool.clock.Advance(30 * kSecond);
  EXPECT_EQ(pool.View("b").period_live_ms, 10 * kSecond);
  EXPECT_EQ(pool.registry.Nodes()[1].period_live_ms, 10 * kSecond);

  // Caught up and past its cooldown: restored, and the reason of its last penalty stays.
  ASSERT_EQ(pool.Join("a", 120, 118), HeartbeatVerdict::kAccepted);
  ASSERT_EQ(pool.Join("b", 120, 118), HeartbeatVerdict::kAccepted);
  pool.clock.Advance(kMinute);
  ASSERT_EQ(pool.Join("a", 120, 118), HeartbeatVerdict::kAccepted);
  ASSERT_EQ(pool.Join("b", 120, 118), HeartbeatVerdict::kAccepted);
  pool.registry.Evaluate();
  EXPECT_EQ(pool.View("b").state, NodeState::kInService);
  EXPECT_EQ(pool.View("b").offence, Offence::kNone);
  EXPECT_EQ(pool.View("b").last_offence, Offence::kNotFresh);
  EXPECT_EQ(pool.View("b").penalties, 1u);
}

TEST(RulesTest, RequestsOfUnknownNodesAreDropped) {
  Pool pool;
  EXPECT_FALSE(pool.registry.RecordRequests("nobody", 1));
  ASSERT_EQ(pool.Join("a"), HeartbeatVerdict::kAccepted);
  EXPECT_TRUE(pool.registry.RecordRequests("a", 1));
}

}  // namespace
}  // namespace rpc_pool
