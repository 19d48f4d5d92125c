// KeyAgent: authorize, take the nonce, decide durably, sign the share, audit, reply.
#include "keyagentd/key_agent.h"

#include <algorithm>
#include <utility>

#include "base/hex.h"
#include "key_agent_internal.h"
#include "signerd/request_trace.h"

namespace signer {

using agent_internal::FromStatus;
using agent_internal::SecondsSince;
using base::KeyTypeId;
using keymgr::KeyId;
namespace frost = keymgr::frost;

KeyAgent::KeyAgent(KeyAgentDeps deps, std::shared_ptr<const Policy> policy, KeyAgentOptions options)
    : deps_(deps), options_(std::move(options)), policy_(std::move(policy)) {}

KeyAgent::~KeyAgent() = default;

base::Result<std::unique_ptr<KeyAgent>> KeyAgent::Create(KeyAgentDeps deps,
                                                         std::shared_ptr<const Policy> policy,
                                                         KeyAgentOptions options) {
  SIGNER_ASSIGN_OR_RETURN(std::vector<keymgr::FrostShare> shares, deps.custody.LoadFrostShares());
  std::unique_ptr<KeyAgent> agent(new KeyAgent(deps, std::move(policy), std::move(options)));
  {
    // No other thread can see the agent yet; the lock is for the analysis and costs nothing.
    base::MutexLock lock(agent->shares_mutex_);
    for (keymgr::FrostShare& share : shares) {
      KeyId id = share.id;
      agent->shares_.emplace(std::move(id), std::make_shared<const Held>(Held{std::move(share)}));
    }
  }
  if (deps.metrics != nullptr) {
    auto metrics = std::make_unique<Metrics>();
    SIGNER_ASSIGN_OR_RETURN(
        metrics->requests,
        deps.metrics->AddCounter("keyagent_requests_total",
                                 "Key agent requests by method, key type and outcome (allowed_new, "
                                 "refused_*, denied, not_found, ...).",
                                 {"method", "key_type", "outcome"}));
    SIGNER_ASSIGN_OR_RETURN(
        metrics->latency,
        deps.metrics->AddHistogram(
            "keyagent_sign_share_seconds",
            "SignShare latency inside the agent: decision (synced), share, audit line (synced).",
            {}, {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5}));
    SIGNER_ASSIGN_OR_RETURN(
        metrics->unused_nonces,
        deps.metrics->AddGauge("keyagent_unused_nonces",
                               "Nonce pairs committed to and not yet used.", {}));
    agent->metrics_ = std::move(metrics);
    KeyAgent* raw = agent.get();
    deps.metrics->AddScrapeHook([raw] {
      raw->metrics_->unused_nonces->With({}).Set(static_cast<double>(raw->UnusedNonces()));
    });
  }
  return agent;
}

void KeyAgent::ReplacePolicy(std::shared_ptr<const Policy> policy) {
  policy_.store(std::move(policy), std::memory_order_release);
}

size_t KeyAgent::UnusedNonces() {
  base::MutexLock lock(nonce_mutex_);
  DropExpiredNonces(std::chrono::steady_clock::now());
  return nonces_.size();
}

void KeyAgent::DropExpired() {
  const auto now = std::chrono::steady_clock::now();
  {
    base::MutexLock lock(nonce_mutex_);
    DropExpiredNonces(now);
  }
  base::MutexLock lock(dkg_mutex_);
  DropExpiredDkgSessions(now);
}

std::shared_ptr<const KeyAgent::Held> KeyAgent::FindShare(const KeyId& id) const {
  base::MutexLock lock(shares_mutex_);
  auto it = shares_.find(id);
  return it == shares_.end() ? nullptr : it->second;
}

void KeyAgent::DropExpiredNonces(std::chrono::steady_clock::time_point now) {
  std::erase_if(nonces_, [&](const auto& entry) { return entry.second.expires <= now; });
}

Reply<std::vector<frost::SigningCommitments>> KeyAgent::Commit(
    const CallContext& context, std::string_view key_type_text,
    std::span<const uint8_t> group_public_key, uint32_t count) {
  using Commitments = std::vector<frost::SigningCommitments>;
  // Commitments are audited only when refused: they promise nothing, and a busy coordinator asks
  // for them on every signature.
  Trace trace(policy_.load(std::memory_order_acquire), context, Operation::kSign,
              std::string(key_type_text), base::HexEncode(group_public_key), false);
  const std::optional<KeyTypeId> key_type = ParseKeyType(key_type_text);
  if (!key_type || group_public_key.size() != frost::kElementSize) {
    return Finish<Commitments>(trace, ReplyCode::kInvalidArgument,
                               "key_type must be 4 characters and the group key 32 bytes");
  }
  if (count == 0) count = 1;
  if (count > options_.max_commit_batch) {
    return Finish<Commitments>(
        trace, ReplyCode::kInvalidArgument,
        "count must be at most " + std::to_string(options_.max_commit_batch));
  }
  if (!trace.policy->Owns(context.identity, Operation::kSign, *key_type, group_public_key)) {
    return Finish<Commitments>(trace, ReplyCode::kPairNotFound, "not one of the caller's keys");
  }
  const KeyId id{*key_type, std::vector<uint8_t>(group_public_key.begin(), group_public_key.end())};
  std::shared_ptr<const Held> held = FindShare(id);
  if (held == nullptr) {
    return Finish<Commitments>(trace, ReplyCode::kPairNotFound, "no share of this key is held");
  }
  std::vector<frost::Round1> rounds;
  rounds.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    base::Result<frost::Round1> round = frost::Commit(held->share.key_package);
    if (!round.ok()) {
      return Finish<Commitments>(trace, ReplyCode::kInternal,
                                 "commit: " + round.status().message());
    }
    rounds.push_back(std::move(round).value());
  }
  Commitments commitments;
  {
    base::MutexLock lock(nonce_mutex_);
    const auto now = std::chrono::steady_clock::now();
    DropExpiredNonces(now);
    if (nonces_.size() + count > options_.max_unused_nonces) {
      return Finish<Commitments>(trace, ReplyCode::kResourceExhausted,
                                 "too many unused nonces outstanding");
    }
    for (frost::Round1& round : rounds) {
      commitments.push_back(round.commitments);
      nonces_.emplace(NonceKey{id, round.commitments.Encode()},
                      UnusedNonce{std::move(round.nonces), now + options_.nonce_lifetime});
    }
  }
  return Finish<Commitments>(trace, ReplyCode::kOk, "", std::move(commitments));
}

