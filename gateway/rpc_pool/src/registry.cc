// The pool's rules: admission, penalties with doubling cooldowns, removal, and points.
#include "rpc_pool/registry.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include "rpc_pool/settings_hash.h"

namespace rpc_pool {
namespace {

using base::Status;

// MulDiv is a * b / c rounded down, exact for any 64-bit inputs (c > 0).
uint64_t MulDiv(uint64_t a, uint64_t b, uint64_t c) {
  __extension__ using Wide = unsigned __int128;
  return static_cast<uint64_t>(static_cast<Wide>(a) * b / c);
}

bool IsValidEndpoint(std::string_view endpoint) {
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == endpoint.size() ||
      endpoint.size() > 255) {
    return false;
  }
  const std::string_view port = endpoint.substr(colon + 1);
  if (port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const unsigned long number = std::stoul(std::string(port));
  if (number == 0 || number > 65535) return false;
  // A host name or an IPv4/[IPv6] address: nothing that could break an HAProxy command line.
  const std::string_view host = endpoint.substr(0, colon);
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '[' || c == ']' || c == ':';
  });
}

// EndpointHost is a valid endpoint's host as HAProxy reads it, for comparing endpoints and
// finding the LB's own host.
struct EndpointHost {
  // An address in inet_ntop's text (IPv6 in brackets, IPv4-mapped as IPv4), or the name in lower
  // case without a final dot.
  std::string key;
  // 127.0.0.0/8, 0.0.0.0/8, ::1, ::, those mapped into IPv6, or localhost and names under it.
  bool loopback = false;
};

// IsOwnHostIpv4 is 127.0.0.0/8 (loopback) or 0.0.0.0/8 (this host; a connection to 0.0.0.0
// reaches the local host). `address` is in host byte order.
bool IsOwnHostIpv4(uint32_t address) {
  const uint32_t first = address >> 24;
  return first == 127 || first == 0;
}

// HostOf reads the host of an endpoint that passed IsValidEndpoint.
EndpointHost HostOf(std::string_view endpoint) {
  std::string host(endpoint.substr(0, endpoint.rfind(':')));
  // HAProxy takes an address in brackets whether it is IPv6 or IPv4 ("[1.2.3.4]:1").
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    bool own_host = IN6_IS_ADDR_LOOPBACK(&v6) || IN6_IS_ADDR_UNSPECIFIED(&v6);
    if (IN6_IS_ADDR_V4MAPPED(&v6) || IN6_IS_ADDR_V4COMPAT(&v6)) {
      const uint32_t v4 = (uint32_t{v6.s6_addr[12]} << 24) | (uint32_t{v6.s6_addr[13]} << 16) |
                          (uint32_t{v6.s6_addr[14]} << 8) | v6.s6_addr[15];
      own_host = own_host || IsOwnHostIpv4(v4);
      if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        // A connection to ::ffff:a.b.c.d is one to a.b.c.d: the same endpoint.
        in_addr mapped{};
        mapped.s_addr = htonl(v4);
        char text[INET_ADDRSTRLEN] = {};
        ::inet_ntop(AF_INET, &mapped, text, sizeof text);
        return {.key = text, .loopback = own_host};
      }
    }
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET6, &v6, text, sizeof text);
    return {.key = std::string("[") + text + "]", .loopback = own_host};
  }
  // inet_aton, not inet_pton: the resolver HAProxy ends up in reads "127.1", "2130706433" and
  // "0x7f.1" as 127.0.0.1 too.
  in_addr v4{};
  if (::inet_aton(host.c_str(), &v4) != 0) {
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &v4, text, sizeof text);
    return {.key = text, .loopback = IsOwnHostIpv4(ntohl(v4.s_addr))};
  }
  std::transform(host.begin(), host.end(), host.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  while (!host.empty() && host.back() == '.') host.pop_back();
  // RFC 6761: localhost and every name under it are the local host.
  const bool local = host == "localhost" || host.ends_with(".localhost");
  return {.key = host, .loopback = local};
}

