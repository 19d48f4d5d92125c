// The audit trace's outcome and decision steps, shared by signerd's pipeline and key agents.
#include "signerd/request_trace.h"

#include "slashing/classify.h"
#include "slashing/types.h"

namespace signer {

std::string RequestTrace::Outcome(ReplyCode code) const {
  if (!verdict.empty() && (code == ReplyCode::kOk || code == ReplyCode::kRefused)) return verdict;
  return std::string(code == ReplyCode::kOk ? "allowed" : ReplyCodeName(code));
}

std::optional<std::string> RequestTrace::RecordDecision(const slashing::Decision& decision) {
  verdict = std::string(slashing::VerdictName(decision.verdict));
  // A refusal names the claim it refused; an allowed multi-claim request names its first claim.
  const std::optional<slashing::Claim>& claim =
      decision.claim
          ? decision.claim
          : (decision.claims.empty() ? std::nullopt : std::optional(decision.claims.front()));
  if (claim) {
    domain = std::string(slashing::DomainName(claim->domain));
    position = slashing::DescribePosition(claim->domain, claim->position);
  }
  if (slashing::IsAllowed(decision.verdict)) return std::nullopt;
  std::string message = "refused: " + verdict;
  if (claim) message += " " + domain + " " + position;
  return message;
}

std::optional<base::KeyTypeId> ParseKeyType(std::string_view text) {
  base::Result<base::KeyTypeId> key_type = base::MakeKeyTypeId(text);
  if (!key_type.ok()) return std::nullopt;
  return *key_type;
}

base::Result<std::vector<base::KeyTypeId>> OtherSlashableRoles(const base::KeyTypeId& key_type,
                                                               std::optional<base::Scheme> scheme,
                                                               std::span<const uint8_t> message,
                                                               const HoldsRole& holds) {
  std::vector<base::KeyTypeId> roles;
  for (const base::KeyTypeId& role : slashing::kSlashableKeyTypes) {
    if (role == key_type || (scheme && base::RequiredSchemeForKeyType(role) != *scheme) ||
        !slashing::MayBeMessageOf(role, message)) {
      continue;
    }
    SIGNER_ASSIGN_OR_RETURN(bool held, holds(role));
    if (held) roles.push_back(role);
  }
  return roles;
}

}  // namespace signer