Reply<frost::SignatureShare> KeyAgent::SignShare(const CallContext& context,
                                                 const AgentSignInput& input) {
  using Share = frost::SignatureShare;
  Trace trace(policy_.load(std::memory_order_acquire), context, Operation::kSign,
              std::string(input.key_type), base::HexEncode(input.group_public_key), true);
  const std::optional<KeyTypeId> key_type = ParseKeyType(input.key_type);
  if (!key_type || input.group_public_key.size() != frost::kElementSize) {
    return Finish<Share>(trace, ReplyCode::kInvalidArgument,
                         "key_type must be 4 characters and the group key 32 bytes");
  }
  // Step 1, authorize.
  if (!trace.policy->Allows(context.identity, Operation::kSign, *key_type)) {
    return Finish<Share>(trace, ReplyCode::kPermissionDenied, "sign not granted for this key type");
  }
  if (!trace.policy->Owns(context.identity, Operation::kSign, *key_type, input.group_public_key)) {
    return Finish<Share>(trace, ReplyCode::kPairNotFound, "not one of the caller's keys");
  }
  const KeyId id{*key_type, std::vector<uint8_t>(input.group_public_key.begin(),
                                                 input.group_public_key.end())};
  std::shared_ptr<const Held> held = FindShare(id);
  if (held == nullptr) {
    return Finish<Share>(trace, ReplyCode::kPairNotFound, "no share of this key is held");
  }
  const frost::KeyPackage& package = held->share.key_package;
  base::Result<frost::CommitmentList> list =
      frost::DecodeCommitmentList(package.suite, input.commitment_list);
  if (!list.ok()) {
    return Finish<Share>(trace, ReplyCode::kInvalidArgument,
                         "commitment list: " + list.status().message());
  }
  auto own = std::find_if(list->begin(), list->end(), [&](const frost::SigningCommitments& entry) {
    return entry.identifier == package.identifier;
  });
  if (own == list->end()) {
    return Finish<Share>(trace, ReplyCode::kInvalidArgument,
                         "the commitment list has no entry for this agent");
  }
  // A list that cannot make a usable share is refused here, before the decision: recorded for a
  // request that then fails, the decision would refuse a later, correct request at the same
  // position as an equivocation. The decoded list has distinct identifiers, so with every one of
  // them in the key's package it has at most n entries.
  const frost::PublicKeyPackage& group = held->share.public_package;
  if (list->size() < package.min_signers) {
    return Finish<Share>(trace, ReplyCode::kInvalidArgument,
                         "the commitment list has fewer than t = " +
                             std::to_string(package.min_signers) + " entries");
  }
  for (const frost::SigningCommitments& entry : *list) {
    if (!group.VerifyingShare(entry.identifier).ok()) {
      return Finish<Share>(trace, ReplyCode::kInvalidArgument,
                           "the commitment list names participant " +
                               std::to_string(entry.identifier.value()) +
                               ", who holds no share of this key");
    }
  }
  // Step 2, take the nonce pair out of the table before anything else can use it: from here on
  // it is burnt, whether this request signs or not.
  frost::SigningNonces nonces;
  {
    base::MutexLock lock(nonce_mutex_);
    DropExpiredNonces(std::chrono::steady_clock::now());
    auto it = nonces_.find(NonceKey{id, own->Encode()});
    if (it == nonces_.end()) {
      return Finish<Share>(trace, ReplyCode::kPairNotFound,
                           "no unused nonce for this commitment (used, expired or from before a "
                           "restart)");
    }
    nonces = std::move(it->second.nonces);
    nonces_.erase(it);
  }
  // Step 3, decide durably with this agent's own history.
  slashing::SignRequest request{*key_type, input.group_public_key, input.message, input.preimage};
  // The roles are this agent's own shares, looked up in memory: the query cannot fail.
  request.other_roles =
      OtherSlashableRoles(*key_type, std::nullopt, input.message,
                          [&](const KeyTypeId& role) -> base::Result<bool> {
                            return FindShare(KeyId{role, id.public_key}) != nullptr;
                          })
          .value();
  base::Result<slashing::Decision> decision = deps_.protector.Decide(request);
  if (!decision.ok()) {
    // kInvalidArgument is a malformed key; anything else is the history failing: no share.
    const ReplyCode code = decision.status().code() == base::StatusCode::kInvalidArgument
                               ? ReplyCode::kInvalidArgument
                               : ReplyCode::kUnavailable;
    return Finish<Share>(trace, code, "protection history: " + decision.status().message());
  }
  if (std::optional<std::string> refusal = trace.RecordDecision(*decision)) {
    return Finish<Share>(trace, ReplyCode::kRefused, std::move(*refusal));
  }
  // Step 4, the share (Sign consumes and wipes the nonces).
  base::Result<Share> share = frost::Sign(package, std::move(nonces), input.message, *list);
  if (!share.ok()) {
    return Finish<Share>(trace, FromStatus(share.status()), "sign: " + share.status().message());
  }
  if (metrics_ != nullptr) metrics_->latency->With({}).Observe(SecondsSince(trace.start));
  // Step 5, audit and reply.
  return Finish<Share>(trace, ReplyCode::kOk, "", *share);
}