// EndpointKey is a valid endpoint as HAProxy reads it: two endpoints with one key are one.
std::string EndpointKey(std::string_view endpoint) {
  const std::string_view port = endpoint.substr(endpoint.rfind(':') + 1);
  return HostOf(endpoint).key + ":" + std::to_string(std::stoul(std::string(port)));
}

}  // namespace

Status ValidateRules(const PoolRules& rules) {
  if (!IsSettingsHash(rules.settings_hash)) {
    return Status::InvalidArgument("settings_hash must be 64 lower-case hex digits");
  }
  if (rules.capacity == 0) return Status::InvalidArgument("capacity must be at least 1");
  for (const std::string& id : rules.whitelist) {
    if (!IsValidNodeId(id)) return Status::InvalidArgument("whitelist holds a bad node ID");
  }
  if (rules.offline_after_ms == 0) return Status::InvalidArgument("offline_after must be > 0");
  if (rules.first_cooldown_ms == 0) return Status::InvalidArgument("first_cooldown must be > 0");
  if (rules.removal_cooldown_ms < rules.first_cooldown_ms) {
    return Status::InvalidArgument("removal_cooldown must not be below first_cooldown");
  }
  if (rules.request_weight == 0 && rules.liveness_weight == 0) {
    return Status::InvalidArgument("request_weight and liveness_weight cannot both be 0");
  }
  if (rules.points_per_period == 0) return Status::InvalidArgument("points_per_period must be > 0");
  return Status::Ok();
}

bool IsValidNodeId(std::string_view node_id) {
  return !node_id.empty() && node_id.size() <= 64 &&
         std::all_of(node_id.begin(), node_id.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
         });
}

std::string_view HeartbeatVerdictName(HeartbeatVerdict verdict) {
  switch (verdict) {
    case HeartbeatVerdict::kAccepted:
      return "accepted";
    case HeartbeatVerdict::kWrongSettingsHash:
      return "wrong_settings_hash";
    case HeartbeatVerdict::kNotWhitelisted:
      return "not_whitelisted";
    case HeartbeatVerdict::kPoolFull:
      return "pool_full";
    case HeartbeatVerdict::kRemoved:
      return "removed";
    case HeartbeatVerdict::kMalformed:
      return "malformed";
  }
  return "unknown";
}

std::string_view MalformedReasonName(MalformedReason reason) {
  switch (reason) {
    case MalformedReason::kNone:
      return "none";
    case MalformedReason::kNodeId:
      return "node_id";
    case MalformedReason::kSettingsHash:
      return "settings_hash";
    case MalformedReason::kEndpoint:
      return "endpoint";
    case MalformedReason::kFinalizedAboveBest:
      return "finalized_above_best";
    case MalformedReason::kLoopbackEndpoint:
      return "loopback_endpoint";
    case MalformedReason::kEndpointTaken:
      return "endpoint_taken";
  }
  return "unknown";
}

std::string_view NodeStateName(NodeState state) {
  switch (state) {
    case NodeState::kInService:
      return "in_service";
    case NodeState::kCooldown:
      return "cooldown";
    case NodeState::kRemoved:
      return "removed";
  }
  return "unknown";
}

std::string_view OffenceName(Offence offence) {
  switch (offence) {
    case Offence::kNone:
      return "none";
    case Offence::kOffline:
      return "offline";
    case Offence::kNotFresh:
      return "not_fresh";
  }
  return "unknown";
}

std::string_view PoolEventKindName(PoolEventKind kind) {
  switch (kind) {
    case PoolEventKind::kJoined:
      return "joined";
    case PoolEventKind::kRefused:
      return "refused";
    case PoolEventKind::kPenalised:
      return "penalised";
    case PoolEventKind::kRestored:
      return "restored";
    case PoolEventKind::kRemoved:
      return "removed";
  }
  return "unknown";
}

