// Protector: the "decide" step of the sign path: classify, apply policy, check and record durably.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <vector>

#include "base/status.h"
#include "slashing/classify.h"
#include "slashing/clock.h"
#include "slashing/history_log.h"
#include "slashing/types.h"

namespace slashing {

// ProtectionPolicy: what to do with payloads the classifiers do not recognise. Default: refuse for
// every slashable key type. A preimage that does not hash to the message is refused whatever the
// policy says: it proves the request lies about what is being signed.
struct ProtectionPolicy {
  std::vector<base::KeyTypeId>
      allow_unrecognised;  // slashable key types that may sign unrecognised bytes
};

// SignRequest borrows the bytes of one sign request; they must outlive Decide().
//
// A signature carries no key type, so protection follows the public key's roles, not only the
// key type the request names: `other_roles` lists the slashable key types under which the caller's
// custody also holds `public_key` (the caller need only list those for which MayBeMessageOf is
// true). Each of them judges the message as if the request had named it.
struct SignRequest {
  base::KeyTypeId key_type{};
  std::span<const uint8_t> public_key;
  std::span<const uint8_t> message;
  std::optional<std::span<const uint8_t>> preimage;
  std::vector<base::KeyTypeId> other_roles = {};
};

// Decision is the verdict plus what it was about. For a refusal `claim` is the claim that was
// refused (domain gives the GRANDPA stage, position the slot / set_id+round / session+candidate);
// `claims` lists every claim the request made (several for a multi-candidate approval).
struct Decision {
  Verdict verdict = Verdict::kRefusedUndecodable;
  std::optional<Claim> claim;
  std::vector<Claim> claims;
};

// DecisionEvent is what metrics see for one Decide call. `domain` is empty for unprotected or
// unclassifiable requests; `verdict` is empty when Decide failed with a Status.
struct DecisionEvent {
  base::KeyTypeId key_type{};
  std::optional<Domain> domain;
  std::optional<Verdict> verdict;
  std::chrono::nanoseconds latency{0};
};

// DecisionObserver is the metrics hook (decisions by domain and verdict, decision latency).
// Called on the deciding thread after each Decide; implementations must be thread-safe and fast.
class DecisionObserver {
 public:
  virtual ~DecisionObserver() = default;
  virtual void OnDecision(const DecisionEvent& event) = 0;
};

// Protector decides whether one sign request may be signed. Thread-safe; the log, clock and
// observer must outlive it.
class Protector {
 public:
  Protector(HistoryLog& log, Clock& clock, ProtectionPolicy policy,
            DecisionObserver* observer = nullptr);

  // Decide returns a Decision; sign only if IsAllowed(decision.verdict). The named key type and
  // every role in `other_roles` whose shape the message has (MayBeMessageOf) classify the message:
  // a preimage mismatch or an unrecognised message under any of them is refused (unless the policy
  // allows unrecognised messages for that role), and the claims of all of them are checked and
  // recorded together. Allowed-new decisions are recorded when this returns, and durable too
  // unless the log defers its syncs (LocalHistoryLog::DeferSyncs: then after the caller's next
  // HistoryStore::SyncWrites). A failed Status (kIoError, kCorruption, kInvalidArgument for a
  // malformed public key) means: do not sign.
  base::Result<Decision> Decide(const SignRequest& request);

 private:
  base::Result<Decision> DecideUnobserved(const SignRequest& request);

  HistoryLog& log_;
  Clock& clock_;
  const ProtectionPolicy policy_;
  DecisionObserver* const observer_;
};

}  // namespace slashing
