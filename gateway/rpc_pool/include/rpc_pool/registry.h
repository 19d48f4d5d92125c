// The pool's rules as a library: who may join, when a node is penalised, cooled down, restored or
// removed, and how points are earned. No I/O; time comes from an injected clock.
//
// Thread safety: NodeRegistry is thread-compatible (the controller calls it under one lock).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "slashing/clock.h"

namespace rpc_pool {

// PoolRules are the numbers of seed 001, every one configurable; the defaults are the seed's
// (capacity and the points budget, which the seed leaves open, are this project's choice).
struct PoolRules {
  std::string settings_hash;            // the pool's (SettingsHash); a node must report the same
  uint32_t capacity = 64;               // most member nodes at once (removed ones do not count)
  std::set<std::string> whitelist;      // node IDs allowed to join; empty: any node may join
  uint64_t offline_after_ms = 30'000;   // no heartbeat for longer than this: offline
  uint64_t max_lag_blocks = 10;         // further behind the pool's best than this: not fresh
  uint64_t first_cooldown_ms = 60'000;  // the first penalty's cooldown; doubles while it goes on
  uint64_t removal_cooldown_ms = 17ull * 3600 * 1000;  // a cooldown over this removes the node
  uint32_t request_weight = 90;                        // points split by requests served ...
  uint32_t liveness_weight = 10;                       // ... and by time in service, 90:10
  uint64_t points_per_period = 1'000'000;              // points shared out in one points period
  // An endpoint on the LB's own host (127.0.0.0/8, 0.0.0.0/8, ::1, ::, localhost) would send the
  // pool's traffic to whatever listens there on the LB, not to the node, and earn its reporter
  // the points: refused unless this is set, for tests and trials that run every node on one host.
  bool allow_loopback_endpoints = false;
};

// ValidateRules checks what no pool can work with: a malformed settings hash, zero capacity, zero
// durations, both weights zero, a removal threshold below the first cooldown. Fails with
// kInvalidArgument naming the setting.
[[nodiscard]] base::Status ValidateRules(const PoolRules& rules);

// IsValidNodeId: 1 to 64 characters of [A-Za-z0-9._-], so an ID is safe as an HAProxy server
// name, a metrics label and a database key.
bool IsValidNodeId(std::string_view node_id);

// Heartbeat is what an LB daemon reports for its node, already authenticated as `node_id`.
struct Heartbeat {
  std::string node_id;
  std::string settings_hash;
  uint64_t best_block = 0;
  uint64_t finalized_block = 0;
  std::string rpc_endpoint;  // "host:port" where the pool reaches the node's RPC
  uint32_t peers = 0;
  uint64_t memory_bytes = 0;
};

// HeartbeatVerdict is the closed set of answers to a heartbeat.
enum class HeartbeatVerdict {
  kAccepted,           // a member's heartbeat, or a new node that has joined
  kWrongSettingsHash,  // the node runs with other settings than the pool
  kNotWhitelisted,     // a whitelist is set and the node is not on it
  kPoolFull,           // a new node and the pool is at capacity
  kRemoved,            // the node was removed permanently
  kMalformed,          // see MalformedReason: bad node ID, hash or endpoint, finalized above best,
                       // an endpoint on the LB's own host or one another member reports
};
std::string_view HeartbeatVerdictName(HeartbeatVerdict verdict);

// MalformedReason is the closed set of reasons for kMalformed, for the refusal's event and the
// daemon's answer. The endpoint checks read it as HAProxy will: an IPv4 address in any form
// inet_aton takes ("127.1", "2130706433"), an IPv6 one with or without brackets, a host name
// in any case and with or without a trailing dot.
enum class MalformedReason {
  kNone,                // well formed
  kNodeId,              // not 1 to 64 of [A-Za-z0-9._-]
  kSettingsHash,        // not 64 lower-case hex digits
  kEndpoint,            // not HOST:PORT, a port 1 to 65535 and a host of [A-Za-z0-9.:[]-]
  kFinalizedAboveBest,  // finalized block above best block
  kLoopbackEndpoint,    // the LB's own host (PoolRules::allow_loopback_endpoints)
  kEndpointTaken,       // another member (not removed) reports the same endpoint
};
std::string_view MalformedReasonName(MalformedReason reason);

// NodeState is where a member stands.
enum class NodeState {
  kInService,  // receives traffic
  kCooldown,   // penalised: out of service until cooldown_until_ms, then re-checked
  kRemoved,    // removed permanently; its heartbeats are refused
};
std::string_view NodeStateName(NodeState state);

// Offence is why a node is penalised.
enum class Offence {
  kNone,
  kOffline,   // no heartbeat for longer than offline_after_ms
  kNotFresh,  // best or finalized more than max_lag_blocks behind the pool's
};
std::string_view OffenceName(Offence offence);

// PoolEventKind is the closed set of things the registry records.
enum class PoolEventKind {
  kJoined,     // a new node was admitted
  kRefused,    // a heartbeat was refused (verdict in `refusal`); repeats of one answer are not
  kPenalised,  // a penalty: first offence, or an offence still going on at a re-check
  kRestored,   // a re-check found the offence over: back in service
  kRemoved,    // the next cooldown would exceed removal_cooldown_ms: removed and un-whitelisted
};
std::string_view PoolEventKindName(PoolEventKind kind);

// PoolEvent is one recorded event; every penalty is one.
struct PoolEvent {
  uint64_t at_ms = 0;
  PoolEventKind kind = PoolEventKind::kJoined;
  std::string node_id;
  Offence offence = Offence::kNone;  // kPenalised, kRemoved
  uint64_t cooldown_ms = 0;          // kPenalised: the cooldown that starts now
  HeartbeatVerdict refusal = HeartbeatVerdict::kAccepted;  // kRefused
  MalformedReason malformed = MalformedReason::kNone;      // kRefused as kMalformed: why
  bool operator==(const PoolEvent&) const = default;
};

// NodeView is a member as the registry sees it.
struct NodeView {
  std::string node_id;
  NodeState state = NodeState::kInService;
  Heartbeat last;  // the last accepted heartbeat
  uint64_t last_heartbeat_ms = 0;
  uint64_t cooldown_ms = 0;               // the current (or last) cooldown; 0 after a restore
  uint64_t cooldown_until_ms = 0;         // kCooldown: when the re-check is due
  uint64_t penalties = 0;                 // penalties so far
  Offence offence = Offence::kNone;       // the offence of the current cooldown
  Offence last_offence = Offence::kNone;  // the offence of the last penalty, kept after a restore
  uint64_t period_requests = 0;           // requests served in the open points period
  uint64_t period_live_ms = 0;            // time in service in the open points period, so far
};

// NodePoints is one node's share of a closed points period.
struct NodePoints {
  std::string node_id;
  uint64_t requests = 0;
  uint64_t live_ms = 0;  // time in service during the period
  uint64_t points = 0;
  bool operator==(const NodePoints&) const = default;
};

// PointsPeriod is the result of ClosePeriod.
struct PointsPeriod {
  uint64_t start_ms = 0;
  uint64_t end_ms = 0;
  std::vector<NodePoints> nodes;  // by node ID; every member that served or was live
};

// NodeRegistry applies the rules to heartbeats and to the passing of time.
class NodeRegistry {
 public:
  // `rules` should have passed ValidateRules; `clock` must outlive the registry.
  NodeRegistry(PoolRules rules, slashing::Clock& clock);