NodeRegistry::NodeRegistry(PoolRules rules, slashing::Clock& clock)
    : rules_(std::move(rules)), clock_(clock), period_start_ms_(clock.NowUnixMs()) {}

MalformedReason NodeRegistry::CheckHeartbeat(const Heartbeat& heartbeat) const {
  if (!IsValidNodeId(heartbeat.node_id)) return MalformedReason::kNodeId;
  if (!IsSettingsHash(heartbeat.settings_hash)) return MalformedReason::kSettingsHash;
  if (!IsValidEndpoint(heartbeat.rpc_endpoint)) return MalformedReason::kEndpoint;
  if (heartbeat.finalized_block > heartbeat.best_block) {
    return MalformedReason::kFinalizedAboveBest;
  }
  if (!rules_.allow_loopback_endpoints && HostOf(heartbeat.rpc_endpoint).loopback) {
    return MalformedReason::kLoopbackEndpoint;
  }
  // One endpoint, one member: a member reporting another's endpoint would have HAProxy send it
  // traffic the other serves, and be paid for it. The first to report it keeps it while it is a
  // member (in cooldown too: its server is still there).
  const std::string key = EndpointKey(heartbeat.rpc_endpoint);
  for (const auto& [id, member] : members_) {
    if (id != heartbeat.node_id && member.view.state != NodeState::kRemoved &&
        member.endpoint_key == key) {
      return MalformedReason::kEndpointTaken;
    }
  }
  return MalformedReason::kNone;
}

HeartbeatVerdict NodeRegistry::Admit(const Heartbeat& heartbeat) const {
  const auto found = members_.find(heartbeat.node_id);
  if (found != members_.end() && found->second.view.state == NodeState::kRemoved) {
    return HeartbeatVerdict::kRemoved;
  }
  // The hash is checked on every heartbeat, not only on joining: a member restarted with other
  // settings stops being heard and goes offline.
  if (heartbeat.settings_hash != rules_.settings_hash) return HeartbeatVerdict::kWrongSettingsHash;
  if (found != members_.end()) return HeartbeatVerdict::kAccepted;
  if (!rules_.whitelist.empty() && !rules_.whitelist.contains(heartbeat.node_id)) {
    return HeartbeatVerdict::kNotWhitelisted;
  }
  const auto members = std::count_if(members_.begin(), members_.end(), [](const auto& entry) {
    return entry.second.view.state != NodeState::kRemoved;
  });
  if (static_cast<uint64_t>(members) >= rules_.capacity) return HeartbeatVerdict::kPoolFull;
  return HeartbeatVerdict::kAccepted;
}

HeartbeatVerdict NodeRegistry::OnHeartbeat(const Heartbeat& heartbeat) {
  const uint64_t now = clock_.NowUnixMs();
  const MalformedReason malformed = CheckHeartbeat(heartbeat);
  const HeartbeatVerdict verdict =
      malformed == MalformedReason::kNone ? Admit(heartbeat) : HeartbeatVerdict::kMalformed;
  if (malformed == MalformedReason::kNodeId) {
    // Not keyed by the node ID, which could be anything of any length.
    Record({.at_ms = now,
            .kind = PoolEventKind::kRefused,
            .node_id = "",
            .refusal = verdict,
            .malformed = malformed});
    return verdict;
  }
  if (verdict != HeartbeatVerdict::kAccepted) {
    // A daemon repeats its heartbeat every few seconds: only a change of answer is an event.
    const Refusal refusal{.verdict = verdict, .malformed = malformed};
    auto [last, inserted] = last_refusal_.try_emplace(heartbeat.node_id, refusal);
    if (inserted || last->second != refusal) {
      last->second = refusal;
      Record({.at_ms = now,
              .kind = PoolEventKind::kRefused,
              .node_id = heartbeat.node_id,
              .refusal = verdict,
              .malformed = malformed});
    }
    return verdict;
  }
  last_refusal_.erase(heartbeat.node_id);
  auto [entry, inserted] = members_.try_emplace(heartbeat.node_id);
  Member& member = entry->second;
  if (inserted) {
    member.view.node_id = heartbeat.node_id;
    member.view.state = NodeState::kInService;
    member.live_since_ms = now;
    Record({.at_ms = now, .kind = PoolEventKind::kJoined, .node_id = heartbeat.node_id});
  }
  member.view.last = heartbeat;
  member.view.last_heartbeat_ms = now;
  member.endpoint_key = EndpointKey(heartbeat.rpc_endpoint);
  return verdict;
}

