// Protector: classification, the unrecognised-payload policy and the durable decision.
#include "slashing/protector.h"

#include <algorithm>
#include <iterator>

#include "slashing/record.h"

namespace slashing {

Protector::Protector(HistoryLog& log, Clock& clock, ProtectionPolicy policy,
                     DecisionObserver* observer)
    : log_(log), clock_(clock), policy_(std::move(policy)), observer_(observer) {}

base::Result<Decision> Protector::Decide(const SignRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  base::Result<Decision> result = DecideUnobserved(request);
  if (observer_ != nullptr) {
    DecisionEvent event;
    event.key_type = request.key_type;
    if (result.ok()) {
      event.verdict = result->verdict;
      if (!result->claims.empty()) event.domain = result->claims.front().domain;
    }
    event.latency = std::chrono::steady_clock::now() - started;
    observer_->OnDecision(event);
  }
  return result;
}

base::Result<Decision> Protector::DecideUnobserved(const SignRequest& request) {
  if (request.public_key.empty() || request.public_key.size() > kMaxPublicKeySize) {
    return base::Status::InvalidArgument("public key size out of range");
  }
  Decision decision;
  bool allowed_by_policy = false;
  // The named key type always judges; another role judges only a message of its shape, so an
  // authority-discovery record signed through `audi` is not refused by the key's `babe` role.
  std::vector<base::KeyTypeId> judges = {request.key_type};
  for (const base::KeyTypeId& role : request.other_roles) {
    if (IsSlashableKeyType(role) && MayBeMessageOf(role, request.message) &&
        std::find(judges.begin(), judges.end(), role) == judges.end()) {
      judges.push_back(role);
    }
  }
  for (const base::KeyTypeId& role : judges) {
    Classification classification = Classify(role, request.message, request.preimage);
    switch (classification.kind) {
      case ClassificationKind::kUnprotected:
        break;
      case ClassificationKind::kPreimageMismatch:
        decision.verdict = Verdict::kRefusedPreimageMismatch;
        decision.claims.clear();
        return decision;
      case ClassificationKind::kUndecodable: {
        const auto& allowed = policy_.allow_unrecognised;
        if (std::find(allowed.begin(), allowed.end(), role) == allowed.end()) {
          decision.verdict = Verdict::kRefusedUndecodable;
          decision.claims.clear();
          return decision;
        }
        allowed_by_policy = true;
        break;
      }
      case ClassificationKind::kProtected:
        std::move(classification.claims.begin(), classification.claims.end(),
                  std::back_inserter(decision.claims));
        break;
    }
  }
  if (decision.claims.empty()) {
    decision.verdict = allowed_by_policy ? Verdict::kAllowedByPolicy : Verdict::kAllowedUnprotected;
    return decision;
  }
  SIGNER_ASSIGN_OR_RETURN(
      auto verdicts, log_.CheckAndRecord(request.public_key, decision.claims, clock_.NowUnixMs()));
  if (verdicts.size() != decision.claims.size()) {
    return base::Status::Internal("history log returned a verdict count that does not match");
  }
  // Refused if any claim is refused (the first refusal names the reason); otherwise new if any
  // claim was new, else a pure re-sign.
  decision.verdict = Verdict::kAllowedResign;
  for (size_t i = 0; i < verdicts.size(); ++i) {
    const Verdict verdict = (verdicts)[i];
    if (!IsAllowed(verdict)) {
      decision.verdict = verdict;
      decision.claim = decision.claims[i];
      return decision;
    }
    if (verdict == Verdict::kAllowedNew && decision.verdict == Verdict::kAllowedResign) {
      decision.verdict = Verdict::kAllowedNew;
      decision.claim = decision.claims[i];
    }
  }
  if (!decision.claim) decision.claim = decision.claims.front();
  return decision;
}

}  // namespace slashing