  // OnHeartbeat admits or refuses `heartbeat` at the clock's time and records a kJoined or
  // kRefused event (a refusal of a well-formed node ID only when the answer changed). A member in
  // cooldown stays there (its report counts at the re-check). A refused heartbeat changes nothing
  // of a member: a member whose endpoint is refused keeps its last one and goes offline.
  HeartbeatVerdict OnHeartbeat(const Heartbeat& heartbeat);

  // CheckHeartbeat says what makes `heartbeat` kMalformed now (kNone: nothing), without
  // recording anything: the reason OnHeartbeat gave, unless the members changed in between.
  MalformedReason CheckHeartbeat(const Heartbeat& heartbeat) const;

  // Evaluate applies the rules at the clock's time: penalises members in service that are
  // offline or not fresh, re-checks members whose cooldown has ended (restore, double, or
  // remove). Call it often (every second); events carry the clock's time.
  void Evaluate();

  // RecordRequests adds `count` requests served by `node_id` to the open points period; an
  // unknown or removed node's requests are dropped (returns false).
  bool RecordRequests(std::string_view node_id, uint64_t count);

  // ClosePeriod shares out points_per_period for the period since the last close (or since the
  // registry was made): request_weight parts by requests served, liveness_weight parts by time in
  // service, each rounded down per node; a part with nothing to share (no requests, nobody live)
  // is not given out. Opens the next period.
  PointsPeriod ClosePeriod();