bool NodeRegistry::Recent(const Member& member, uint64_t now) const {
  return now - member.view.last_heartbeat_ms <= rules_.offline_after_ms;
}

uint64_t NodeRegistry::PoolBest() const {
  const uint64_t now = clock_.NowUnixMs();
  uint64_t best = 0;
  for (const auto& [id, member] : members_) {
    if (member.view.state != NodeState::kRemoved && Recent(member, now)) {
      best = std::max(best, member.view.last.best_block);
    }
  }
  return best;
}

uint64_t NodeRegistry::PoolFinalized() const {
  const uint64_t now = clock_.NowUnixMs();
  uint64_t finalized = 0;
  for (const auto& [id, member] : members_) {
    if (member.view.state != NodeState::kRemoved && Recent(member, now)) {
      finalized = std::max(finalized, member.view.last.finalized_block);
    }
  }
  return finalized;
}

Offence NodeRegistry::OffenceOf(const Member& member, uint64_t now, uint64_t pool_best,
                                uint64_t pool_finalized) const {
  if (!Recent(member, now)) return Offence::kOffline;
  // Best against the pool's best and finalized against the pool's finalized: a finality stall
  // across the whole network then penalises nobody, while one node stuck on either is caught.
  if (pool_best - member.view.last.best_block > rules_.max_lag_blocks ||
      pool_finalized - member.view.last.finalized_block > rules_.max_lag_blocks) {
    return Offence::kNotFresh;
  }
  return Offence::kNone;
}

void NodeRegistry::Accrue(Member& member, uint64_t now) {
  if (member.view.state == NodeState::kInService) {
    member.live_ms += now - member.live_since_ms;
  }
  member.live_since_ms = now;
}

void NodeRegistry::Penalise(Member& member, Offence offence, uint64_t cooldown_ms, uint64_t now) {
  Accrue(member, now);
  member.view.state = NodeState::kCooldown;
  member.view.offence = offence;
  member.view.last_offence = offence;
  member.view.cooldown_ms = cooldown_ms;
  member.view.cooldown_until_ms = now + cooldown_ms;
  ++member.view.penalties;
  Record({.at_ms = now,
          .kind = PoolEventKind::kPenalised,
          .node_id = member.view.node_id,
          .offence = offence,
          .cooldown_ms = cooldown_ms});
}

void NodeRegistry::Evaluate() {
  const uint64_t now = clock_.NowUnixMs();
  const uint64_t pool_best = PoolBest();
  const uint64_t pool_finalized = PoolFinalized();
  for (auto& [id, member] : members_) {
    NodeView& view = member.view;
    if (view.state == NodeState::kInService) {
      const Offence offence = OffenceOf(member, now, pool_best, pool_finalized);
      if (offence != Offence::kNone) Penalise(member, offence, rules_.first_cooldown_ms, now);
      continue;
    }
    if (view.state != NodeState::kCooldown || now < view.cooldown_until_ms) continue;
    const Offence offence = OffenceOf(member, now, pool_best, pool_finalized);
    if (offence == Offence::kNone) {
      Accrue(member, now);
      view.state = NodeState::kInService;
      view.offence = Offence::kNone;
      view.cooldown_ms = 0;
      view.cooldown_until_ms = 0;
      Record({.at_ms = now, .kind = PoolEventKind::kRestored, .node_id = id});
      continue;
    }
    const uint64_t next_cooldown = view.cooldown_ms * 2;
    if (next_cooldown > rules_.removal_cooldown_ms) {
      view.state = NodeState::kRemoved;
      view.offence = offence;
      view.cooldown_until_ms = 0;
      rules_.whitelist.erase(id);
      Record({.at_ms = now,
              .kind = PoolEventKind::kRemoved,
              .node_id = id,
              .offence = offence,
              .cooldown_ms = next_cooldown});
      continue;
    }
    Penalise(member, offence, next_cooldown, now);
  }
}