Reply<frost::Element> KeyAgent::ImportShare(const CallContext& context,
                                            std::string_view key_type_text,
                                            frost::SecretShare share,
                                            std::span<const uint8_t> public_package_bytes) {
  Trace trace(policy_.load(std::memory_order_acquire), context, Operation::kInsert,
              std::string(key_type_text), "", true);
  const std::optional<KeyTypeId> key_type = ParseKeyType(key_type_text);
  if (!key_type) {
    return Finish<frost::Element>(trace, ReplyCode::kInvalidArgument,
                                  "key_type must be 4 characters");
  }
  if (!trace.policy->Allows(context.identity, Operation::kInsert, *key_type)) {
    return Finish<frost::Element>(trace, ReplyCode::kPermissionDenied,
                                  "insert not granted for this key type");
  }
  base::Result<frost::Suite> suite = keymgr::ThresholdSuiteForKeyType(*key_type);
  if (!suite.ok()) {
    return Finish<frost::Element>(trace, ReplyCode::kInvalidArgument, suite.status().message());
  }
  base::Result<frost::PublicKeyPackage> public_package =
      frost::PublicKeyPackage::Parse(public_package_bytes);
  if (!public_package.ok()) {
    return Finish<frost::Element>(trace, ReplyCode::kInvalidArgument,
                                  "public package: " + public_package.status().message());
  }
  trace.public_key = base::HexEncode(public_package->group_public_key);
  share.suite = *suite;
  base::Result<frost::KeyPackage> package = frost::VerifySecretShare(share);
  if (!package.ok()) {
    return Finish<frost::Element>(trace, ReplyCode::kInvalidArgument,
                                  "share: " + package.status().message());
  }
  base::Status stored =
      deps_.custody.StoreFrostShare(*key_type, *package, *public_package, /*generated=*/false);
  if (!stored.ok()) {
    return Finish<frost::Element>(trace, FromStatus(stored), "custody: " + stored.message());
  }
  const frost::Element verifying_share = package->verifying_share;
  keymgr::FrostShare loaded;
  loaded.id = KeyId{*key_type, std::vector<uint8_t>(package->group_public_key.begin(),
                                                    package->group_public_key.end())};
  loaded.key_package = std::move(package).value();
  loaded.public_package = std::move(public_package).value();
  loaded.created_at_unix = static_cast<int64_t>(deps_.clock.NowUnixMs() / 1000);
  {
    base::MutexLock lock(shares_mutex_);
    KeyId id = loaded.id;
    shares_[std::move(id)] = std::make_shared<const Held>(Held{std::move(loaded)});
  }
  return Finish<frost::Element>(trace, ReplyCode::kOk, "", verifying_share);
}

Reply<std::vector<ShareSummary>> KeyAgent::ListShares(const CallContext& context) {
  Trace trace(policy_.load(std::memory_order_acquire), context, Operation::kList, "", "", false);
  std::vector<ShareSummary> listed;
  base::MutexLock lock(shares_mutex_);
  for (const auto& [id, held] : shares_) {
    if (!trace.policy->Allows(context.identity, Operation::kList, id.key_type)) continue;
    const keymgr::FrostShare& share = held->share;
    listed.push_back(ShareSummary{id, share.key_package.identifier.value(),
                                  share.public_package.Serialize(), share.created_at_unix,
                                  share.generated});
  }
  return Finish<std::vector<ShareSummary>>(trace, ReplyCode::kOk, "", std::move(listed));
}

}  // namespace signer