  // RestoreRemoved marks `node_id` removed, as an earlier run of the rules decided (the
  // controller replays its history at start): its heartbeats are refused and it leaves the
  // whitelist. Records no event (the removal was recorded when it happened). Returns false for an
  // invalid node ID.
  bool RestoreRemoved(std::string_view node_id);

  // TakeEvents returns the events recorded since the last call, oldest first.
  std::vector<PoolEvent> TakeEvents();

  // PoolBest and PoolFinalized are the highest best and finalized blocks among members with a
  // recent heartbeat (0 when there is none).
  uint64_t PoolBest() const;
  uint64_t PoolFinalized() const;

  std::optional<NodeView> Node(std::string_view node_id) const;
  std::vector<NodeView> Nodes() const;               // by node ID, removed ones included
  std::vector<std::string> InService() const;        // the IDs that should receive traffic
  const PoolRules& rules() const { return rules_; }  // whitelist minus removed nodes

 private:
  struct Member {
    NodeView view;
    uint64_t live_ms = 0;        // in service during the open points period
    uint64_t live_since_ms = 0;  // kInService: when accrual last ran
    uint64_t requests = 0;       // during the open points period
    std::string endpoint_key;    // its endpoint as HAProxy reads it: equal keys, one endpoint
  };

  // Refusal is the last answer a well-formed node ID was refused with.
  struct Refusal {
    HeartbeatVerdict verdict = HeartbeatVerdict::kAccepted;
    MalformedReason malformed = MalformedReason::kNone;
    bool operator==(const Refusal&) const = default;
  };

  // Admit decides on a well-formed heartbeat.
  HeartbeatVerdict Admit(const Heartbeat& heartbeat) const;
  // ViewOf is the member's view with the open points period's figures up to `now`.
  NodeView ViewOf(const Member& member, uint64_t now) const;
  Offence OffenceOf(const Member& member, uint64_t now, uint64_t pool_best,
                    uint64_t pool_finalized) const;
  void Accrue(Member& member, uint64_t now);
  void Penalise(Member& member, Offence offence, uint64_t cooldown_ms, uint64_t now);
  bool Recent(const Member& member, uint64_t now) const;
  void Record(PoolEvent event) { events_.push_back(std::move(event)); }

  PoolRules rules_;
  slashing::Clock& clock_;
  std::map<std::string, Member, std::less<>> members_;
  // The last refusal per (well-formed) node ID; the IDs are authenticated, so the map is bounded
  // by the identities the pool's CA has issued.
  std::map<std::string, Refusal, std::less<>> last_refusal_;
  uint64_t period_start_ms_;
  std::vector<PoolEvent> events_;
};

}  // namespace rpc_pool