bool NodeRegistry::RecordRequests(std::string_view node_id, uint64_t count) {
  const auto found = members_.find(node_id);
  if (found == members_.end() || found->second.view.state == NodeState::kRemoved) return false;
  found->second.requests += count;
  return true;
}

PointsPeriod NodeRegistry::ClosePeriod() {
  const uint64_t now = clock_.NowUnixMs();
  PointsPeriod period{.start_ms = period_start_ms_, .end_ms = now, .nodes = {}};
  uint64_t total_requests = 0;
  uint64_t total_live_ms = 0;
  for (auto& [id, member] : members_) {
    Accrue(member, now);
    total_requests += member.requests;
    total_live_ms += member.live_ms;
  }
  const uint64_t weights = uint64_t{rules_.request_weight} + rules_.liveness_weight;
  const uint64_t request_pot = MulDiv(rules_.points_per_period, rules_.request_weight, weights);
  const uint64_t liveness_pot = rules_.points_per_period - request_pot;
  for (auto& [id, member] : members_) {
    if (member.requests == 0 && member.live_ms == 0) continue;
    uint64_t points = 0;
    if (total_requests > 0) points += MulDiv(request_pot, member.requests, total_requests);
    if (total_live_ms > 0) points += MulDiv(liveness_pot, member.live_ms, total_live_ms);
    period.nodes.push_back(
        {.node_id = id, .requests = member.requests, .live_ms = member.live_ms, .points = points});
    member.requests = 0;
    member.live_ms = 0;
  }
  period_start_ms_ = now;
  return period;
}

bool NodeRegistry::RestoreRemoved(std::string_view node_id) {
  if (!IsValidNodeId(node_id)) return false;
  auto [entry, inserted] = members_.try_emplace(std::string(node_id));
  Member& member = entry->second;
  if (inserted) member.view.node_id = std::string(node_id);
  Accrue(member, clock_.NowUnixMs());
  member.view.state = NodeState::kRemoved;
  member.view.cooldown_until_ms = 0;
  rules_.whitelist.erase(member.view.node_id);
  return true;
}

std::vector<PoolEvent> NodeRegistry::TakeEvents() { return std::exchange(events_, {}); }

NodeView NodeRegistry::ViewOf(const Member& member, uint64_t now) const {
  NodeView view = member.view;
  view.period_requests = member.requests;
  // Accrual runs at state changes and period ends; a member in service has earned up to now.
  view.period_live_ms = member.live_ms;
  if (view.state == NodeState::kInService && now > member.live_since_ms) {
    view.period_live_ms += now - member.live_since_ms;
  }
  return view;
}

std::optional<NodeView> NodeRegistry::Node(std::string_view node_id) const {
  const auto found = members_.find(node_id);
  if (found == members_.end()) return std::nullopt;
  return ViewOf(found->second, clock_.NowUnixMs());
}

std::vector<NodeView> NodeRegistry::Nodes() const {
  const uint64_t now = clock_.NowUnixMs();
  std::vector<NodeView> nodes;
  nodes.reserve(members_.size());
  for (const auto& [id, member] : members_) nodes.push_back(ViewOf(member, now));
  return nodes;
}

std::vector<std::string> NodeRegistry::InService() const {
  std::vector<std::string> ids;
  for (const auto& [id, member] : members_) {
    if (member.view.state == NodeState::kInService) ids.push_back(id);
  }
  return ids;
}

}  // namespace rpc_pool
