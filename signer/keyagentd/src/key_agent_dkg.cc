// KeyAgent's side of distributed key generation: sessions, the round-one view hash, share delivery.
#include <algorithm>
#include <set>
#include <utility>

#include "base/hash.h"
#include "base/hex.h"
#include "key_agent_internal.h"
#include "keyagentd/key_agent.h"

namespace signer {

using agent_internal::FromStatus;
using base::KeyTypeId;
using keymgr::KeyId;
namespace frost = keymgr::frost;

namespace {

// The view hash input starts with this tag, so the hash cannot be mistaken for any other in the
// system.
constexpr std::string_view kViewHashTag = "keyagent-dkg-round1-view-v1";
// A participant name is a certificate identity (tls::kMaxIdentityLength).
constexpr size_t kMaxParticipantName = 256;

void AppendLittleEndian(std::vector<uint8_t>& out, uint64_t value, size_t width) {
  for (size_t i = 0; i < width; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

void AppendBytes(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

// RoundOneViewHash is what two agents compare before one accepts the other's share: everything the
// coordinator told this agent about the run (session, key type, t, the participants' names) and
// every round-one package, in identifier order. Two agents with the same hash were shown the same
// packages, so the group key and verifying shares they derive are the same: this is the broadcast
// channel the Pedersen DKG assumes, built from the agents' pairwise mTLS channels.
base::Hash256 RoundOneViewHash(std::span<const uint8_t> session_id, const KeyTypeId& key_type,
                               uint16_t min_signers, const std::vector<std::string>& names,
                               std::span<const std::vector<uint8_t>> encoded_packages) {
  std::vector<uint8_t> input(kViewHashTag.begin(), kViewHashTag.end());
  AppendBytes(input, session_id);
  AppendBytes(input, key_type);
  AppendLittleEndian(input, min_signers, 2);
  AppendLittleEndian(input, names.size(), 2);
  for (const std::string& name : names) {
    AppendLittleEndian(input, name.size(), 2);
    AppendBytes(input, {reinterpret_cast<const uint8_t*>(name.data()), name.size()});
  }
  for (const std::vector<uint8_t>& package : encoded_packages) {
    AppendLittleEndian(input, package.size(), 4);
    AppendBytes(input, package);
  }
  return base::Blake2b256(input);
}

std::string SessionPrefix(std::span<const uint8_t> session_id) {
  return "dkg session " + base::HexEncode(session_id) + ": ";
}

}  // namespace

void KeyAgent::DropExpiredDkgSessions(std::chrono::steady_clock::time_point now) {
  std::erase_if(dkg_sessions_, [&](const auto& entry) { return entry.second->expires <= now; });
}

Reply<std::vector<uint8_t>> KeyAgent::DkgRound1(const CallContext& context,
                                                const DkgOpenInput& input) {
  using Package = std::vector<uint8_t>;
  Trace trace(policy_.load(std::memory_order_acquire), context, Operation::kGenerate,
              std::string(input.key_type), "", true);
  if (input.session_id.size() != std::tuple_size_v<DkgSessionId>) {
    return Finish<Package>(trace, ReplyCode::kInvalidArgument, "session_id must be 16 bytes");
  }
  trace.reason_prefix = SessionPrefix(input.session_id);
  const std::optional<KeyTypeId> key_type = ParseKeyType(input.key_type);
  if (!key_type) {
    return Finish<Package>(trace, ReplyCode::kInvalidArgument, "key_type must be 4 characters");
  }
  if (!trace.policy->Allows(context.identity, Operation::kGenerate, *key_type)) {
    return Finish<Package>(trace, ReplyCode::kPermissionDenied,
                           "generate not granted for this key type");
  }
  base::Result<frost::Suite> suite = keymgr::ThresholdSuiteForKeyType(*key_type);
  if (!suite.ok()) {
    return Finish<Package>(trace, ReplyCode::kInvalidArgument, suite.status().message());
  }
  if (deps_.peers == nullptr) {
    return Finish<Package>(trace, ReplyCode::kRefused, "no peers configured");
  }
  const size_t count = input.participants.size();
  if (count > frost::kMaxParticipants || input.min_signers > frost::kMaxParticipants) {
    return Finish<Package>(trace, ReplyCode::kInvalidArgument, "too many participants");
  }
  const auto max_signers = static_cast<uint16_t>(count);
  const auto min_signers = static_cast<uint16_t>(input.min_signers);
  if (base::Status safe = keymgr::CheckThresholdSafety(min_signers, max_signers); !safe.ok()) {
    return Finish<Package>(trace, ReplyCode::kInvalidArgument, safe.message());
  }
  // Identifiers exactly 1..n and names unique: a name listed twice would hold two shares.
  std::vector<std::string> names(count);
  std::set<std::string_view> seen_names;
  for (const DkgParticipant& participant : input.participants) {
    if (participant.identifier < 1 || participant.identifier > count) {
      return Finish<Package>(trace, ReplyCode::kInvalidArgument,
                             "participant identifiers must be 1.." + std::to_string(count));
    }
    if (participant.name.empty() || participant.name.size() > kMaxParticipantName) {
      return Finish<Package>(
          trace, ReplyCode::kInvalidArgument,
          "participant names must be 1.." + std::to_string(kMaxParticipantName) + " characters");
    }
    std::string& slot = names[participant.identifier - 1];
    if (!slot.empty()) {
      return Finish<Package>(
          trace, ReplyCode::kInvalidArgument,
          "identifier " + std::to_string(participant.identifier) + " is listed twice");
    }
    if (!seen_names.insert(participant.name).second) {
      return Finish<Package>(trace, ReplyCode::kInvalidArgument,
                             participant.name + " is listed twice");
    }
    slot = participant.name;
  }
  const auto own = std::find(names.begin(), names.end(), options_.name);
  if (own == names.end()) {
    return Finish<Package>(trace, ReplyCode::kInvalidArgument,
                           "this agent (" + options_.name + ") is not a participant");
  }
  for (const std::string& name : names) {
    if (name != options_.name && !deps_.peers->Knows(name)) {
      return Finish<Package>(trace, ReplyCode::kRefused,
                             "participant " + name + " is not one of this agent's peers");
    }
  }
  base::Result<frost::Identifier> self =
      frost::Identifier::Create(static_cast<uint32_t>(own - names.begin() + 1));
  if (!self.ok()) {
    return Finish<Package>(trace, ReplyCode::kInternal, self.status().message());
  }
  base::Result<frost::DkgRound1Output> round =
      frost::DkgRound1(*suite, *self, min_signers, max_signers);
  if (!round.ok()) {
    return Finish<Package>(trace, ReplyCode::kInternal, "round one: " + round.status().message());
  }
  auto session = std::make_unique<DkgSession>();
  session->owner = context.identity;
  session->key_type = *key_type;
  session->suite = *suite;
  session->min_signers = min_signers;
  session->names = std::move(names);
  session->self = *self;
  session->own_package = round->package.Encode();
  session->secret = std::move(round->secret);
  Package package = session->own_package;
  {
    base::MutexLock lock(dkg_mutex_);
    const auto now = std::chrono::steady_clock::now();
    DropExpiredDkgSessions(now);
    DkgSessionId id{};
    std::copy(input.session_id.begin(), input.session_id.end(), id.begin());
    if (dkg_sessions_.contains(id)) {
      return Finish<Package>(trace, ReplyCode::kInvalidArgument, "the session is already open");
    }
    if (dkg_sessions_.size() >= options_.max_dkg_sessions) {
      return Finish<Package>(trace, ReplyCode::kResourceExhausted,
                             "too many DKG sessions are open");
    }
    session->expires = now + options_.dkg_session_lifetime;
    dkg_sessions_.emplace(id, std::move(session));
  }
  return Finish<Package>(
      trace, ReplyCode::kOk,
      "participant " + std::to_string(self->value()) + " of " + std::to_string(max_signers),
      std::move(package));
}

Reply<bool> KeyAgent::DkgRound2(const CallContext& context, std::span<const uint8_t> session_id,
                                std::span<const std::span<const uint8_t>> round1_packages) {
  Trace trace(policy_.load(std::memory_order_acquire), context, Operation::kGenerate, "", "", true);
  if (session_id.size() != std::tuple_size_v<DkgSessionId>) {
    return Finish<bool>(trace, ReplyCode::kInvalidArgument, "session_id must be 16 bytes");
  }
  trace.reason_prefix = SessionPrefix(session_id);
  DkgSessionId id{};
  std::copy(session_id.begin(), session_id.end(), id.begin());
  // drop_session ends the run here: a failed step must leave no secret behind.
  auto drop_session = [&] {
    base::MutexLock lock(dkg_mutex_);
    dkg_sessions_.erase(id);
  };

  // What the later steps need, copied out so that no lock is held while decoding or delivering.
  KeyTypeId key_type{};
  frost::Suite suite{};
  uint16_t min_signers = 0;
  std::vector<std::string> names;
  frost::Identifier self;
  std::vector<uint8_t> own_package;
  {
    base::MutexLock lock(dkg_mutex_);
    DropExpiredDkgSessions(std::chrono::steady_clock::now());
    auto it = dkg_sessions_.find(id);
    if (it == dkg_sessions_.end()) {
      return Finish<bool>(trace, ReplyCode::kPairNotFound, "no such session");
    }
    DkgSession& session = *it->second;
    trace.key_type = base::KeyTypeName(session.key_type);
    if (!trace.policy->Allows(context.identity, Operation::kGenerate, session.key_type) ||
        context.identity != session.owner) {
      return Finish<bool>(trace, ReplyCode::kPermissionDenied,
                          "the session was opened by another identity");
    }
    if (session.stage != DkgSession::Stage::kOpened) {
      return Finish<bool>(trace, ReplyCode::kRefused, "round two already ran");
    }
    key_type = session.key_type;
    suite = session.suite;
    min_signers = session.min_signers;
    names = session.names;
    self = session.self;
    own_package = session.own_package;
  }

  // Every participant's package once, this agent's own exactly as it made it.
  const size_t count = names.size();
  if (round1_packages.size() != count) {
    drop_session();
    return Finish<bool>(trace, ReplyCode::kInvalidArgument,
                        "expected " + std::to_string(count) + " round-one packages");
  }
  std::vector<std::optional<frost::DkgRound1Package>> by_identifier(count);
  for (std::span<const uint8_t> bytes : round1_packages) {
    base::Result<frost::DkgRound1Package> package = frost::DkgRound1Package::Decode(suite, bytes);
    if (!package.ok()) {
      drop_session();
      return Finish<bool>(trace, ReplyCode::kInvalidArgument,
                          "round-one package: " + package.status().message());
    }
    const uint16_t identifier = package->identifier.value();
    if (identifier > count || by_identifier[identifier - 1].has_value()) {
      drop_session();
      return Finish<bool>(
          trace, ReplyCode::kInvalidArgument,
          "round-one packages must be one per participant 1.." + std::to_string(count));
    }
    by_identifier[identifier - 1] = std::move(package).value();
  }
  std::vector<std::vector<uint8_t>> encoded;
  std::vector<frost::DkgRound1Package> peer_packages;
  for (std::optional<frost::DkgRound1Package>& package : by_identifier) {
    encoded.push_back(package->Encode());
    if (package->identifier == self) {
      if (encoded.back() != own_package) {
        drop_session();
        return Finish<bool>(trace, ReplyCode::kInvalidArgument,
                            "this agent's own round-one package was altered");
      }
    } else {
      peer_packages.push_back(std::move(*package));
    }
  }
  const base::Hash256 view_hash =
      RoundOneViewHash(session_id, key_type, min_signers, names, encoded);

  // Fix the view; shares that arrived before it must have been sent under the same view.
  frost::DkgSecret secret;
  {
    base::MutexLock lock(dkg_mutex_);
    auto it = dkg_sessions_.find(id);
    if (it == dkg_sessions_.end() || it->second->stage != DkgSession::Stage::kOpened) {
      return Finish<bool>(trace, ReplyCode::kPairNotFound, "the session ended meanwhile");
    }
    DkgSession& session = *it->second;
    for (const auto& [sender, received] : session.received) {
      if (received.view_hash != view_hash) {
        const std::string sender_name = session.names[sender - 1];
        dkg_sessions_.erase(it);
        return Finish<bool>(trace, ReplyCode::kRefused,
                            sender_name +
                                " was shown other round-one packages than this agent "
                                "(round-one view hashes differ)");
      }
    }
    session.view_hash = view_hash;
    session.peer_packages = peer_packages;
    session.stage = DkgSession::Stage::kDelivering;
    secret = std::move(session.secret);
  }

  base::Result<frost::DkgRound2Output> round = frost::DkgRound2(std::move(secret), peer_packages);
  if (!round.ok()) {
    drop_session();
    return Finish<bool>(trace, ReplyCode::kInvalidArgument,
                        "round two: " + round.status().message());
  }
  // The shares go to the peers directly; the coordinator that called this never sees them.
  for (const frost::DkgShare& share : round->shares) {
    const std::string& peer = names[share.recipient.value() - 1];
    const base::SecretBytes encoded_share = share.Encode();
    base::Status delivered =
        deps_.peers->Deliver(peer, DkgDelivery{session_id, encoded_share.span(), view_hash});
    if (!delivered.ok()) {
      drop_session();
      return Finish<bool>(trace,
                          delivered.code() == base::StatusCode::kUnavailable
                              ? ReplyCode::kUnavailable
                              : ReplyCode::kRefused,
                          "delivery to " + peer + ": " + delivered.message());
    }
  }
  {
    base::MutexLock lock(dkg_mutex_);
    auto it = dkg_sessions_.find(id);
    if (it == dkg_sessions_.end() || it->second->stage != DkgSession::Stage::kDelivering) {
      return Finish<bool>(trace, ReplyCode::kPairNotFound, "the session ended meanwhile");
    }
    it->second->secret = std::move(round->secret);
    it->second->stage = DkgSession::Stage::kDelivered;
  }
  return Finish<bool>(trace, ReplyCode::kOk,
                      "delivered " + std::to_string(round->shares.size()) + " shares", true);
}

Reply<bool> KeyAgent::DkgDeliver(const CallContext& context, std::span<const uint8_t> session_id,
                                 std::span<const uint8_t> share_bytes,
                                 std::span<const uint8_t> view_hash) {
  Trace trace(policy_.load(std::memory_order_acquire), context, Operation::kGenerate, "", "", true);
  if (session_id.size() != std::tuple_size_v<DkgSessionId>) {
    return Finish<bool>(trace, ReplyCode::kInvalidArgument, "session_id must be 16 bytes");
  }
  trace.reason_prefix = SessionPrefix(session_id);
  if (view_hash.size() != std::tuple_size_v<base::Hash256>) {
    return Finish<bool>(trace, ReplyCode::kInvalidArgument, "round1_view_hash must be 32 bytes");
  }
  base::Result<frost::DkgShare> share = frost::DkgShare::Decode(share_bytes);
  if (!share.ok()) {
    return Finish<bool>(trace, ReplyCode::kInvalidArgument, "share: " + share.status().message());
  }
  base::Hash256 claimed_view{};
  std::copy(view_hash.begin(), view_hash.end(), claimed_view.begin());
  DkgSessionId id{};
  std::copy(session_id.begin(), session_id.end(), id.begin());

  base::MutexLock lock(dkg_mutex_);
  DropExpiredDkgSessions(std::chrono::steady_clock::now());
  auto it = dkg_sessions_.find(id);
  if (it == dkg_sessions_.end()) {
    return Finish<bool>(trace, ReplyCode::kPairNotFound, "no such session");
  }
  DkgSession& session = *it->second;
  trace.key_type = base::KeyTypeName(session.key_type);
  if (!trace.policy->Allows(context.identity, Operation::kGenerate, session.key_type)) {
    return Finish<bool>(trace, ReplyCode::kPermissionDenied,
                        "generate not granted for this key type");
  }
  // Only the sender itself may deliver its share: its certificate identity is its name.
  const uint16_t sender = share->sender.value();
  if (sender > session.names.size() || session.names[sender - 1] != context.identity) {
    return Finish<bool>(trace, ReplyCode::kPermissionDenied,
                        "the caller is not participant " + std::to_string(sender));
  }
  if (share->recipient != session.self || share->sender == session.self) {
    return Finish<bool>(trace, ReplyCode::kInvalidArgument, "the share is not for this agent");
  }
  if (session.received.contains(sender)) {
    return Finish<bool>(trace, ReplyCode::kInvalidArgument,
                        "participant " + std::to_string(sender) + " already delivered its share");
  }
  if (session.stage != DkgSession::Stage::kOpened && session.view_hash != claimed_view) {
    // The coordinator showed the two agents different round-one packages: the run is void.
    dkg_sessions_.erase(it);
    return Finish<bool>(trace, ReplyCode::kRefused,
                        "round-one view hashes differ: the coordinator showed " + context.identity +
                            " other round-one packages than this agent");
  }
  session.received.emplace(sender,
                           DkgSession::ReceivedShare{std::move(share).value(), claimed_view});
  return Finish<bool>(trace, ReplyCode::kOk, "share from participant " + std::to_string(sender),
                      true);
}

Reply<std::vector<uint8_t>> KeyAgent::DkgFinalize(const CallContext& context,
                                                  std::span<const uint8_t> session_id) {
  using Package = std::vector<uint8_t>;
  Trace trace(policy_.load(std::memory_order_acquire), context, Operation::kGenerate, "", "", true);
  if (session_id.size() != std::tuple_size_v<DkgSessionId>) {
    return Finish<Package>(trace, ReplyCode::kInvalidArgument, "session_id must be 16 bytes");
  }
  trace.reason_prefix = SessionPrefix(session_id);
  DkgSessionId id{};
  std::copy(session_id.begin(), session_id.end(), id.begin());

  // The session leaves the table here whatever happens next: finished or failed, it is over.
  std::unique_ptr<DkgSession> session;
  {
    base::MutexLock lock(dkg_mutex_);
    DropExpiredDkgSessions(std::chrono::steady_clock::now());
    auto it = dkg_sessions_.find(id);
    if (it == dkg_sessions_.end()) {
      return Finish<Package>(trace, ReplyCode::kPairNotFound, "no such session");
    }
    trace.key_type = base::KeyTypeName(it->second->key_type);
    if (!trace.policy->Allows(context.identity, Operation::kGenerate, it->second->key_type) ||
        context.identity != it->second->owner) {
      return Finish<Package>(trace, ReplyCode::kPermissionDenied,
                             "the session was opened by another identity");
    }
    session = std::move(it->second);
    dkg_sessions_.erase(it);
  }
  if (session->stage != DkgSession::Stage::kDelivered) {
    return Finish<Package>(trace, ReplyCode::kRefused, "round two has not completed");
  }
  std::string missing;
  for (size_t identifier = 1; identifier <= session->names.size(); ++identifier) {
    if (identifier == session->self.value() ||
        session->received.contains(static_cast<uint16_t>(identifier))) {
      continue;
    }
    missing += (missing.empty() ? "" : ", ") + session->names[identifier - 1];
  }
  if (!missing.empty()) {
    return Finish<Package>(trace, ReplyCode::kRefused, "no share received from " + missing);
  }
  std::vector<frost::DkgShare> received;
  for (auto& [sender, entry] : session->received) received.push_back(std::move(entry.share));
  base::Result<frost::DkgResult> result =
      frost::DkgFinalize(std::move(session->secret), session->peer_packages, received);
  if (!result.ok()) {
    return Finish<Package>(trace, ReplyCode::kInvalidArgument,
                           "finalize: " + result.status().message());
  }
  trace.public_key = base::HexEncode(result->public_package.group_public_key);
  base::Status stored = deps_.custody.StoreFrostShare(session->key_type, result->key_package,
                                                      result->public_package, /*generated=*/true);
  if (!stored.ok()) {
    return Finish<Package>(trace, FromStatus(stored), "custody: " + stored.message());
  }
  Package public_package = result->public_package.Serialize();
  keymgr::FrostShare loaded;
  loaded.id =
      KeyId{session->key_type, std::vector<uint8_t>(result->public_package.group_public_key.begin(),
                                                    result->public_package.group_public_key.end())};
  loaded.key_package = std::move(result->key_package);
  loaded.public_package = std::move(result->public_package);
  loaded.created_at_unix = static_cast<int64_t>(deps_.clock.NowUnixMs() / 1000);
  loaded.generated = true;
  {
    base::MutexLock lock(shares_mutex_);
    KeyId key = loaded.id;
    shares_[std::move(key)] = std::make_shared<const Held>(Held{std::move(loaded)});
  }
  return Finish<Package>(trace, ReplyCode::kOk, "share stored", std::move(public_package));
}

Reply<bool> KeyAgent::DkgAbort(const CallContext& context, std::span<const uint8_t> session_id) {
  Trace trace(policy_.load(std::memory_order_acquire), context, Operation::kGenerate, "", "", true);
  if (session_id.size() != std::tuple_size_v<DkgSessionId>) {
    return Finish<bool>(trace, ReplyCode::kInvalidArgument, "session_id must be 16 bytes");
  }
  trace.reason_prefix = SessionPrefix(session_id);
  DkgSessionId id{};
  std::copy(session_id.begin(), session_id.end(), id.begin());
  base::MutexLock lock(dkg_mutex_);
  DropExpiredDkgSessions(std::chrono::steady_clock::now());
  auto it = dkg_sessions_.find(id);
  if (it == dkg_sessions_.end()) {
    return Finish<bool>(trace, ReplyCode::kPairNotFound, "no such session");
  }
  trace.key_type = base::KeyTypeName(it->second->key_type);
  if (!trace.policy->Allows(context.identity, Operation::kGenerate, it->second->key_type) ||
      context.identity != it->second->owner) {
    return Finish<bool>(trace, ReplyCode::kPermissionDenied,
                        "the session was opened by another identity");
  }
  dkg_sessions_.erase(it);
  return Finish<bool>(trace, ReplyCode::kOk, "aborted", true);
}

}  // namespace signer
